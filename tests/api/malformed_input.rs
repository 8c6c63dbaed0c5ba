//! No input, however malformed, produces a 500 or a dropped connection: bodies, paths, headers
//! and tokens. A request that gets no answer counts as a failure (a handler that panics without
//! the router's catch-panic layer drops the connection), and header values that an HTTP client
//! library refuses to send go over a raw TCP socket.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::test_app::{ADMIN_TOKEN, assert_problem, spawn_app};

const BODIES: &[&str] = &[
    "",
    "{",
    "null",
    "[]",
    "\"text\"",
    "12",
    "{\"items\": null}",
    "{\"items\": [null]}",
    "{\"items\": [{\"sku\": {}, \"quantity\": -1}]}",
    "{\"items\": [{\"sku\": \"A\", \"quantity\": 1e400}]}",
    "{\"items\": [{\"sku\": \"A\", \"quantity\": 18446744073709551616}]}",
    "{\"payment\": []}",
    "{\"id\": \"x\", \"starts_at\": \"2027-13-45T99:00:00Z\"}",
    "{\"user_id\": \"\u{0000}\"}",
    "{\"status\": 7}",
    "{\"max_active\": \"lots\"}",
    "\u{feff}{}",
    "{\"a\": \"\\ud800\"}",
];

crate::on_both_stores! {
    async fn malformed_bodies_never_cause_a_server_error() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let routes = [
            (Method::POST, "/v1/events/sale/tickets"),
            (Method::POST, "/v1/events/sale/checkout"),
            (
                Method::POST,
                "/v1/events/sale/orders/00000000-0000-4000-8000-000000000000/pay",
            ),
            (Method::POST, "/v1/admin/events"),
            (Method::PATCH, "/v1/admin/events/sale"),
            (Method::POST, "/v1/dev/login"),
        ];
        for (method, path) in routes {
            for body in BODIES {
                let token = if path.contains("admin") {
                    ADMIN_TOKEN
                } else {
                    user.as_str()
                };
                let response = app
                    .request(method.clone(), path)
                    .bearer_auth(token)
                    .header("Admission-Token", &admission)
                    .header("Content-Type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap_or_else(|error| {
                        panic!("{method} {path} {body:?}: no answer ({error})")
                    });
                let status = response.status();
                assert!(
                    status.as_u16() < 500,
                    "{method} {path} {body:?} -> {status}"
                );
                if !status.is_success() {
                    let content_type = response.headers()["content-type"]
                        .to_str()
                        .unwrap()
                        .to_owned();
                    assert_eq!(
                        content_type, "application/problem+json",
                        "{method} {path} {body:?}"
                    );
                }
            }
        }
    }

    async fn a_malformed_json_body_is_a_bad_request() {
        let app = spawn_app().await;
        let response = app
            .admin(Method::POST, "/v1/admin/events")
            .header("Content-Type", "application/json")
            .body("{\"id\": ")
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }

    async fn a_query_string_that_cannot_be_read_is_a_bad_request_problem() {
        let app = spawn_app().await;
        let response = app
            .admin(Method::GET, "/v1/admin/audit?limit=1&limit=2")
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }

    async fn an_oversized_body_is_refused() {
        let app = spawn_app().await;
        let huge = json!({ "name": "x".repeat(200_000) });
        let response = app
            .admin(Method::POST, "/v1/admin/events")
            .json(&huge)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    }

    async fn malformed_credentials_and_paths_never_cause_a_server_error() {
        let app = spawn_app().await;
        app.open_event("sale", 5).await;
        let paths = [
            "/v1/events/sale/tickets/%FF%FE",
            "/v1/events/%00/tickets",
            "/v1/events/sale/tickets/00000000-0000-0000-0000-000000000000",
            "/v1/events/sale/orders/x/pay",
            "/v1/admin/events/%2e%2e",
        ];
        let tokens = [
            "",
            "Bearer",
            "Bearer ",
            "Bearer a.b",
            "Bearer ....",
            "Bearer eyJhbGciOiJub25lIn0.e30.",
            "Basic YWxpY2U6c2VjcmV0",
        ];
        let mut failures = Vec::new();
        for path in paths {
            for token in tokens {
                for method in [Method::GET, Method::POST, Method::DELETE, Method::PATCH] {
                    let response = app
                        .request(method.clone(), path)
                        .header("Authorization", token)
                        .header("Cookie", "waitroom_visitor=garbage; other=1")
                        .header("Admission-Token", "garbage")
                        .send()
                        .await;
                    match response {
                        Ok(response) if response.status().as_u16() < 500 => {}
                        Ok(response) => failures
                            .push(format!("{method} {path} {token:?} -> {}", response.status())),
                        Err(error) => {
                            failures.push(format!("{method} {path} {token:?}: no answer ({error})"))
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    async fn header_values_no_client_library_would_send_never_cause_a_server_error() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, ticket, _) = app.admitted(&event, "alice").await;
        let ticket_path = format!("/v1/events/sale/tickets/{ticket}");
        let socket_path = format!("{ticket_path}/ws");
        let routes: [(&str, &str); 7] = [
            ("POST", "/v1/events/sale/tickets"),
            ("GET", &ticket_path),
            ("DELETE", &ticket_path),
            ("GET", &socket_path),
            ("POST", "/v1/events/sale/checkout"),
            ("PATCH", "/v1/admin/events/sale"),
            ("GET", "/"),
        ];
        let bearer = format!("Authorization: Bearer {user}");
        let mut failures = Vec::new();
        for (method, path) in routes {
            for case in MALFORMED_HEADERS {
                // Each malformed header beside valid credentials, so it reaches past the
                // authentication step, and once on its own.
                for credentials in [bearer.as_bytes(), b"".as_slice()] {
                    let answer = raw_request(&app.address, method, path, &[credentials, case]).await;
                    if let Err(fault) = answer {
                        failures.push(format!(
                            "{method} {path} {:?}: {fault}",
                            String::from_utf8_lossy(case)
                        ));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}

/// Header lines with values outside what HTTP client libraries build: bytes above 0x7f, DEL,
/// broken encodings, absurd addresses, duplicated credentials.
const MALFORMED_HEADERS: &[&[u8]] = &[
    b"Authorization: Bearer \xff\xfe\x80",
    b"Authorization: Bearer \x7f",
    b"Authorization: \xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9",
    b"Authorization: Basic \x80\x80",
    b"Authorization: Bearer a\x00b",
    b"Authorization: Bearer x\r\nAuthorization: Bearer y",
    b"Cookie: waitroom_visitor=\xff\xfe",
    b"Cookie: waitroom_visitor=;;;==; =; \x80=\x81",
    b"Admission-Token: \xff\xfe",
    b"Admission-Token: a.b.c\x80",
    b"Content-Type: application/json; charset=\xff",
    b"Content-Type: \xff/\xfe",
    b"X-Forwarded-For: \xff, 203.0.113.9",
    b"X-Forwarded-For: 999.999.1.1, ::::::, ",
    b"X-Api-Key: \xff\xfe",
    b"Accept-Language: \xff;q=\xfe, *;q=7",
    b"Origin: \xff://\xfe",
    b"Idempotency-Key: \xff\xfe",
    b"Forwarded: for=\xff;proto=\xfe",
    b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: \xff",
];

/// Sends one request as raw bytes and reads the whole answer. `Err` names what is wrong: no
/// answer at all, a server error, or an error answer from the API that is not a problem document.
/// A `400` without a body is the HTTP parser refusing the request before the app: that is fine.
async fn raw_request(
    address: &str,
    method: &str,
    path: &str,
    headers: &[&[u8]],
) -> Result<u16, String> {
    let host = address.trim_start_matches("http://");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n").into_bytes();
    for header in headers.iter().filter(|h| !h.is_empty()) {
        request.extend_from_slice(header);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"Content-Length: 0\r\nConnection: close\r\n\r\n");
    let exchange = async {
        let mut stream = TcpStream::connect(host).await?;
        stream.write_all(&request).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        std::io::Result::Ok(answer)
    };
    let answer = match tokio::time::timeout(Duration::from_secs(10), exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) => return Err(format!("no answer ({error})")),
        Err(_) => return Err("no answer in 10 s".to_owned()),
    };
    let text = String::from_utf8_lossy(&answer);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let status: u16 = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status line: {text:?}"))?;
    if status >= 500 {
        return Err(format!("{status}: {text}"));
    }
    let content_type = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    let refused_by_the_parser = status == 400 && content_type.is_empty();
    if status >= 400
        && path.starts_with("/v1/")
        && !refused_by_the_parser
        && content_type != "application/problem+json"
    {
        return Err(format!("{status} with {content_type:?}: {text}"));
    }
    Ok(status)
}
