//! Several instances on one Redis, and a Redis that goes away under a running server.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use waitroom::admission::SigningKeys;
use waitroom::clock::ManualClock;
use waitroom::config::{Settings, StoreSettings};

use crate::support::redis_server::RedisServer;
use crate::test_app::{START, TestApp, assert_problem, one_item, spawn_instance, test_settings};

/// Settings of an instance on `redis` signing with the key file `key_file`.
fn instance_settings(redis: &RedisServer, key_file: &std::path::Path) -> Settings {
    Settings {
        store: StoreSettings::Redis {
            urls: vec![redis.url()],
        },
        signing_key_file: Some(key_file.to_owned()),
        request_timeout: Duration::from_secs(5),
        ..test_settings()
    }
}

fn key_file() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("waitroom-key-{}.pem", uuid::Uuid::new_v4()));
    std::fs::write(&path, SigningKeys::generate_pem().unwrap()).unwrap();
    path
}

async fn ticket(app: &TestApp, token: &str, ticket: &str) -> Value {
    app.ticket("sale", ticket, token)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_instances_on_one_redis_keep_one_queue_and_accept_each_others_tokens() {
    let redis = RedisServer::start();
    let key_file = key_file();
    let clock = ManualClock::new(START);
    let a = spawn_instance(instance_settings(&redis, &key_file), clock.clone()).await;
    let b = spawn_instance(instance_settings(&redis, &key_file), clock.clone()).await;

    let event = a.open_event("sale", 5).await;
    let alice = a.login("alice").await;
    let bob = b.login("bob").await;
    let alices = a.join_ok("sale", &alice).await;
    let bobs = b.join_ok("sale", &bob).await;
    assert_eq!(
        b.join_ok("sale", &alice).await,
        alices,
        "one place per identity across instances"
    );
    assert_eq!(ticket(&b, &alice, &alices).await["position"], 1);
    assert_eq!(ticket(&a, &bob, &bobs).await["position"], 2);

    a.drain(&event).await;
    let from_a = ticket(&a, &alice, &alices).await;
    let from_b = ticket(&b, &alice, &alices).await;
    assert_eq!(from_a["status"], "admitted");
    assert_eq!(
        from_a["admission_token"], from_b["admission_token"],
        "one token, whoever signs"
    );

    let jwks_a: Value = a.get("/.well-known/jwks.json").await.json().await.unwrap();
    let jwks_b: Value = b.get("/.well-known/jwks.json").await.json().await.unwrap();
    assert_eq!(jwks_a, jwks_b);

    let token = from_a["admission_token"].as_str().unwrap();
    let bought = b
        .checkout("sale", Some(&alice), Some(token), None, &one_item())
        .await;
    assert_eq!(bought.status(), StatusCode::CREATED);
    let again = a
        .checkout("sale", Some(&alice), Some(token), None, &one_item())
        .await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "the order, whichever instance answers"
    );
    let _ = std::fs::remove_file(key_file);
}

