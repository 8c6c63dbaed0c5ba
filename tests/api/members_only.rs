//! Members-only events refuse visitor identities at join, at the socket and at checkout: a
//! visitor token is valid in every event, so one minted where visitors are welcome must not open
//! a place or a purchase where they are not.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::test_app::{TestApp, assert_problem, event_body, one_item, spawn_app};

/// Creates an open event `id` that does or does not let anonymous visitors in.
async fn open_event(app: &TestApp, id: &str, allow_anonymous: bool) {
    let mut body = event_body(id, app.now(), 5);
    body["allow_anonymous"] = json!(allow_anonymous);
    assert_eq!(app.create_event(&body).await.status(), StatusCode::CREATED);
}

/// Joins `event` without credentials: (ticket id, visitor token).
async fn join_as_new_visitor(app: &TestApp, event: &str) -> (String, String) {
    let response = app.join(event, None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let ticket: Value = response.json().await.unwrap();
    (
        ticket["ticket_id"].as_str().unwrap().to_owned(),
        ticket["visitor_token"].as_str().unwrap().to_owned(),
    )
}

/// The HTTP status of a socket handshake for `ticket` with a bearer `token`.
async fn socket_handshake_status(app: &TestApp, event: &str, ticket: &str, token: &str) -> u16 {
    let url = format!(
        "{}/v1/events/{event}/tickets/{ticket}/ws",
        app.address.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    match connect_async(request).await {
        Ok((_socket, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("the handshake failed: {other}"),
    }
}

#[tokio::test]
async fn a_visitor_token_minted_on_an_open_event_cannot_join_a_members_only_one() {
    let app = spawn_app().await;
    open_event(&app, "open-doors", true).await;
    open_event(&app, "members", false).await;
    let (_, visitor) = join_as_new_visitor(&app, "open-doors").await;

    let as_bearer = app.join("members", Some(&visitor)).await;
    assert_problem(as_bearer, StatusCode::FORBIDDEN, "members_only").await;
    let as_cookie = app
        .request(Method::POST, "/v1/events/members/tickets")
        .header("cookie", format!("waitroom_visitor={visitor}"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(as_cookie, StatusCode::FORBIDDEN, "members_only").await;

    let state: Value = app.get("/v1/events/members").await.json().await.unwrap();
    assert_eq!(state["queue_length"], 0, "nobody joined: {state}");
    let alice = app.login("alice").await;
    assert_eq!(
        app.join("members", Some(&alice)).await.status(),
        StatusCode::CREATED,
        "signed-in shoppers still join"
    );
}

#[tokio::test]
async fn a_visitor_cannot_open_the_socket_nor_buy_once_the_event_is_members_only() {
    let app = spawn_app().await;
    open_event(&app, "turns-private", true).await;
    let (ticket, visitor) = join_as_new_visitor(&app, "turns-private").await;
    let event = waitroom::domain::EventId::parse("turns-private").unwrap();
    app.drain(&event).await;
    let read: Value = app
        .ticket("turns-private", &ticket, &visitor)
        .await
        .json()
        .await
        .unwrap();
    let admission = read["admission_token"]
        .as_str()
        .expect("admitted")
        .to_owned();

    let patched = app
        .admin(Method::PATCH, "/v1/admin/events/turns-private")
        .json(&json!({ "allow_anonymous": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);

    assert_eq!(
        socket_handshake_status(&app, "turns-private", &ticket, &visitor).await,
        403
    );
    let bought = app
        .checkout(
            "turns-private",
            Some(&visitor),
            Some(&admission),
            None,
            &one_item(),
        )
        .await;
    assert_problem(bought, StatusCode::FORBIDDEN, "members_only").await;
}
