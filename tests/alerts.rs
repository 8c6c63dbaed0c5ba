//! Every kind of alert reaches the operator's webhook signed and is retried after a failure; a
//! fact of the whole cluster (sold out, store down or back) is sent once by instances sharing a
//! Redis, a fact of one instance by that instance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The rate-limit tests' harness: a limiter and requests made in one line.
#[path = "ratelimit/harness.rs"]
mod ratelimit_harness;
mod support;

use std::sync::Arc;
use std::time::Duration;

use ratelimit_harness::{ADAPTIVE, check, get, rules};
use support::alert_receiver::AlertReceiver;
use support::redis_server::RedisServer;
use waitroom::admin::webhook::{RetryPolicy, Webhook};
use waitroom::clock::{Clock, ManualClock};
use waitroom::ratelimit::alerts::{Alert, Alerter};
use waitroom::ratelimit::limiter::RateLimiter;
use waitroom::ratelimit::scope::BanScope;
use waitroom::ratelimit::store::RedisRateLimitStore;

const SECRET: &str = "alert-secret";

/// An instance's limiter on `redis`, alerting `receiver` with quick retries.
async fn instance(
    redis: &RedisServer,
    clock: &ManualClock,
    receiver: &AlertReceiver,
) -> RateLimiter {
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    let store = RedisRateLimitStore::connect(&redis.url()).await.unwrap();
    let retry = RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
    };
    let webhook = Webhook::new(Some(SECRET), clock.clone(), retry);
    let toml = format!("{ADAPTIVE}\n[alerts]\nwebhook_url = \"{}\"", receiver.url);
    RateLimiter::new(rules(&toml), Arc::new(store), clock).with_alerter(Alerter::new(webhook))
}

async fn two_instances() -> (
    RedisServer,
    ManualClock,
    AlertReceiver,
    RateLimiter,
    RateLimiter,
) {
    let redis = RedisServer::start();
    let clock = ManualClock::new(1_800_000_000_000);
    let receiver = AlertReceiver::start(SECRET).await;
    let a = instance(&redis, &clock, &receiver).await;
    let b = instance(&redis, &clock, &receiver).await;
    (redis, clock, receiver, a, b)
}

#[tokio::test]
async fn a_cluster_wide_fact_raised_by_two_instances_is_sent_once_signed_and_retried() {
    let (_redis, _clock, receiver, a, b) = two_instances().await;
    let facts = [
        Alert::SoldOut {
            event: "sale".into(),
        },
        Alert::StoreDown {
            error: "connection refused".into(),
        },
        Alert::StoreBack { down_seconds: 4.5 },
    ];
    for fact in &facts {
        let raised = [
            a.raise_alert(fact.clone()).await,
            b.raise_alert(fact.clone()).await,
        ];
        assert_eq!(
            raised,
            [true, false],
            "{} is sent by one instance",
            fact.kind()
        );
    }

    let taken = receiver.wait_for(3).await;

    let kinds: Vec<&str> = taken
        .iter()
        .map(|t| t.alert["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["sold_out", "store_down", "store_back"], "once each");
    assert!(
        taken.iter().all(|t| t.tries == 2),
        "refused once, then taken: {taken:?}"
    );
    assert_eq!(taken[0].alert["event"], "sale");
    assert_eq!(taken[2].alert["down_seconds"], 4.5);
    assert_eq!(taken[0].alert["at"], "2027-01-15T08:00:00Z");
}

#[tokio::test]
async fn another_event_sold_out_is_another_alert() {
    let (_redis, _clock, receiver, a, b) = two_instances().await;
    assert!(
        a.raise_alert(Alert::SoldOut {
            event: "one".into()
        })
        .await
    );
    assert!(
        b.raise_alert(Alert::SoldOut {
            event: "two".into()
        })
        .await
    );
    assert_eq!(receiver.wait_for(2).await.len(), 2);
}

#[tokio::test]
async fn an_outflow_backing_off_is_alerted_by_its_instance_each_time() {
    let (_redis, _clock, receiver, a, b) = two_instances().await;
    let backoff = Alert::OutflowBackoff {
        event: "sale".into(),
        outflow_per_second: 12.5,
        set_outflow_per_second: 50.0,
        reason: "checkout p95 2.4 s over 1.0 s".into(),
    };
    assert!(a.raise_alert(backoff.clone()).await);
    assert!(b.raise_alert(backoff).await, "each instance's own outflow");

    let taken = receiver.wait_for(2).await;

    assert_eq!(taken.len(), 2);
    for t in &taken {
        assert_eq!(t.alert["kind"], "outflow_backoff");
        assert_eq!(t.alert["outflow_per_second"], 12.5);
        assert_eq!(t.alert["set_outflow_per_second"], 50.0);
        assert_eq!(t.tries, 2);
    }
}

#[tokio::test]
async fn a_ban_is_alerted_as_client_banned() {
    let (_redis, _clock, receiver, a, _b) = two_instances().await;
    a.ban(
        "ip:203.0.113.9",
        Duration::from_secs(60),
        "flood",
        BanScope::Everyone,
    )
    .await
    .unwrap();

    let taken = receiver.wait_for(1).await;

    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].alert["kind"], "client_banned");
    assert_eq!(taken[0].alert["key"], "ip:203.0.113.9");
    assert_eq!(taken[0].alert["reason"], "flood");
    assert_eq!(taken[0].tries, 2);
}

#[tokio::test]
async fn a_rule_tightened_by_a_flood_is_alerted_once() {
    let (_redis, clock, receiver, a, _b) = two_instances().await;
    let mut next = 0u32;
    let mut one = || {
        next += 1;
        get("/v1/x", &format!("10.0.{}.{}", next / 250, next % 250 + 1))
    };
    for _ in 0..10 {
        check(&a, &one()).await;
        check(&a, &one()).await;
        clock.advance(Duration::from_secs(1));
    }
    for _ in 0..200 {
        check(&a, &one()).await;
    }
    clock.advance(Duration::from_secs(1));
    for _ in 0..50 {
        check(&a, &one()).await;
    }

    let taken = receiver.wait_for(1).await;

    assert_eq!(taken.len(), 1, "{taken:?}");
    assert_eq!(taken[0].alert["kind"], "adaptive_tightening");
    assert_eq!(taken[0].alert["rule"], "api");
    assert_eq!(taken[0].alert["factor"], 0.5);
    assert_eq!(taken[0].tries, 2);
}
