//! A waitroom served on a random loopback port, for end-to-end tests of the position socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};
use waitroom::app::{build_with_store, run};
use waitroom::clock::{Clock, SystemClock};
use waitroom::config::{Settings, UserKeySettings};
use waitroom::domain::{EventConfig, Tier};
use waitroom::http::AppState;
use waitroom::store::QueueStore;

/// The one origin besides the server's own that may open sockets in these tests.
pub const SHOP_ORIGIN: &str = "https://shop.example";

/// A client WebSocket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A running instance.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    /// Serves an instance on `store` (share a store between two apps for two instances).
    pub async fn spawn(store: Arc<dyn QueueStore>) -> TestApp {
        Self::spawn_with_key_file(store, None).await
    }

    /// Serves an instance on `store` signing with the keys of `key_file` (two instances given the
    /// same file accept each other's tokens), or with keys of its own.
    pub async fn spawn_with_key_file(
        store: Arc<dyn QueueStore>,
        key_file: Option<std::path::PathBuf>,
    ) -> TestApp {
        let settings = Settings {
            dev_login: true,
            user_key: UserKeySettings::Secret("end-to-end-test-secret".into()),
            admin_token: Some("test-admin".into()),
            allowed_origins: vec![SHOP_ORIGIN.into()],
            signing_key_file: key_file,
            ..Settings::default()
        };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let app = build_with_store(settings, clock, store).await.unwrap();
        let state = app.state.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(run(app, listener, async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            state,
            http: reqwest::Client::new(),
            stop: Some(stop),
            served,
        }
    }

    /// Creates an event in the store.
    pub async fn create(&self, event: &EventConfig) {
        assert!(self.state.store.create_event(event).await.unwrap());
    }

    /// A user token for `user` (what dev login hands out).
    pub fn token(&self, user: &str) -> String {
        self.state
            .auth
            .users()
            .issue(user, Tier::Regular, self.state.now(), 3_600)
            .unwrap()
    }

    /// Joins `event` as `token`'s user; the ticket's JSON.
    pub async fn join(&self, event: &str, token: &str) -> Value {
        let response = self
            .http
            .post(format!("http://{}/v1/events/{event}/tickets", self.addr))
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "join: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Creates an open sale through the admin API, as an operator would (the instance starts its
    /// ticker at once): started a second ago, `per_second` shoppers a second, a burst of
    /// `burst`, ten units.
    pub async fn create_open_sale(&self, id: &str, per_second: u64, burst: u64) {
        let created = self
            .http
            .post(format!("http://{}/v1/admin/events", self.addr))
            .bearer_auth("test-admin")
            .json(&json!({
                "id": id,
                "name": format!("Sale {id}"),
                "starts_at": waitroom::clock::to_rfc3339(SystemClock.now_ms() - 1_000),
                "outflow_per_second": per_second,
                "outflow_burst": burst,
                "admission_ttl_seconds": 300,
                "inventory": {"SKU-1": 10},
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201, "create {id}");
    }

    /// Sets an event's status through the admin API (`paused`, `open`, …).
    pub async fn set_status(&self, event: &str, status: &str) {
        let changed = self
            .http
            .patch(format!("http://{}/v1/admin/events/{event}", self.addr))
            .bearer_auth("test-admin")
            .json(&json!({ "status": status }))
            .send()
            .await
            .unwrap();
        assert_eq!(changed.status(), 200, "{event}: {status}");
    }

    /// A ticket as its owner reads it (`GET /v1/events/{event}/tickets/{id}`).
    pub async fn ticket(&self, event: &str, ticket: &Value, token: &str) -> Value {
        let id = ticket["ticket_id"].as_str().unwrap();
        self.http
            .get(format!(
                "http://{}/v1/events/{event}/tickets/{id}",
                self.addr
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The socket URL of a ticket, with `?access_token=` when given.
    pub fn socket_url(&self, event: &str, ticket: &str, token: Option<&str>) -> String {
        let query = token
            .map(|t| format!("?access_token={t}"))
            .unwrap_or_default();
        format!(
            "ws://{}/v1/events/{event}/tickets/{ticket}/ws{query}",
            self.addr
        )
    }

    /// Opens a socket with extra handshake headers; the HTTP status when refused.
    pub async fn open_socket(&self, url: &str, headers: &[(&str, &str)]) -> Result<Socket, u16> {
        let mut request = url.into_client_request().unwrap();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            request
                .headers_mut()
                .insert(name, HeaderValue::from_str(value).unwrap());
        }
        match connect_async(request).await {
            Ok((socket, _)) => Ok(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(other) => panic!("the handshake failed: {other}"),
        }
    }

    /// Opens the socket of `token`'s own ticket.
    pub async fn socket(&self, event: &str, ticket: &str, token: &str) -> Socket {
        self.open_socket(&self.socket_url(event, ticket, Some(token)), &[])
            .await
            .unwrap()
    }

    /// Begins a graceful shutdown and waits up to `within` for the server to finish.
    pub async fn shut_down(mut self, within: Duration) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(within, &mut self.served).await.is_ok()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.served.abort();
    }
}