#[tokio::test]
async fn a_redis_outage_answers_503_with_retry_after_and_the_server_recovers() {
    let mut redis = RedisServer::start();
    let key_file = key_file();
    let app = spawn_instance(
        instance_settings(&redis, &key_file),
        ManualClock::new(START),
    )
    .await;
    app.open_event("sale", 5).await;
    let alice = app.login("alice").await;

    redis.stop();
    let ready = app.get("/readyz").await;
    assert!(ready.headers().contains_key("retry-after"));
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let state = app.get("/v1/events/sale").await;
    assert_eq!(state.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(state.headers().contains_key("retry-after"));
    let join = app.join("sale", Some(&alice)).await;
    assert_eq!(join.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(join.headers().contains_key("retry-after"));
    assert_problem(join, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;

    // The restarted Redis is empty (no persistence in tests): recovery means serving again.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.get("/readyz").await.status() != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "the server did not reconnect to Redis"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.open_event("sale", 5).await;
    assert_eq!(
        app.join("sale", Some(&alice)).await.status(),
        StatusCode::CREATED
    );
    let _ = std::fs::remove_file(key_file);
}

/// Blocks the Redis server for `seconds` (from a blocking thread: the test's runtime stays free).
fn freeze(redis: &std::sync::Arc<RedisServer>, seconds: &str) -> tokio::task::JoinHandle<String> {
    let redis = redis.clone();
    let seconds = seconds.to_owned();
    tokio::task::spawn_blocking(move || redis.cli(&["DEBUG", "SLEEP", &seconds]))
}

#[tokio::test]
async fn a_request_that_outlives_its_timeout_answers_503_with_retry_after() {
    let redis = std::sync::Arc::new(RedisServer::start_with(&["--enable-debug-command", "yes"]));
    let key_file = key_file();
    let settings = Settings {
        request_timeout: Duration::from_secs(1),
        ..instance_settings(&redis, &key_file)
    };
    let app = spawn_instance(settings, ManualClock::new(START)).await;
    app.open_event("sale", 5).await;

    let frozen = freeze(&redis, "2.5");
    // Give redis-cli a moment to reach the server: an external process, not logic, is awaited.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let response = app.get("/v1/events/sale").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the timeout did not cut the request"
    );
    assert!(response.headers().contains_key("retry-after"));
    let problem = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "timeout").await;
    assert!(problem["detail"].as_str().unwrap().contains("in time"));
    frozen.await.unwrap();
    let _ = std::fs::remove_file(key_file);
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let redis = std::sync::Arc::new(RedisServer::start_with(&["--enable-debug-command", "yes"]));
    let key_file = key_file();
    let app = spawn_instance(
        instance_settings(&redis, &key_file),
        ManualClock::new(START),
    )
    .await;
    app.open_event("sale", 5).await;

    let frozen = freeze(&redis, "1");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let in_flight = tokio::spawn(
        app.client
            .get(format!("{}/v1/events/sale", app.address))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.stop().await.unwrap();
    let response = in_flight
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(response.status(), StatusCode::OK);
    frozen.await.unwrap();
    let _ = std::fs::remove_file(key_file);
}

#[tokio::test]
async fn changes_of_different_settings_sent_at_once_to_two_instances_both_stick() {
    let redis = RedisServer::start();
    let key_file = key_file();
    let clock = ManualClock::new(START);
    let a = spawn_instance(instance_settings(&redis, &key_file), clock.clone()).await;
    let b = spawn_instance(instance_settings(&redis, &key_file), clock.clone()).await;
    a.open_event("sale", 5).await;
    let patch = |app: &TestApp, body: Value| {
        app.admin(reqwest::Method::PATCH, "/v1/admin/events/sale")
            .json(&body)
            .send()
    };

    for round in 0..30_u32 {
        let (status, rate) = if round % 2 == 0 {
            ("paused", "paused")
        } else {
            ("open", "auto")
        };
        let per_second = f64::from(round + 1);
        let (paused, faster) = tokio::join!(
            patch(&a, serde_json::json!({ "status": status })),
            patch(&b, serde_json::json!({ "outflow_per_second": per_second })),
        );
        assert_eq!(paused.unwrap().status(), StatusCode::OK);
        assert_eq!(faster.unwrap().status(), StatusCode::OK);

        let detail = a
            .admin_json(reqwest::Method::GET, "/v1/admin/events/sale", None)
            .await;
        assert_eq!(detail["operator_status"], rate, "round {round}: {detail}");
        assert_eq!(
            detail["outflow_per_second"], per_second,
            "round {round}: {detail}"
        );
    }
    let _ = std::fs::remove_file(key_file);
}

/// Reads every ticket of `line` over HTTP, alternating between the instances; the statuses, or
/// `None` where a read failed.
async fn poll(instances: &[&TestApp], line: &[(String, String)]) -> Vec<Option<String>> {
    let mut statuses = Vec::new();
    for (n, (token, ticket)) in line.iter().enumerate() {
        let response = instances[n % instances.len()]
            .ticket("sale", ticket, token)
            .await;
        statuses.push(if response.status() == StatusCode::OK {
            let body: Value = response.json().await.unwrap();
            body["status"].as_str().map(str::to_owned)
        } else {
            None
        });
    }
    statuses
}

#[tokio::test]
async fn pages_polling_through_a_redis_outage_of_twice_the_grace_keep_their_places() {
    let mut redis = RedisServer::start();
    let key_file = key_file();
    let clock = ManualClock::new(START);
    let a = spawn_instance(instance_settings(&redis, &key_file), clock.clone()).await;
    let b = spawn_instance(instance_settings(&redis, &key_file), clock.clone()).await;
    let mut body = crate::test_app::event_body("sale", START, 50);
    body["outflow_per_second"] = json!(1);
    body["outflow_burst"] = json!(1);
    body["abandon_after_seconds"] = json!(10);
    assert_eq!(a.create_event(&body).await.status(), StatusCode::CREATED);
    let event = waitroom::domain::EventId::parse("sale").unwrap();
    let mut line = Vec::new();
    for n in 0..10 {
        let token = a.login(&format!("shopper{n}")).await;
        let ticket = a.join_ok("sale", &token).await;
        line.push((token, ticket));
    }
    for _ in 0..3 {
        clock.advance_ms(1_000);
        poll(&[&a, &b], &line).await;
        a.drain(&event).await;
        b.drain(&event).await;
    }

    // The outage: Redis is stopped (its data saved, as a failover keeps it) for 20 s while the
    // pages keep polling and the instances keep trying to drain (every 5 s here: each failed
    // call waits for the connection to fail).
    redis.cli(&["SAVE"]);
    redis.stop();
    for _ in 0..4 {
        clock.advance_ms(5_000);
        let during = poll(&[&a, &b], &line).await;
        assert!(during.iter().all(Option::is_none), "{during:?}");
        assert!(a.state.store.drain(&event).await.is_err());
    }
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while a.state.store.drain(&event).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The first drain after the outage has run before any page was seen again.
    b.drain(&event).await;
    let after = poll(&[&a, &b], &line).await;
    let expired = after
        .iter()
        .filter(|status| status.as_deref() == Some("expired"))
        .count();
    assert_eq!(expired, 0, "{after:?}");
    assert!(
        after
            .iter()
            .all(|status| matches!(status.as_deref(), Some("waiting" | "admitted"))),
        "{after:?}"
    );
    let _ = std::fs::remove_file(key_file);
}

/// The status of a socket handshake on `app` with a socket ticket in the URL (`101` accepted).
async fn socket_status_with_ticket(app: &TestApp, ticket: &str, socket_ticket: &str) -> u16 {
    let url = format!(
        "{}/v1/events/sale/tickets/{ticket}/ws?ticket={socket_ticket}",
        app.address.replacen("http", "ws", 1)
    );
    match tokio_tungstenite::connect_async(url).await {
        Ok((_socket, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("the handshake failed: {other}"),
    }
}

#[tokio::test]
async fn an_instance_whose_clock_runs_five_seconds_ahead_serves_the_same_sale() {
    use waitroom::clock::{Clock as _, SystemClock};
    use waitroom::store::redis::RedisStore;

    let redis = RedisServer::start();
    let key_file = key_file();
    // The store keeps Redis's own time; the instances' wall clocks disagree by five seconds.
    let now = SystemClock.now_ms();
    let on_time = ManualClock::new(now);
    let ahead = ManualClock::new(now + 5_000);
    let mut instances = Vec::new();
    for clock in [on_time, ahead] {
        let store = RedisStore::connect(&redis.url(), None).await.unwrap();
        let settings = instance_settings(&redis, &key_file);
        instances.push(
            crate::test_app::spawn_instance_on(settings, clock, std::sync::Arc::new(store)).await,
        );
    }
    let (a, b) = (&instances[0], &instances[1]);
    let body = json!({
        "id": "sale", "name": "Skewed",
        "starts_at": waitroom::clock::to_rfc3339(now - 1_000),
        "outflow_per_second": 2, "outflow_burst": 1,
        "admission_ttl_seconds": 120, "reservation_ttl_seconds": 300,
        "inventory": { "SKU-1": 50 },
    });
    assert_eq!(a.create_event(&body).await.status(), StatusCode::CREATED);
    let event = waitroom::domain::EventId::parse("sale").unwrap();

    // Twenty shoppers, signed in on the instance ahead, join on the other.
    let mut shoppers = Vec::new();
    for index in 0..20 {
        let token = b.login(&format!("skewed-{index}")).await;
        let ticket = a.join_ok("sale", &token).await;
        shoppers.push((token, ticket));
    }

    // A page asks the instance ahead for a socket ticket and its socket lands on the other.
    let (token, followed) = &shoppers[5];
    let issued: Value = b
        .request(
            reqwest::Method::POST,
            &format!("/v1/events/sale/tickets/{followed}/socket-ticket"),
        )
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let socket_ticket = issued["socket_ticket"].as_str().unwrap();
    assert_eq!(
        socket_status_with_ticket(a, followed, socket_ticket).await,
        101,
        "a socket ticket signed five seconds ahead opens the socket at once"
    );

    // Both instances drain as fast as they can for two seconds: the outflow follows the store's
    // time, so the pair admits at the set rate, never more.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        a.drain(&event).await;
        b.drain(&event).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut admitted = Vec::new();
    for (token, ticket_id) in &shoppers {
        let seen = ticket(a, token, ticket_id).await;
        if seen["status"] == "admitted" {
            admitted.push((token.clone(), seen));
        }
    }
    let ceiling = (2.0 * (seconds + 0.2) + 1.0).floor() as usize;
    assert!(
        (3..=ceiling).contains(&admitted.len()),
        "{} admitted in {seconds:.2} s at 2/s with a burst of 1",
        admitted.len()
    );

    // The admission signed from the store's time checks out on either instance.
    for (index, (token, seen)) in admitted.iter().enumerate() {
        let admission = seen["admission_token"].as_str().unwrap();
        let at = if index % 2 == 0 { a } else { b };
        let bought = at
            .checkout("sale", Some(token), Some(admission), None, &one_item())
            .await;
        assert_eq!(bought.status(), StatusCode::CREATED, "shopper {index}");
    }
    let _ = std::fs::remove_file(key_file);
}

/// An instance whose clock runs ahead must not publish an arrival window's seed (nor the window
/// secret) while the window is still open in the store: whoever learns the seed early could leave
/// and join again until a ticket lands on a good slot. Publication follows the store's time.
#[tokio::test]
async fn an_instance_ahead_publishes_no_window_seed_before_the_store_closes_the_window() {
    use waitroom::clock::{Clock as _, SystemClock};
    use waitroom::store::redis::RedisStore;

    let redis = RedisServer::start();
    let key_file = key_file();
    let now = SystemClock.now_ms();
    let mut instances = Vec::new();
    for clock in [ManualClock::new(now), ManualClock::new(now + 5_000)] {
        let store = RedisStore::connect(&redis.url(), None).await.unwrap();
        let settings = instance_settings(&redis, &key_file);
        instances.push(
            crate::test_app::spawn_instance_on(settings, clock, std::sync::Arc::new(store)).await,
        );
    }
    let (on_time, ahead) = (&instances[0], &instances[1]);
    // One opening window of 2 s from now on the store's clock: it closes at now + 2 s and may be
    // published from now + 4 s, which the instance ahead already reads.
    let body = json!({
        "id": "sale", "name": "Windowed",
        "starts_at": waitroom::clock::to_rfc3339(now),
        "outflow_per_second": 1, "outflow_burst": 1,
        "opening_window_seconds": 2,
        "inventory": { "SKU-1": 50 },
    });
    assert_eq!(
        on_time.create_event(&body).await.status(),
        StatusCode::CREATED
    );
    for index in 0..3 {
        let token = on_time.login(&format!("early-{index}")).await;
        on_time.join_ok("sale", &token).await;
    }
    assert!(
        SystemClock.now_ms() < now + 2_000,
        "the test needs the window still open here"
    );
    for (name, instance) in [("on time", on_time), ("ahead", ahead)] {
        let draw: Value = instance
            .get("/v1/events/sale/draw")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            draw["windows"]["closed"],
            json!([]),
            "{name}: a window still open in the store is not published"
        );
        assert_eq!(draw["windows"]["secret"], Value::Null, "{name}");
    }

    // Once the store's time is past the close and its margin, both publish the same seed.
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(now + 4_300 - SystemClock.now_ms()).unwrap_or(0),
    ))
    .await;
    let mut seeds = Vec::new();
    for instance in [on_time, ahead] {
        let draw: Value = instance
            .get("/v1/events/sale/draw")
            .await
            .json()
            .await
            .unwrap();
        let closed = draw["windows"]["closed"].as_array().unwrap().clone();
        assert_eq!(closed.len(), 1, "{draw}");
        assert_eq!(closed[0]["entrants_total"], 3);
        seeds.push(closed[0]["seed"].clone());
    }
    assert_eq!(seeds[0], seeds[1]);
    let _ = std::fs::remove_file(key_file);
}
