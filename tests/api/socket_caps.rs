//! Position sockets are capped per identity (`max_sockets_per_identity`, close code 1008) and in
//! total (`max_sockets`, close code 1013); a closed socket gives its place back.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};
use waitroom::config::Settings;

use crate::test_app::{TestApp, spawn_app_with, test_settings};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How the server's first frame looks: a message (`Ok`), or a close with its code (`Err`).
async fn first_frame(socket: &mut Socket) -> Result<String, u16> {
    let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a frame in time")
        .expect("the socket is open")
        .expect("a readable frame");
    match frame {
        Message::Text(text) => Ok(text.to_string()),
        Message::Close(Some(close)) => Err(u16::from(close.code)),
        other => panic!("unexpected first frame {other:?}"),
    }
}

/// An app with the caps, and a paused event `still` (sockets stay open: nobody is admitted).
async fn capped_app(per_identity: usize, total: usize) -> TestApp {
    let app = spawn_app_with(Settings {
        max_sockets_per_identity: per_identity,
        max_sockets: total,
        ..test_settings()
    })
    .await;
    app.open_event("still", 5).await;
    let paused = app
        .admin(Method::PATCH, "/v1/admin/events/still")
        .json(&json!({ "status": "paused" }))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), StatusCode::OK);
    app
}

/// Signs `user` in, joins `still` and opens a socket on the ticket.
async fn socket_of(app: &TestApp, user: &str) -> Socket {
    let token = app.login(user).await;
    let ticket = app.join_ok("still", &token).await;
    open_socket(app, &ticket, &token).await
}

async fn open_socket(app: &TestApp, ticket: &str, token: &str) -> Socket {
    let url = format!(
        "{}/v1/events/still/tickets/{ticket}/ws",
        app.address.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    connect_async(request).await.expect("the handshake").0
}

#[tokio::test]
async fn a_shopper_s_socket_past_max_sockets_per_identity_is_closed_with_1008() {
    let app = capped_app(2, 100).await;
    let token = app.login("alice").await;
    let ticket = app.join_ok("still", &token).await;
    let mut first = open_socket(&app, &ticket, &token).await;
    let mut second = open_socket(&app, &ticket, &token).await;
    assert!(first_frame(&mut first).await.is_ok());
    assert!(first_frame(&mut second).await.is_ok());

    let mut third = open_socket(&app, &ticket, &token).await;
    assert_eq!(first_frame(&mut third).await, Err(1008));
    let mut bobs = socket_of(&app, "bob").await;
    assert!(
        first_frame(&mut bobs).await.is_ok(),
        "other shoppers are not affected"
    );

    drop(first);
    // The server notices the closed socket and gives its place back.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = open_socket(&app, &ticket, &token).await;
        match first_frame(&mut again).await {
            Ok(_) => break,
            Err(code) => {
                assert_eq!(code, 1008);
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the place never came back"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test]
async fn a_socket_past_max_sockets_is_closed_with_1013() {
    let app = capped_app(5, 2).await;
    let mut alices = socket_of(&app, "alice").await;
    let mut bobs = socket_of(&app, "bob").await;
    assert!(first_frame(&mut alices).await.is_ok());
    assert!(first_frame(&mut bobs).await.is_ok());

    let mut carols = socket_of(&app, "carol").await;
    assert_eq!(first_frame(&mut carols).await, Err(1013));
}
