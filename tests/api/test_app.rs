//! `spawn_app()`: a real server on port 0 with a manual clock, and request helpers.

use std::sync::Arc;

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use waitroom::app::{App, build_with_clock, run};
use waitroom::clock::{ManualClock, UnixMillis, to_rfc3339};
use waitroom::config::{Settings, StoreSettings, UserKeySettings};
use waitroom::domain::{EventId, Tier};
use waitroom::http::AppState;
use waitroom::identity::UserTokens;

use crate::support::redis_server::RedisServer;
use crate::support::stores::Backend;

/// The admin token of test apps.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
/// The HS256 secret of test apps' user tokens.
pub const USER_SECRET: &str = "test-user-secret-0123456789abcdef";
/// Where every test clock starts (2027-01-15).
pub const START: UnixMillis = 1_800_000_000_000;

/// A running server and what a test needs to drive it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub client: reqwest::Client,
    /// The clock of the server and its memory store.
    pub clock: ManualClock,
    /// The server's state (its store, keys, …).
    pub state: AppState,
    /// The private Redis of a test on [`Backend::Redis`], stopped when the app is dropped.
    pub redis: Option<RedisServer>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// The settings of a test app: dev login with a known secret, an admin token, nothing from the
/// environment.
pub fn test_settings() -> Settings {
    Settings {
        admin_token: Some(ADMIN_TOKEN.to_owned()),
        dev_login: true,
        user_key: UserKeySettings::Secret(USER_SECRET.to_owned()),
        ..Settings::default()
    }
}

/// A server on the memory store with the test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_settings()).await
}

/// A server with `settings`, on the store the test selected (a private Redis for
/// [`Backend::Redis`]).
pub async fn spawn_app_with(mut settings: Settings) -> TestApp {
    let redis = match Backend::selected() {
        Backend::Memory => None,
        Backend::Redis => {
            let server = RedisServer::start();
            settings.store = StoreSettings::Redis {
                urls: vec![server.url()],
            };
            Some(server)
        }
    };
    let clock = ManualClock::new(START);
    let app = build_with_clock(settings, Arc::new(clock.clone()))
        .await
        .expect("build the app");
    let mut app = serve(app, clock).await;
    app.redis = redis;
    app
}

/// One more instance with `settings` on `clock` (several instances sharing one Redis).
pub async fn spawn_instance(settings: Settings, clock: ManualClock) -> TestApp {
    let app = build_with_clock(settings, Arc::new(clock.clone()))
        .await
        .expect("build the app");
    serve(app, clock).await
}

/// One more instance with `settings` on `clock` over `store` (a store that keeps its own time,
/// such as Redis without an injected clock, under instances whose clocks disagree).
pub async fn spawn_instance_on(
    settings: Settings,
    clock: ManualClock,
    store: Arc<dyn waitroom::store::QueueStore>,
) -> TestApp {
    let app = waitroom::app::build_with_store(settings, Arc::new(clock.clone()), store)
        .await
        .expect("build the app");
    serve(app, clock).await
}

