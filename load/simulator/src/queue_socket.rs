//! A shopper's WebSocket on their ticket: connected from a chosen source address, with small
//! buffers so tens of thousands fit in one process, and the server's messages parsed.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Deserialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

/// Where queue sockets connect: the server's socket address and its `Host`.
#[derive(Debug, Clone)]
pub struct SocketTarget {
    /// The resolved server address.
    pub address: SocketAddr,
    /// `host:port` as written in the base URL.
    pub authority: String,
}

impl SocketTarget {
    /// Resolves the host of an `http://` base URL.
    pub async fn resolve(base: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(base).map_err(|e| format!("bad base URL {base}: {e}"))?;
        let host = url
            .host_str()
            .ok_or_else(|| format!("base URL {base} has no host"))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let authority = format!("{host}:{port}");
        let address = tokio::net::lookup_host(&authority)
            .await
            .map_err(|e| format!("cannot resolve {authority}: {e}"))?
            .next()
            .ok_or_else(|| format!("{authority} resolves to no address"))?;
        Ok(Self { address, authority })
    }

    /// Whether the server listens on IPv4 loopback, where any 127.0.0.N can reach it.
    pub fn is_ipv4_loopback(&self) -> bool {
        matches!(self.address, SocketAddr::V4(v4) if v4.ip().is_loopback())
    }
}

/// A message from the server on a queue socket.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QueueMessage {
    /// The shopper's place.
    Position {
        position: Option<u64>,
        serving: Option<u64>,
        /// How likely the shopper is to find something left to buy, 0 to 1.
        #[serde(default)]
        chance_of_success: Option<f64>,
    },
    /// Admitted: the token for checkout.
    Admitted {
        admission_token: String,
        admission_expires_at: Option<String>,
    },
    /// The event's status changed (paused, sold out, closed).
    Status { status: String },
    /// The place is gone (`expired`, `left`); the server closes the socket.
    Ticket { status: String },
    /// Anything this version does not know.
    #[serde(other)]
    Other,
}

/// Why a queue socket did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// The source address has no ephemeral port left: try the next one.
    AddressExhausted(Ipv4Addr),
    /// Anything else, described.
    Failed(String),
}

impl ConnectError {
    fn of_bind(ip: Ipv4Addr, error: &std::io::Error) -> Self {
        if is_exhaustion(error) {
            Self::AddressExhausted(ip)
        } else {
            Self::Failed(format!("bind {ip}: {error}"))
        }
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AddressExhausted(ip) => write!(f, "ports exhausted: {ip}"),
            Self::Failed(reason) => f.write_str(reason),
        }
    }
}

/// Whether an error says the source address has no port left.
fn is_exhaustion(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::AddrInUse | std::io::ErrorKind::AddrNotAvailable
    )
}

/// An open queue socket.
pub struct QueueSocket {
    stream: WebSocketStream<TcpStream>,
    last_message: Instant,
    longest_gap: Duration,
}

/// Buffers sized for many idle sockets: server messages are under 200 bytes.
fn small_buffers() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}

impl QueueSocket {
    /// Opens the socket of a ticket, binding to `source` first when given.
    pub async fn connect(
        target: &SocketTarget,
        source: Option<Ipv4Addr>,
        path: &str,
        user_token: &str,
        forwarded_for: Option<&str>,
    ) -> Result<Self, ConnectError> {
        let socket = match target.address {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(|e| ConnectError::Failed(format!("socket: {e}")))?;
        if let Some(ip) = source {
            socket
                .bind(SocketAddr::from((ip, 0)))
                .map_err(|e| ConnectError::of_bind(ip, &e))?;
        }
        let tcp = socket
            .connect(target.address)
            .await
            .map_err(|e| match source {
                Some(ip) if is_exhaustion(&e) => ConnectError::AddressExhausted(ip),
                _ => ConnectError::Failed(format!("connect: {e}")),
            })?;
        tcp.set_nodelay(true)
            .map_err(|e| ConnectError::Failed(format!("nodelay: {e}")))?;
        let mut request = format!("ws://{}{path}", target.authority)
            .into_client_request()
            .map_err(|e| ConnectError::Failed(format!("request: {e}")))?;
        let headers = request.headers_mut();
        let bearer = HeaderValue::from_str(&format!("Bearer {user_token}"))
            .map_err(|e| ConnectError::Failed(format!("token: {e}")))?;
        headers.insert("authorization", bearer);
        if let Some(address) = forwarded_for.and_then(|a| HeaderValue::from_str(a).ok()) {
            headers.insert("x-forwarded-for", address);
        }
        let (stream, _) =
            tokio_tungstenite::client_async_with_config(request, tcp, Some(small_buffers()))
                .await
                .map_err(|e| ConnectError::Failed(handshake_error(&e)))?;
        Ok(Self {
            stream,
            last_message: Instant::now(),
            longest_gap: Duration::ZERO,
        })
    }

    /// The next server message; `None` when the server closed the socket.
    pub async fn next_message(&mut self) -> Option<Result<QueueMessage, String>> {
        loop {
            let frame = match self.stream.next().await? {
                Ok(frame) => frame,
                Err(error) => return Some(Err(format!("read: {error}"))),
            };
            let now = Instant::now();
            self.longest_gap = self.longest_gap.max(now - self.last_message);
            self.last_message = now;
            match frame {
                Message::Text(text) => {
                    return Some(
                        serde_json::from_str(text.as_str()).map_err(|e| format!("message: {e}")),
                    );
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The longest silence between two frames so far.
    pub fn longest_gap(&self) -> Duration {
        self.longest_gap
    }

    /// Closes the socket politely (errors are irrelevant by then).
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

fn handshake_error(error: &tungstenite::Error) -> String {
    match error {
        tungstenite::Error::Http(response) => format!("handshake {}", response.status().as_u16()),
        other => format!("handshake: {other}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_contract_messages_parse() {
        let position: QueueMessage =
            serde_json::from_str(r#"{"type":"position","position":4,"eta_seconds":2,"serving":9,"chance_of_success":0.7}"#)
                .unwrap();
        assert_eq!(
            position,
            QueueMessage::Position {
                position: Some(4),
                serving: Some(9),
                chance_of_success: Some(0.7),
            }
        );
        let admitted: QueueMessage = serde_json::from_str(
            r#"{"type":"admitted","admission_token":"t","admission_expires_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert!(matches!(admitted, QueueMessage::Admitted { .. }));
        let unknown: QueueMessage = serde_json::from_str(r#"{"type":"pong"}"#).unwrap();
        assert_eq!(unknown, QueueMessage::Other);
    }
}
