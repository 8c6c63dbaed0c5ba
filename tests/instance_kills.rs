//! Instances die in the middle of a sale: two waitroom processes on one Redis, one of them killed
//! with SIGKILL and started again fifty times while shoppers wait, are admitted and buy.
//! Nobody who kept a page open loses a place, nobody is admitted twice, the outflow keeps both of
//! its bounds over the whole sale, and no unit is sold twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::processes::{Running, keygen_file, scratch_dir, wait_ready};
use support::redis_server::{RedisServer, free_port};
use tokio::sync::Mutex;
use waitroom::clock::{Clock, SystemClock, parse_rfc3339, to_rfc3339};
use waitroom::domain::Tier;
use waitroom::identity::UserTokens;

const SHOPPERS: usize = 240;
const UNITS: u64 = 160;
const RATE: u64 = 10;
const BURST: u64 = 2;
const KILLS: usize = 50;
const ADMISSION_TTL_SECONDS: i64 = 600;

/// What every instance shares.
struct Site {
    redis_url: String,
    key_file: std::path::PathBuf,
    admin_token: String,
    user_secret: String,
}

fn start_instance(site: &Site, port: u16) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_waitroom"));
    command
        .env_clear()
        .env("WAITROOM_LISTEN", format!("127.0.0.1:{port}"))
        .env("WAITROOM_REDIS_URL", &site.redis_url)
        .env("WAITROOM_SIGNING_KEY_FILE", &site.key_file)
        .env("WAITROOM_ADMIN_TOKEN", &site.admin_token)
        .env("WAITROOM_USER_JWT_SECRET", &site.user_secret)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Running::start(&mut command, "waitroom", "cargo build")
}

/// Sends a request to one instance, then the other, until one answers (an instance may be dead or
/// starting): what a balancer in front of them does.
async fn send(
    http: &reqwest::Client,
    ports: [u16; 2],
    first: usize,
    build: impl Fn(&reqwest::Client, String) -> reqwest::RequestBuilder,
) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut attempt = first;
    loop {
        let base = format!("http://127.0.0.1:{}", ports[attempt % 2]);
        match build(http, base)
            .timeout(Duration::from_secs(5))
            .send()
            .await
        {
            Ok(response) if response.status() != StatusCode::SERVICE_UNAVAILABLE => {
                return response;
            }
            _ if Instant::now() < deadline => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("neither instance answered: {other:?}"),
        }
    }
}

/// One shopper as their page sees them.
#[derive(Debug, Default, Clone)]
struct Seen {
    status: String,
    /// When the store admitted them (its expiry less the admission's lifetime), in ms.
    admitted_at: Option<i64>,
    /// Answer to the checkout: 201 reserved (then paid), 409 sold out.
    checkout: Option<u16>,
}

