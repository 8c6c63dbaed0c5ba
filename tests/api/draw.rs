//! `GET /v1/events/{event}/draw`: the lottery's public record, and the verifier anyone can run
//! against it.

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use waitroom::domain::EventId;
use waitroom::queue::{entrants_commitment, verify_draw};

use crate::test_app::{START, TestApp, assert_field_error, assert_problem, event_body, spawn_app};

/// An event starting a minute from now with `entrants` shoppers in its pre-queue; their
/// ticket ids.
async fn prequeue(app: &TestApp, id: &str, entrants: usize) -> Vec<String> {
    let created = app.create_event(&event_body(id, START + 60_000, 10)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let mut tickets = Vec::new();
    for n in 0..entrants {
        let token = app.login(&format!("early-{n}")).await;
        tickets.push(app.join_ok(id, &token).await);
    }
    tickets
}

async fn draw_json(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["entrants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

crate::on_both_stores! {
    async fn before_the_start_only_the_seed_hash_is_published() {
        let app = spawn_app().await;
        prequeue(&app, "launch", 2).await;

        let draw = draw_json(&app, "/v1/events/launch/draw").await;

        assert_eq!(draw["seed_hash"].as_str().unwrap().len(), 64);
        assert_eq!(draw["entrants_commitment"], Value::Null);
        assert_eq!(draw["drawn"], false);
        assert!(draw.get("seed").is_none() && draw.get("entrants").is_none());
    }

    async fn after_the_draw_anyone_recomputes_the_order_page_by_page() {
        let app = spawn_app().await;
        let mut joined = prequeue(&app, "launch", 7).await;
        app.clock.advance_ms(60_000);

        let mut published = Vec::new();
        let mut path = "/v1/events/launch/draw?limit=3".to_owned();
        let first = loop {
            let page = draw_json(&app, &path).await;
            published.extend(ids(&page));
            match page["next"].as_str() {
                Some(next) => path = format!("/v1/events/launch/draw?limit=3&after={next}"),
                None => break draw_json(&app, "/v1/events/launch/draw").await,
            }
        };

        assert_eq!(first["drawn"], true);
        assert_eq!(first["entrants_total"], 7);
        assert_eq!(published, ids(&first), "pages of 3 cover the default page of 100");
        let commitment = first["entrants_commitment"].as_str().unwrap();
        let tickets: Vec<_> = published
            .iter()
            .map(|t| waitroom::domain::TicketId::parse(t).unwrap())
            .collect();
        assert_eq!(commitment, entrants_commitment(tickets.iter().copied()));
        let order = verify_draw(
            first["seed"].as_str().unwrap(),
            first["seed_hash"].as_str().unwrap(),
            commitment,
            tickets.iter().copied(),
        )
        .unwrap();
        assert_eq!(order, tickets);
        joined.sort();
        published.sort();
        assert_eq!(published, joined, "every entrant exactly once");
    }

    async fn a_malformed_cursor_or_limit_is_a_problem_and_an_unknown_event_is_not_found() {
        let app = spawn_app().await;
        prequeue(&app, "launch", 1).await;
        app.clock.advance_ms(60_000);

        for query in ["limit=0", "limit=1001", "limit=ten"] {
            assert_field_error(app.get(&format!("/v1/events/launch/draw?{query}")).await, "limit")
                .await;
        }
        for cursor in ["not-a-uuid", "8c1f2a64-6d0e-4a7b-9d3c-2f5e7a1b0c9d"] {
            assert_field_error(app.get(&format!("/v1/events/launch/draw?after={cursor}")).await, "after")
                .await;
        }
        assert_problem(app.get("/v1/events/nothing/draw").await, StatusCode::NOT_FOUND, "not_found")
            .await;
        assert_eq!(draw_json(&app, "/v1/events/launch/draw").await["entrants_total"], 1);
    }
}

/// Runs `load/verify_draw.py` against `base`; its exit code and output.
pub(crate) async fn run_verifier(base: &str, event: &str, ticket: Option<&str>) -> (i32, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/load/verify_draw.py");
    let mut command = tokio::process::Command::new("python3");
    command.arg(script).arg(base).arg(event);
    if let Some(ticket) = ticket {
        command.arg("--ticket").arg(ticket);
    }
    let output = command.output().await.unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code().unwrap_or(-1), text)
}

/// Serves `body` as the answer to every request, on a port of its own; its base URL.
pub(crate) async fn serve_forever(body: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0_u8; 4096];
            let _ = socket.read(&mut request).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    base
}

#[tokio::test]
async fn the_verifier_confirms_a_real_draw_and_catches_a_tampered_one() {
    let app = spawn_app().await;
    let tickets = prequeue(&app, "launch", 5).await;
    app.clock.advance_ms(60_000);
    app.drain(&EventId::parse("launch").unwrap()).await;
    let record = draw_json(&app, "/v1/events/launch/draw?limit=1000").await;
    let place = ids(&record).iter().position(|t| *t == tickets[0]).unwrap() + 1;

    let (code, out) = run_verifier(&app.address, "launch", Some(&tickets[0])).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("place {place} of 5")), "{out}");

    let mut swapped = record.clone();
    let entrants = swapped["entrants"].as_array_mut().unwrap();
    entrants.swap(0, 1);
    let (code, out) = run_verifier(&serve_forever(swapped.to_string()).await, "launch", None).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("MISMATCH: place 1"), "{out}");

    let mut forged = record.clone();
    forged["seed"] = Value::String("0".repeat(64));
    let (code, out) = run_verifier(&serve_forever(forged.to_string()).await, "launch", None).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("MISMATCH: SHA-256 of the seed"), "{out}");

    let mut dropped = record;
    dropped["entrants"].as_array_mut().unwrap().pop();
    dropped["entrants_total"] = Value::from(4);
    let (code, out) = run_verifier(&serve_forever(dropped.to_string()).await, "launch", None).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("MISMATCH: the entrants hash to"), "{out}");
}
