//! The waitroom HTTP contract as the simulator calls it. Every call is timed and counted in the
//! [`Recorder`], and waits for one of a bounded number of in-flight slots so a crowd of 100,000
//! never opens 100,000 connections at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::recorder::{Actor, Endpoint, Recorder};

/// A user as the server knows them: a signed-in identity and where their requests come from.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The token's `sub`.
    pub user_id: String,
    /// The user bearer token.
    pub token: String,
    /// The `X-Forwarded-For` this identity's requests carry, if any.
    pub forwarded_for: Option<String>,
    /// Which crowd it belongs to.
    pub actor: Actor,
}

/// An HTTP answer: its status, its JSON body (or `null`), and any `Retry-After`.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body parsed as JSON, `Value::Null` when empty or not JSON.
    pub body: Value,
    /// `Retry-After`, when the server sent one.
    pub retry_after: Option<Duration>,
    /// When the request left (after waiting for a free slot).
    pub sent_at: Instant,
    /// When the whole answer had arrived.
    pub done_at: Instant,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A string field of the body.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.body.get(field).and_then(Value::as_str)
    }

    /// The problem `code` of an error answer.
    pub fn code(&self) -> &str {
        self.text("code").unwrap_or("")
    }
}

/// A call that got no HTTP answer at all (refused, reset, timed out).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// The client of one waitroom server.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    admin_token: Option<String>,
    slots: Arc<Semaphore>,
    recorder: Arc<Recorder>,
}