async fn serve(app: App, clock: ManualClock) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = format!("http://{}", listener.local_addr().expect("local address"));
    let state = app.state.clone();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(run(app, listener, async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::new(),
        clock,
        state,
        redis: None,
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// An event that opens at the test clock's now, sells `units` of `SKU-1`, admits 10 a second.
pub fn event_body(id: &str, starts_at: UnixMillis, units: u64) -> Value {
    json!({
        "id": id,
        "name": format!("Sale {id}"),
        "starts_at": to_rfc3339(starts_at),
        "outflow_per_second": 10,
        "outflow_burst": 10,
        "admission_ttl_seconds": 120,
        "reservation_ttl_seconds": 300,
        "inventory": { "SKU-1": units, "SKU-2": 5 },
    })
}

impl TestApp {
    /// A request to `path` (relative to the server).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.expect("GET")
    }

    /// Stops the server and waits until it has finished.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.server.take() {
            Some(server) => server.await.expect("the server task"),
            None => Ok(()),
        }
    }

    /// A user token from `POST /v1/dev/login`.
    pub async fn login(&self, user: &str) -> String {
        let response = self
            .request(Method::POST, "/v1/dev/login")
            .json(&json!({ "user_id": user, "tier": "regular" }))
            .send()
            .await
            .expect("dev login");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("login JSON");
        body["access_token"].as_str().expect("a token").to_owned()
    }

    /// A user token signed with the test secret, issued at `now` for `ttl` seconds.
    pub fn user_token_at(&self, user: &str, now: UnixMillis, ttl: i64) -> String {
        UserTokens::with_secret(USER_SECRET.as_bytes(), None, None)
            .issue(user, Tier::Regular, now, ttl)
            .expect("an HS256 token")
    }

    /// `POST /v1/admin/events` with the admin token.
    pub async fn create_event(&self, body: &Value) -> Response {
        self.admin(Method::POST, "/v1/admin/events")
            .json(body)
            .send()
            .await
            .expect("create event")
    }

    /// Creates an event that is open now (created, asserted `201`).
    pub async fn open_event(&self, id: &str, units: u64) -> EventId {
        let response = self.create_event(&event_body(id, self.now(), units)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "create {id}");
        EventId::parse(id).expect("an event id")
    }

    /// An admin request.
    pub fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request(method, path).bearer_auth(ADMIN_TOKEN)
    }

    /// `POST /v1/events/{event}/tickets` with a bearer token (or none).
    pub async fn join(&self, event: &str, token: Option<&str>) -> Response {
        let mut request = self
            .request(Method::POST, &format!("/v1/events/{event}/tickets"))
            .json(&json!({}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("join")
    }

    /// Joins and returns the ticket id (asserting a success).
    pub async fn join_ok(&self, event: &str, token: &str) -> String {
        let response = self.join(event, Some(token)).await;
        assert!(
            response.status().is_success(),
            "join: {}",
            response.status()
        );
        let body: Value = response.json().await.expect("ticket JSON");
        body["ticket_id"].as_str().expect("ticket_id").to_owned()
    }

    /// `GET /v1/events/{event}/tickets/{ticket}`.
    pub async fn ticket(&self, event: &str, ticket: &str, token: &str) -> Response {
        self.request(Method::GET, &format!("/v1/events/{event}/tickets/{ticket}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("read ticket")
    }

    /// Runs the outflow once (what the ticker does every tick).
    pub async fn drain(&self, event: &EventId) {
        self.state
            .store
            .drain(event)
            .await
            .expect("drain")
            .expect("the event exists");
    }

    /// Joins `user`, lets the outflow run and returns (user token, ticket id, admission token).
    pub async fn admitted(&self, event: &EventId, user: &str) -> (String, String, String) {
        let token = self.login(user).await;
        let ticket = self.join_ok(event.as_str(), &token).await;
        self.drain(event).await;
        let body: Value = self
            .ticket(event.as_str(), &ticket, &token)
            .await
            .json()
            .await
            .expect("ticket JSON");
        assert_eq!(
            body["status"], "admitted",
            "{user} should be admitted: {body}"
        );
        let admission = body["admission_token"]
            .as_str()
            .expect("a token")
            .to_owned();
        (token, ticket, admission)
    }

    /// `POST /v1/events/{event}/checkout`.
    pub async fn checkout(
        &self,
        event: &str,
        user_token: Option<&str>,
        admission_token: Option<&str>,
        idempotency_key: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut request = self
            .request(Method::POST, &format!("/v1/events/{event}/checkout"))
            .json(body);
        if let Some(token) = user_token {
            request = request.bearer_auth(token);
        }
        if let Some(token) = admission_token {
            request = request.header("Admission-Token", token);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.expect("checkout")
    }

    /// Checks out one SKU-1 and returns the reservation (asserting `201`).
    pub async fn reserve_one(&self, event: &str, user_token: &str, admission: &str) -> Value {
        let response = self
            .checkout(event, Some(user_token), Some(admission), None, &one_item())
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "checkout");
        response.json().await.expect("order JSON")
    }

    /// An admin request's JSON answer.
    pub async fn admin_json(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let mut request = self.admin(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("admin request");
        response.json().await.expect("admin JSON")
    }

    /// `POST /v1/events/{event}/orders/{order}/pay`.
    pub async fn pay(&self, event: &str, order: &str, user_token: &str) -> Response {
        self.request(
            Method::POST,
            &format!("/v1/events/{event}/orders/{order}/pay"),
        )
        .bearer_auth(user_token)
        .json(&json!({ "payment": { "card_token": "tok_visa" } }))
        .send()
        .await
        .expect("pay")
    }

    /// The server's clock now.
    pub fn now(&self) -> UnixMillis {
        use waitroom::clock::Clock as _;
        self.clock.now_ms()
    }
}

/// One item of SKU-1.
pub fn one_item() -> Value {
    json!({ "items": [{ "sku": "SKU-1", "quantity": 1 }] })
}

/// Asserts a problem+json answer with `status` and `code`; returns the problem.
/// Asserts a `422 validation_failed` whose first field error is on `field`.
pub async fn assert_field_error(response: Response, field: &str) {
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], field, "{problem}");
}

pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let problem: Value = response.json().await.expect("problem JSON");
    assert_eq!(problem["code"], code, "{problem}");
    assert_eq!(problem["status"], status.as_u16());
    problem
}
