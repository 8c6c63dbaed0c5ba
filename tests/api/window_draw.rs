//! Arrival windows in `GET /v1/events/{event}/draw`: each window's seed and order published
//! once it has closed, the secret once no window can open, and the verifier that checks them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use waitroom::domain::{EventId, TicketId};
use waitroom::queue::seed_hash;
use waitroom::queue::window::{window_seed, window_slot};

use crate::draw::{run_verifier, serve_forever};
use crate::test_app::{TestApp, assert_field_error, event_body, spawn_app};

/// A sale open from now with arrival windows of these lengths, admitting one shopper a second
/// but paused (nobody is let through until it is resumed).
async fn paused_sale(app: &TestApp, opening: u32, every: u32) {
    let mut body = event_body("drop", app.now(), 100);
    body["opening_window_seconds"] = json!(opening);
    body["arrival_window_seconds"] = json!(every);
    body["outflow_per_second"] = json!(1);
    body["outflow_burst"] = json!(1);
    assert_eq!(app.create_event(&body).await.status(), StatusCode::CREATED);
    set_status(app, "paused").await;
}

async fn set_status(app: &TestApp, status: &str) {
    let changed = app
        .admin(Method::PATCH, "/v1/admin/events/drop")
        .json(&json!({ "status": status }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
}

/// `count` shoppers join; their (user token, ticket id).
async fn join_many(app: &TestApp, from: usize, count: usize) -> Vec<(String, String)> {
    let mut joined = Vec::new();
    for n in from..from + count {
        let token = app.login(&format!("shopper-{n}")).await;
        let ticket = app.join_ok("drop", &token).await;
        joined.push((token, ticket));
    }
    joined
}

async fn draw_json(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// Every entrant of window `window`, following `next` through pages of three.
async fn window_entrants(app: &TestApp, window: u64) -> Vec<String> {
    let mut entrants = Vec::new();
    let mut path = format!("/v1/events/drop/draw?window={window}&limit=3");
    loop {
        let page = draw_json(app, &path).await;
        let part = &page["windows"]["page"];
        assert_eq!(part["window"], window);
        entrants.extend(
            part["entrants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_owned()),
        );
        match part["next"].as_str() {
            Some(next) => {
                path = format!("/v1/events/drop/draw?window={window}&limit=3&after={next}")
            }
            None => return entrants,
        }
    }
}

/// `tickets` sorted as a window with `seed` orders them: ascending slot, then ticket id.
fn window_order(seed: &str, tickets: &[String]) -> Vec<String> {
    let mut sorted = tickets.to_vec();
    sorted.sort_by_key(|t| (window_slot(seed, TicketId::parse(t).unwrap()), t.clone()));
    sorted
}

crate::on_both_stores! {
    async fn a_window_seed_and_order_are_published_only_after_the_window_closes() {
        let app = spawn_app().await;
        paused_sale(&app, 60, 0).await;
        let joined = join_many(&app, 0, 8).await;
        let tickets: Vec<String> = joined.iter().map(|(_, t)| t.clone()).collect();
        let admin: Value = app.admin_json(Method::GET, "/v1/admin/events/drop", None).await;

        let during = draw_json(&app, "/v1/events/drop/draw").await;
        app.clock.advance_ms(61_999);
        let just_closed = draw_json(&app, "/v1/events/drop/draw").await;
        let refused = app.get("/v1/events/drop/draw?window=0").await;
        app.clock.advance_ms(1);
        let published = draw_json(&app, "/v1/events/drop/draw").await;

        for early in [&during, &just_closed] {
            assert_eq!(early["windows"]["seed_hash"], admin["window_seed_hash"]);
            assert_eq!(early["windows"]["secret"], Value::Null);
            assert_eq!(early["windows"]["closed"], json!([]), "{early}");
            assert!(!early.to_string().contains(&tickets[0]), "no entrant shown early");
        }
        assert_field_error(refused, "window").await;
        let secret = published["windows"]["secret"].as_str().unwrap();
        assert_eq!(seed_hash(secret), admin["window_seed_hash"].as_str().unwrap());
        let window = &published["windows"]["closed"][0];
        let seed = window_seed(secret, 0);
        assert_eq!(published["windows"]["closed"].as_array().unwrap().len(), 1);
        assert_eq!(
            (window["window"].clone(), window["seed"].clone(), window["entrants_total"].clone()),
            (json!(0), json!(seed), json!(8))
        );
        assert_eq!(window_entrants(&app, 0).await, window_order(&seed, &tickets));
    }

    async fn a_window_is_let_through_in_its_published_order() {
        let app = spawn_app().await;
        paused_sale(&app, 60, 0).await;
        let joined = join_many(&app, 0, 8).await;
        app.clock.advance_ms(62_000);
        let published = window_entrants(&app, 0).await;
        set_status(&app, "open").await;

        let event = EventId::parse("drop").unwrap();
        let mut admitted = Vec::new();
        let mut waiting = joined.clone();
        for _ in 0..joined.len() {
            // At most one second of outflow (one shopper) between two looks.
            app.drain(&event).await;
            let before = admitted.len();
            let mut still = Vec::new();
            for (token, ticket) in waiting {
                let body: Value = app.ticket("drop", &ticket, &token).await.json().await.unwrap();
                if body["status"] == "admitted" {
                    admitted.push(ticket);
                } else {
                    still.push((token, ticket));
                }
            }
            assert_eq!(admitted.len(), before + 1, "one shopper let through a second");
            waiting = still;
            app.clock.advance_ms(1_000);
        }

        assert_eq!(admitted, published, "let through in the published order");
        let arrival: Vec<String> = joined.into_iter().map(|(_, t)| t).collect();
        assert_ne!(admitted, arrival, "not in order of arrival");
    }

    async fn with_repeating_windows_the_secret_stays_hidden_and_an_open_window_shows_nothing() {
        let app = spawn_app().await;
        paused_sale(&app, 0, 10).await;
        let first = join_many(&app, 0, 3).await;
        app.clock.advance_ms(10_000);
        let second = join_many(&app, 3, 2).await;
        app.clock.advance_ms(2_000);

        let draw = draw_json(&app, "/v1/events/drop/draw").await;
        let open_window = app.get("/v1/events/drop/draw?window=2").await;
        let unknown_cursor = app
            .get(&format!("/v1/events/drop/draw?window=1&after={}", second[0].1))
            .await;

        assert_eq!(draw["windows"]["secret"], Value::Null, "window 3 and later can still open");
        let closed = draw["windows"]["closed"].as_array().unwrap();
        assert_eq!(closed.len(), 1, "{draw}");
        assert_eq!((closed[0]["window"].clone(), closed[0]["entrants_total"].clone()), (json!(1), json!(3)));
        assert!(!draw.to_string().contains(&second[0].1));
        assert_field_error(open_window, "window").await;
        assert_field_error(unknown_cursor, "after").await;
        let tickets: Vec<String> = first.into_iter().map(|(_, t)| t).collect();
        let seed = closed[0]["seed"].as_str().unwrap();
        assert_eq!(window_entrants(&app, 1).await, window_order(seed, &tickets));
    }

    async fn an_event_without_windows_publishes_no_windows_and_refuses_a_window_page() {
        let app = spawn_app().await;
        let created = app.create_event(&event_body("drop", app.now(), 100)).await;
        assert_eq!(created.status(), StatusCode::CREATED);

        let draw = draw_json(&app, "/v1/events/drop/draw").await;

        assert!(draw.get("windows").is_none(), "{draw}");
        assert_field_error(app.get("/v1/events/drop/draw?window=0").await, "window").await;
        assert_field_error(app.get("/v1/events/drop/draw?window=first").await, "window").await;
    }
}

#[tokio::test]
async fn the_verifier_checks_a_real_window_and_catches_a_reordered_one() {
    let app = spawn_app().await;
    paused_sale(&app, 60, 0).await;
    let joined = join_many(&app, 0, 6).await;
    app.clock.advance_ms(62_000);
    let record = draw_json(&app, "/v1/events/drop/draw?window=0&limit=1000").await;
    let published = window_entrants(&app, 0).await;
    let place = published.iter().position(|t| *t == joined[0].1).unwrap() + 1;

    let (code, out) = run_verifier(&app.address, "drop", Some(&joined[0].1)).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok: window 0: 6 entrants"), "{out}");
    assert!(out.contains("ok: the window secret matches"), "{out}");
    assert!(
        out.contains(&format!("window 0, place {place} of 6")),
        "{out}"
    );

    let mut swapped = record.clone();
    swapped["windows"]["page"]["entrants"]
        .as_array_mut()
        .unwrap()
        .swap(0, 1);
    let (code, out) = run_verifier(&serve_forever(swapped.to_string()).await, "drop", None).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("MISMATCH: window 0: place 1"), "{out}");

    let mut forged = record.clone();
    forged["windows"]["closed"][0]["seed"] = Value::String("0".repeat(40));
    let (code, out) = run_verifier(&serve_forever(forged.to_string()).await, "drop", None).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("MISMATCH: window 0: its seed is"), "{out}");

    let mut wrong_secret = record;
    wrong_secret["windows"]["secret"] = Value::String("1".repeat(64));
    let (code, out) =
        run_verifier(&serve_forever(wrong_secret.to_string()).await, "drop", None).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("MISMATCH: SHA-256 of the window secret"),
        "{out}"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_windows_record_and_the_window_parameter() {
    let app = spawn_app().await;

    let document: Value = app.get("/openapi.json").await.json().await.unwrap();

    let parameters = document["paths"]["/v1/events/{event}/draw"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(
        parameters
            .iter()
            .any(|p| p["name"] == "window" && p["in"] == "query")
    );
    let schemas = &document["components"]["schemas"];
    let fields = |schema: &str| {
        let mut names: Vec<String> = schemas[schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{schema} is documented"))
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        fields("DrawWindows"),
        ["closed", "page", "secret", "seed_hash"]
    );
    assert_eq!(
        fields("DrawWindow"),
        ["closes_at", "entrants_total", "opens_at", "seed", "window"]
    );
    assert_eq!(fields("DrawWindowPage"), ["entrants", "next", "window"]);
    assert!(fields("Draw").contains(&"windows".to_owned()));
}
