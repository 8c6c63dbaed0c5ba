//! The limiter on a real Redis under concurrency, and with Redis gone.

use std::sync::Arc;

use crate::harness::{Harness, QUIET, Req, allowed_of, passed, request, rules};
use crate::support::redis_server::RedisServer;
use crate::support::stores::Backend;
use axum::http::Method;
use waitroom::clock::SystemClock;
use waitroom::ratelimit::limiter::{RateLimiter, Verdict};
use waitroom::ratelimit::store::RedisRateLimitStore;

async fn hammer(algorithm: &str) -> usize {
    let server = RedisServer::start();
    // Server time, as in production: a 100 per hour budget refills one every 36 s, far longer
    // than the test runs.
    let store = RedisRateLimitStore::connect(&server.url()).await.unwrap();
    let toml = format!(
        "{QUIET}\n[[rules]]\nname = \"api\"\nlimit = 100\nperiod = \"1h\"\nalgorithm = \"{algorithm}\""
    );
    let limiter = Arc::new(RateLimiter::new(
        rules(&toml),
        Arc::new(store),
        Arc::new(SystemClock),
    ));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let req = request(Method::POST, "/v1/x", "203.0.113.7");
                allowed_of(&limiter, 10, &req).await
            })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        allowed += task.await.unwrap();
    }
    allowed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tasks_hammering_one_key_get_exactly_the_gcra_budget() {
    assert_eq!(hammer("gcra").await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tasks_hammering_one_key_get_exactly_the_sliding_window_budget() {
    assert_eq!(hammer("sliding_window").await, 100);
}

/// Decisions made together go to Redis as few script calls, and each is still what a call of its
/// own would decide: 200 clients asking five times each at once, of a budget of three, get three
/// each, in fewer calls than decisions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn decisions_made_together_share_calls_and_each_client_keeps_its_own_budget() {
    let server = RedisServer::start();
    let store = RedisRateLimitStore::connect(&server.url()).await.unwrap();
    let toml = format!("{QUIET}\n[[rules]]\nname = \"api\"\nlimit = 3\nperiod = \"1h\"");
    let limiter = Arc::new(RateLimiter::new(
        rules(&toml),
        Arc::new(store),
        Arc::new(SystemClock),
    ));
    let before = server.script_calls();
    let tasks: Vec<_> = (0..1000)
        .map(|n| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let client = format!("198.51.{}.{}", n % 200 / 100, n % 100);
                let req = request(Method::POST, "/v1/x", &client);
                (client, allowed_of(&limiter, 1, &req).await)
            })
        })
        .collect();
    let mut allowed = std::collections::HashMap::<String, usize>::new();
    for task in tasks {
        let (client, passed) = task.await.unwrap();
        *allowed.entry(client).or_default() += passed;
    }
    let calls = server.script_calls() - before;

    assert_eq!(allowed.len(), 200);
    assert!(allowed.values().all(|&n| n == 3), "{allowed:?}");
    assert!(calls < 1000, "{calls} script calls for 1,000 decisions");
}

const FAIL_MODES: &str = r#"
[defaults]
store_timeout = "200ms"
[[rules]]
name = "open"
paths = ["/open"]
limit = 2
period = "1m"
fail_mode = "open"
[[rules]]
name = "closed"
paths = ["/closed"]
limit = 2
period = "1m"
fail_mode = "closed"
[[rules]]
name = "local"
paths = ["/local"]
limit = 2
period = "1m"
fail_mode = "local"
"#;

#[tokio::test]
async fn with_redis_down_each_rule_does_as_its_fail_mode_says() {
    let mut h = Harness::start(Backend::Redis, &format!("{QUIET}\n{FAIL_MODES}")).await;
    let client = "203.0.113.7";
    assert!(passed(
        &h.check(&request(Method::GET, "/local", client)).await
    ));

    h.redis.as_mut().unwrap().stop();

    let open = request(Method::GET, "/open", client);
    for _ in 0..5 {
        assert!(matches!(h.check(&open).await, Verdict::Unlimited));
    }
    let closed = request(Method::GET, "/closed", client);
    assert!(matches!(h.check(&closed).await, Verdict::Unavailable));
    let local = request(Method::GET, "/local", client);
    assert_eq!(
        h.allowed_of(5, &local).await,
        2,
        "limited in memory meanwhile (the fallback starts with a full budget)"
    );

    h.redis.as_mut().unwrap().restart();
    let back = decides_on_redis_again(&h, &closed).await;
    assert!(back, "decisions come back to Redis once it is up again");
}

/// Whether decisions under the `closed` fail mode (`Unavailable` while Redis is away) come back
/// to Redis within 10 s.
async fn decides_on_redis_again(h: &Harness, closed: &Req) -> bool {
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while matches!(h.check(closed).await, Verdict::Unavailable) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .is_ok()
}

/// Redis hanging (not gone) for longer than the connection's 2 s reply timeout: every decision
/// meanwhile is answered by its rule's fail mode within the rule's store timeout, none waits
/// behind the hung call, and decisions return to Redis once it answers again.
#[tokio::test]
async fn with_redis_hanging_past_every_timeout_decisions_keep_their_fail_modes_and_come_back() {
    let h = Harness::start(Backend::Redis, &format!("{QUIET}\n{FAIL_MODES}")).await;
    let client = "203.0.113.8";
    let closed = request(Method::GET, "/closed", client);
    assert!(passed(&h.check(&closed).await));

    h.redis.as_ref().unwrap().pause();
    let hanging = std::time::Instant::now();
    let mut slowest = std::time::Duration::ZERO;
    let mut checks = 0;
    while hanging.elapsed() < std::time::Duration::from_secs(3) {
        let started = std::time::Instant::now();
        assert!(matches!(h.check(&closed).await, Verdict::Unavailable));
        slowest = slowest.max(started.elapsed());
        checks += 1;
    }
    let local = request(Method::GET, "/local", client);
    assert_eq!(
        h.allowed_of(5, &local).await,
        2,
        "limited in memory meanwhile"
    );
    h.redis.as_ref().unwrap().resume();

    assert!(checks >= 5, "{checks} checks in 3 s");
    assert!(
        slowest < std::time::Duration::from_secs(1),
        "a decision waited {slowest:?} (store timeout 200 ms)"
    );
    let back = decides_on_redis_again(&h, &closed).await;
    assert!(back, "decisions come back to Redis once it answers");
}