async fn buy(
    http: &reqwest::Client,
    ports: [u16; 2],
    index: usize,
    token: &str,
    admission: &str,
    ticket: &str,
) -> u16 {
    let reserved = send(http, ports, index, |http, base| {
        http.post(format!("{base}/v1/events/kills/checkout"))
            .bearer_auth(token)
            .header("Admission-Token", admission)
            .header("Idempotency-Key", ticket)
            .json(&json!({ "items": [{ "sku": "SKU-1", "quantity": 1 }] }))
    })
    .await;
    let status = reserved.status().as_u16();
    if status == 201 || status == 200 {
        let order: Value = reserved.json().await.unwrap();
        let order = order["order_id"].as_str().unwrap().to_owned();
        let paid = send(http, ports, index + 1, |http, base| {
            http.post(format!("{base}/v1/events/kills/orders/{order}/pay"))
                .bearer_auth(token)
                .json(&json!({ "payment": { "card_token": "tok_visa" } }))
        })
        .await;
        assert_eq!(paid.status(), StatusCode::OK, "shopper {index} pays");
        return 201;
    }
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_instance_kills_during_a_sale_lose_no_place_and_admit_nobody_twice() {
    let redis = RedisServer::start();
    let dir = scratch_dir("kills");
    let site = Site {
        redis_url: redis.url(),
        key_file: keygen_file(&dir),
        admin_token: format!("admin-{}", uuid::Uuid::new_v4().simple()),
        user_secret: format!("shop-secret-{}", uuid::Uuid::new_v4().simple()),
    };
    let ports = [free_port(), free_port()];
    let http = reqwest::Client::new();
    let mut instances = Vec::new();
    for port in ports {
        instances.push(start_instance(&site, port));
        wait_ready(&http, &format!("http://127.0.0.1:{port}/readyz")).await;
    }

    // A sale that opens in three seconds, so that every shopper is in line before the outflow
    // starts; pages that stop polling for ten seconds lose their place.
    let now = SystemClock.now_ms();
    let starts_at = now + 3_000;
    let created = send(&http, ports, 0, |http, base| {
        http.post(format!("{base}/v1/admin/events"))
            .bearer_auth(&site.admin_token)
            .json(&json!({
                "id": "kills", "name": "Kills",
                "starts_at": to_rfc3339(starts_at),
                "outflow_per_second": RATE, "outflow_burst": BURST,
                "admission_ttl_seconds": ADMISSION_TTL_SECONDS,
                "abandon_after_seconds": 10,
                "inventory": { "SKU-1": UNITS },
            }))
    })
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);

    let users = UserTokens::with_secret(site.user_secret.as_bytes(), None, None);
    let mut shoppers = Vec::new();
    for index in 0..SHOPPERS {
        let token = users
            .issue(&format!("shopper-{index}"), Tier::Regular, now, 3_600)
            .unwrap();
        let joined = send(&http, ports, index, |http, base| {
            http.post(format!("{base}/v1/events/kills/tickets"))
                .bearer_auth(&token)
                .json(&json!({}))
        })
        .await;
        assert_eq!(joined.status(), StatusCode::CREATED);
        let ticket: Value = joined.json().await.unwrap();
        shoppers.push((token, ticket["ticket_id"].as_str().unwrap().to_owned()));
    }
    let shoppers = Arc::new(shoppers);
    let seen = Arc::new(Mutex::new(vec![Seen::default(); SHOPPERS]));

    // Every page polls its ticket every second, through whichever instance is up, and buys once
    // admitted.
    let done = Arc::new(AtomicBool::new(false));
    let mut pages = Vec::new();
    for page in 0..8 {
        let (http, shoppers, seen, done) =
            (http.clone(), shoppers.clone(), seen.clone(), done.clone());
        pages.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let round = Instant::now();
                for index in (page..SHOPPERS).step_by(8) {
                    let (token, ticket) = &shoppers[index];
                    let answer = send(&http, ports, index, |http, base| {
                        http.request(
                            Method::GET,
                            format!("{base}/v1/events/kills/tickets/{ticket}"),
                        )
                        .bearer_auth(token)
                    })
                    .await;
                    assert_eq!(answer.status(), StatusCode::OK);
                    let view: Value = answer.json().await.unwrap();
                    let status = view["status"].as_str().unwrap().to_owned();
                    let bought = {
                        let mut seen = seen.lock().await;
                        let entry = &mut seen[index];
                        if status == "admitted" && entry.admitted_at.is_none() {
                            let expires =
                                parse_rfc3339(view["admission_expires_at"].as_str().unwrap())
                                    .unwrap();
                            entry.admitted_at = Some(expires - ADMISSION_TTL_SECONDS * 1_000);
                        }
                        entry.status = status.clone();
                        entry.checkout.is_some()
                    };
                    if status == "admitted" && !bought {
                        let admission = view["admission_token"].as_str().unwrap();
                        let outcome = buy(&http, ports, index, token, admission, ticket).await;
                        seen.lock().await[index].checkout = Some(outcome);
                    }
                }
                tokio::time::sleep(Duration::from_millis(1_000).saturating_sub(round.elapsed()))
                    .await;
            }
        }));
    }

    // Fifty kills, one instance at a time, each started again at once, through the whole sale.
    let sale_seconds = UNITS as f64 / RATE as f64;
    let pause = Duration::from_secs_f64(sale_seconds / KILLS as f64);
    tokio::time::sleep(Duration::from_millis(
        (starts_at - SystemClock.now_ms()).max(0) as u64,
    ))
    .await;
    let mut restarts = Vec::new();
    for kill in 0..KILLS {
        let which = kill % 2;
        instances[which].kill_now();
        let restarted = Instant::now();
        instances[which] = start_instance(&site, ports[which]);
        wait_ready(&http, &format!("http://127.0.0.1:{}/readyz", ports[which])).await;
        restarts.push(restarted.elapsed());
        tokio::time::sleep(pause).await;
    }

    // Then until the stock is gone and every admitted shopper has been through the checkout.
    let deadline = Instant::now() + Duration::from_secs_f64(sale_seconds + 30.0);
    loop {
        let finished = {
            let seen = seen.lock().await;
            let bought = seen.iter().filter(|s| s.checkout == Some(201)).count();
            bought as u64 == UNITS
                && seen
                    .iter()
                    .all(|s| s.status != "admitted" || s.checkout.is_some())
        };
        if finished || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // One more round of polls, so that every page has read its ticket after the sell-out.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    done.store(true, Ordering::Relaxed);
    for page in pages {
        page.await.unwrap();
    }
    let seen = seen.lock().await.clone();

    // No lost place: every page that kept polling was admitted, or still waits behind the
    // sell-out; none expired, left or abandoned.
    let statuses = seen
        .iter()
        .fold(HashMap::<&str, usize>::new(), |mut by, s| {
            *by.entry(s.status.as_str()).or_default() += 1;
            by
        });
    let admitted = statuses.get("admitted").copied().unwrap_or(0);
    let waiting = statuses.get("waiting").copied().unwrap_or(0);
    assert_eq!(admitted + waiting, SHOPPERS, "{statuses:?}");
    assert!(admitted as u64 >= UNITS, "{statuses:?}");

    // Nobody admitted twice: the store counts one admission per admitted shopper.
    let detail: Value = send(&http, ports, 0, |http, base| {
        http.get(format!("{base}/v1/admin/events/kills"))
            .bearer_auth(&site.admin_token)
    })
    .await
    .json()
    .await
    .unwrap();
    let stats = &detail["stats"];
    assert_eq!(stats["admitted"], admitted as u64, "{stats}");
    assert_eq!(stats["joined"], SHOPPERS as u64, "{stats}");
    assert_eq!(stats["abandoned"], 0, "{stats}");
    assert_eq!(stats["left"], 0, "{stats}");
    assert_eq!(stats["admissions_expired"], 0, "{stats}");

    // No oversell: exactly the units offered were bought, each by one shopper, and every admitted
    // shopper either bought or found the stock gone.
    let bought = seen.iter().filter(|s| s.checkout == Some(201)).count();
    let sold_out = seen.iter().filter(|s| s.checkout == Some(409)).count();
    assert_eq!(bought as u64, UNITS, "{seen:?}");
    assert_eq!(bought + sold_out, admitted);
    assert_eq!(stats["orders_paid"], UNITS, "{stats}");

    // The outflow's bounds over every stretch of the sale, by the store's own admission times:
    // never above rate x T + burst, never below rate x T - (burst + 1) while shoppers waited.
    let mut times: Vec<i64> = seen.iter().filter_map(|s| s.admitted_at).collect();
    times.sort_unstable();
    assert_eq!(times.len(), admitted);
    let per_ms = RATE as f64 / 1_000.0;
    for (i, &from) in times.iter().enumerate() {
        for (j, &to) in times.iter().enumerate().skip(i) {
            let admitted = (j - i + 1) as f64;
            let span = (to - from) as f64;
            assert!(
                admitted <= per_ms * span + BURST as f64 + 1.0,
                "{admitted} admissions within {span} ms"
            );
        }
    }
    let first = times[0];
    let last = times[admitted - 1];
    let span = (last - first) as f64;
    assert!(
        admitted as f64 >= per_ms * span - (BURST as f64 + 1.0),
        "{admitted} admissions took {span} ms at {RATE}/s"
    );
    for window in times.windows(2) {
        // While shoppers waited, no stretch without an admission much longer than a gap of the
        // rate plus a burst's worth: the surviving instance kept draining.
        assert!(
            (window[1] - window[0]) as f64 <= (BURST as f64 + 2.0) / per_ms,
            "no admission for {} ms",
            window[1] - window[0]
        );
    }
    let slowest = restarts.iter().max().unwrap();
    println!(
        "{KILLS} kills; restart to ready at most {slowest:?}; {admitted} admitted in {span} ms; \
         {bought} bought, {sold_out} sold out, {waiting} still waiting"
    );
    let _ = std::fs::remove_dir_all(dir);
}