impl Api {
    /// A client of `base` (such as `http://127.0.0.1:8080`) with at most `in_flight` requests.
    pub fn new(
        base: &str,
        admin_token: Option<String>,
        in_flight: usize,
        recorder: Arc<Recorder>,
    ) -> Result<Self, TransportError> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(in_flight)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .map_err(|e| TransportError(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            admin_token,
            slots: Arc::new(Semaphore::new(in_flight)),
            recorder,
        })
    }

    /// The same client with its own `in_flight` slots: the sampler and the operator's calls must
    /// not queue behind a crowd's requests, or the run would learn of a sell-out late.
    pub fn with_own_slots(&self, in_flight: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(in_flight)),
            ..self.clone()
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The shared recorder.
    pub fn recorder(&self) -> &Arc<Recorder> {
        &self.recorder
    }

    /// `POST /v1/dev/login`: a user token for `user_id`.
    pub async fn login(&self, actor: Actor, user_id: &str) -> Result<Reply, TransportError> {
        let request = self
            .request(Method::POST, "/v1/dev/login")
            .json(&json!({"user_id": user_id, "tier": "regular"}));
        self.send(actor, Endpoint::Login, request).await
    }

    /// `POST /v1/admin/events`.
    pub async fn create_event(&self, body: &Value) -> Result<Reply, TransportError> {
        let request = self.admin(Method::POST, "/v1/admin/events").json(body);
        self.send(Actor::Shopper, Endpoint::CreateEvent, request)
            .await
    }

    /// `GET /v1/admin/events/{event}`: settings and live stats.
    pub async fn admin_event(&self, event: &str) -> Result<Reply, TransportError> {
        let request = self.admin(Method::GET, &format!("/v1/admin/events/{event}"));
        self.send(Actor::Shopper, Endpoint::AdminEvent, request)
            .await
    }

    /// `POST /v1/admin/events/{event}/checkout-health`: an external checkout's figures.
    pub async fn report_checkout_health(
        &self,
        event: &str,
        body: &Value,
    ) -> Result<Reply, TransportError> {
        let path = format!("/v1/admin/events/{event}/checkout-health");
        let request = self.admin(Method::POST, &path).json(body);
        self.send(Actor::Shopper, Endpoint::CheckoutHealth, request)
            .await
    }

    /// `GET /v1/admin/audit?limit=N`: the audit log, newest first.
    pub async fn audit(&self, limit: u32) -> Result<Reply, TransportError> {
        let request = self.admin(Method::GET, &format!("/v1/admin/audit?limit={limit}"));
        self.send(Actor::Shopper, Endpoint::AdminAudit, request)
            .await
    }

    /// `GET /v1/events/{event}`: the public state.
    pub async fn event_state(&self, actor: Actor, event: &str) -> Result<Reply, TransportError> {
        let request = self.request(Method::GET, &format!("/v1/events/{event}"));
        self.send(actor, Endpoint::EventState, request).await
    }

    /// `GET /v1/events/{event}/challenge`: a proof-of-work challenge for `who`.
    pub async fn challenge(&self, who: &Identity, event: &str) -> Result<Reply, TransportError> {
        let path = format!("/v1/events/{event}/challenge");
        let request = self.as_user(who, Method::GET, &path);
        self.send(who.actor, Endpoint::Challenge, request).await
    }

    /// `POST /v1/events/{event}/tickets`: join, with a proof of work when one is given.
    pub async fn join(
        &self,
        who: &Identity,
        event: &str,
        proof: Option<Value>,
    ) -> Result<Reply, TransportError> {
        let path = format!("/v1/events/{event}/tickets");
        let body = match proof {
            Some(proof) => json!({ "proof": proof }),
            None => json!({}),
        };
        let request = self.as_user(who, Method::POST, &path).json(&body);
        self.send(who.actor, Endpoint::Join, request).await
    }

    /// `GET /v1/events/{event}/tickets/{ticket}`.
    pub async fn ticket(
        &self,
        who: &Identity,
        event: &str,
        ticket: &str,
    ) -> Result<Reply, TransportError> {
        let path = format!("/v1/events/{event}/tickets/{ticket}");
        let request = self.as_user(who, Method::GET, &path);
        self.send(who.actor, Endpoint::Ticket, request).await
    }

    /// `DELETE /v1/events/{event}/tickets/{ticket}`: leave.
    pub async fn leave(
        &self,
        who: &Identity,
        event: &str,
        ticket: &str,
    ) -> Result<Reply, TransportError> {
        let path = format!("/v1/events/{event}/tickets/{ticket}");
        let request = self.as_user(who, Method::DELETE, &path);
        self.send(who.actor, Endpoint::Leave, request).await
    }

    /// `POST /v1/events/{event}/checkout` for `quantity` units of `sku`.
    pub async fn checkout(
        &self,
        who: &Identity,
        event: &str,
        admission_token: &str,
        sku: &str,
        quantity: u32,
    ) -> Result<Reply, TransportError> {
        let path = format!("/v1/events/{event}/checkout");
        let request = self
            .as_user(who, Method::POST, &path)
            .header("Admission-Token", admission_token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"items": [{"sku": sku, "quantity": quantity}]}));
        self.send(who.actor, Endpoint::Checkout, request).await
    }

    /// `POST /v1/events/{event}/orders/{order}/pay` with a mock card.
    pub async fn pay(
        &self,
        who: &Identity,
        event: &str,
        order: &str,
        admission_token: &str,
    ) -> Result<Reply, TransportError> {
        let path = format!("/v1/events/{event}/orders/{order}/pay");
        let request = self
            .as_user(who, Method::POST, &path)
            .header("Admission-Token", admission_token)
            .json(&json!({"payment": {"card_token": "tok_visa"}}));
        self.send(who.actor, Endpoint::Pay, request).await
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.request(method, path);
        match &self.admin_token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    fn as_user(&self, who: &Identity, method: Method, path: &str) -> RequestBuilder {
        let request = self.request(method, path).bearer_auth(&who.token);
        match &who.forwarded_for {
            Some(address) => request.header("X-Forwarded-For", address),
            None => request,
        }
    }

    /// Sends one request in a free slot, timing it and counting any non-2xx answer.
    async fn send(
        &self,
        actor: Actor,
        endpoint: Endpoint,
        request: RequestBuilder,
    ) -> Result<Reply, TransportError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| TransportError("the client is shutting down".to_owned()))?;
        let sent = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let kind = transport_kind(&error);
                self.recorder.error(actor, endpoint, kind);
                return Err(TransportError(format!("{}: {error}", endpoint.as_str())));
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
            .map(Duration::from_secs_f64);
        let bytes = response.bytes().await.unwrap_or_default();
        let done_at = Instant::now();
        self.recorder.latency(actor, endpoint, done_at - sent);
        if !(200..300).contains(&status) {
            self.recorder.status(actor, endpoint, status);
        }
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            body,
            retry_after,
            sent_at: sent,
            done_at,
        })
    }
}

/// A short name for a failure without an answer, for the error table.
fn transport_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else {
        "transport"
    }
}
