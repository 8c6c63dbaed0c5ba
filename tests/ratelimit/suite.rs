//! The rate limiter's conformance suite: every scenario runs on the memory store and on a real
//! Redis, driven by a manual clock, and must give the same exact answers on both.

use std::time::Duration;
use waitroom::ratelimit::scope::BanScope;

use crate::harness::{ADAPTIVE, Harness, QUIET, STRICT_PENALTIES, get, passed, request};
use crate::support::stores::Backend;
use axum::http::Method;
use waitroom::clock::Clock;
use waitroom::ratelimit::limiter::Verdict;

const CLIENT: &str = "203.0.113.7";

fn quiet(rules: &str) -> String {
    format!("{QUIET}\n{rules}")
}

async fn gcra_allows_exactly_its_burst_then_its_rate(backend: Backend) {
    let h = Harness::start(
        backend,
        &quiet("[[rules]]\nname = \"api\"\nlimit = 10\nperiod = \"1m\""),
    )
    .await;
    let req = get("/v1/things", CLIENT);
    assert_eq!(h.allowed_of(15, &req).await, 10);
    h.clock.advance(Duration::from_secs(6));
    assert_eq!(h.allowed_of(3, &req).await, 1);
    h.clock.advance(Duration::from_secs(120));
    assert_eq!(h.allowed_of(15, &req).await, 10);
}

async fn a_sliding_window_allows_exactly_its_count_and_weighs_the_last_window(backend: Backend) {
    let h = Harness::start(
        backend,
        &quiet(
            "[[rules]]\nname = \"login\"\nlimit = 5\nperiod = \"1m\"\nalgorithm = \"sliding_window\"",
        ),
    )
    .await;
    let req = request(Method::POST, "/v1/auth/login", CLIENT);
    assert_eq!(h.allowed_of(8, &req).await, 5);
    h.clock.advance(Duration::from_secs(60));
    assert_eq!(
        h.allowed_of(5, &req).await,
        0,
        "the last window still weighs fully"
    );
    h.clock.advance(Duration::from_secs(30));
    assert_eq!(
        h.allowed_of(5, &req).await,
        2,
        "half of the last window has slid away"
    );
}

async fn no_double_burst_across_a_window_boundary(backend: Backend) {
    let h = Harness::start(
        backend,
        &quiet(
            r#"
            [[rules]]
            name = "window"
            paths = ["/window"]
            limit = 5
            period = "1m"
            algorithm = "sliding_window"
            [[rules]]
            name = "bucket"
            paths = ["/bucket"]
            limit = 10
            period = "1m"
            "#,
        ),
    )
    .await;
    let (window, bucket) = (get("/window", CLIENT), get("/bucket", CLIENT));
    h.clock.advance(Duration::from_secs(59));
    assert_eq!(h.allowed_of(10, &window).await, 5);
    assert_eq!(h.allowed_of(20, &bucket).await, 10);
    h.clock.advance(Duration::from_secs(2));
    assert_eq!(h.allowed_of(10, &window).await, 0);
    assert_eq!(h.allowed_of(20, &bucket).await, 0);
}

async fn weights_make_a_checkout_cost_more_than_a_read(backend: Backend) {
    let h = Harness::start(
        backend,
        &quiet(
            r#"
            [[rules]]
            name = "user_api"
            limit = 10
            period = "1m"
            [[rules.weights]]
            paths = ["/v1/events/*/checkout"]
            methods = ["POST"]
            cost = 5
            "#,
        ),
    )
    .await;
    let checkout = request(Method::POST, "/v1/events/sale/checkout", CLIENT);
    let read = get("/v1/events/sale", CLIENT);
    assert_eq!(h.allowed_of(1, &checkout).await, 1);
    assert_eq!(h.allowed_of(5, &read).await, 5);
    assert_eq!(h.allowed_of(1, &checkout).await, 0);
    h.clock.advance(Duration::from_secs(6));
    assert_eq!(
        h.allowed_of(1, &checkout).await,
        0,
        "one interval buys one read, not five"
    );
    assert_eq!(h.allowed_of(1, &read).await, 1);
}

async fn tiers_scale_the_limit(backend: Backend) {
    let h = Harness::start(
        backend,
        &quiet(
            "[tiers]\npremium = 2.0\nnew = 0.5\n[[rules]]\nname = \"api\"\nlimit = 10\nperiod = \"1m\"",
        ),
    )
    .await;
    let req = get("/v1/things", CLIENT);
    assert_eq!(
        h.allowed_of(30, &req.clone().user("ann", "premium")).await,
        20
    );
    assert_eq!(h.allowed_of(30, &req.clone().user("bob", "new")).await, 5);
    assert_eq!(
        h.allowed_of(30, &req.clone().user("cy", "regular")).await,
        10
    );
    assert_eq!(h.allowed_of(30, &req).await, 10, "anonymous, by IP");
}

async fn a_concurrency_limit_bounds_requests_in_flight(backend: Backend) {
    let h = Harness::start(
        backend,
        &quiet("[[rules]]\nname = \"pay\"\nlimit = 100\nperiod = \"1m\"\nconcurrency = 2"),
    )
    .await;
    let req = request(Method::POST, "/v1/pay", CLIENT);
    let permit = |verdict: Verdict| match verdict {
        Verdict::Allowed { permit, .. } => permit.expect("a permit"),
        other => panic!("expected a permit, got {other:?}"),
    };
    let first = permit(h.check(&req).await);
    let _second = permit(h.check(&req).await);
    assert!(matches!(h.check(&req).await, Verdict::Limited { .. }));
    first.release().await;
    let _third = permit(h.check(&req).await);
    assert!(matches!(h.check(&req).await, Verdict::Limited { .. }));
}

async fn penalties_escalate_from_delay_to_a_reduced_limit_to_longer_bans(backend: Backend) {
    let h = Harness::start(backend, STRICT_PENALTIES).await;
    let req = get("/v1/things", CLIENT);
    assert_eq!(h.allowed_of(12, &req).await, 10, "two violations");
    h.clock.advance(Duration::from_secs(6));
    match h.check(&req).await {
        Verdict::Allowed { delay, .. } => assert_eq!(delay, Duration::from_millis(250)),
        other => panic!("expected a delayed pass, got {other:?}"),
    }
    assert_eq!(h.allowed_of(2, &req).await, 0, "four violations");
    h.clock.advance(Duration::from_secs(6));
    assert!(
        !passed(&h.check(&req).await),
        "the normal limit would pass this request; the halved one does not (five violations)"
    );
    match h.check(&req).await {
        Verdict::Banned { retry_after } => assert_eq!(retry_after, Duration::from_secs(60)),
        other => panic!("the sixth violation bans, got {other:?}"),
    }
    assert!(matches!(h.check(&req).await, Verdict::Banned { .. }));
    h.clock.advance(Duration::from_secs(60));
    assert_eq!(
        h.allowed_of(10, &req).await,
        10,
        "the ban is over, the slate clean"
    );
    let mut second_ban = None;
    for _ in 0..10 {
        if let Verdict::Banned { retry_after } = h.check(&req).await {
            second_ban.get_or_insert(retry_after);
        }
    }
    assert_eq!(
        second_ban,
        Some(Duration::from_secs(300)),
        "the second ban is longer"
    );
}

async fn violations_decay_and_are_forgiven(backend: Backend) {
    let toml = STRICT_PENALTIES.replace("decay = \"1h\"", "decay = \"1m\"");
    let h = Harness::start(backend, &toml).await;
    let req = get("/v1/things", CLIENT);
    assert_eq!(h.allowed_of(13, &req).await, 10, "three violations");
    h.clock.advance(Duration::from_secs(6));
    match h.check(&req).await {
        Verdict::Allowed { delay, .. } => assert_eq!(delay, Duration::from_millis(500)),
        other => panic!("expected a delayed pass, got {other:?}"),
    }
    h.clock.advance(Duration::from_secs(180));
    match h.check(&req).await {
        Verdict::Allowed { delay, .. } => assert_eq!(delay, Duration::ZERO),
        other => panic!("expected a prompt pass, got {other:?}"),
    }
}

async fn a_ban_ends_exactly_on_time(backend: Backend) {
    let h = Harness::start(backend, STRICT_PENALTIES).await;
    let req = get("/v1/things", CLIENT);
    let ban = h
        .limiter
        .ban(
            &format!("ip:{CLIENT}"),
            Duration::from_secs(60),
            "scraping",
            BanScope::Everyone,
        )
        .await
        .unwrap();
    assert_eq!((ban.count, ban.reason.as_str()), (1, "scraping"));
    let listed = h.limiter.bans().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key, format!("ip:{CLIENT}"));
    assert_eq!(listed[0].until_ms, crate::harness::START_MS + 60_000);
    h.clock.advance(Duration::from_millis(59_999));
    assert!(matches!(h.check(&req).await, Verdict::Banned { .. }));
    h.clock.advance(Duration::from_millis(1));
    assert!(passed(&h.check(&req).await));
    assert!(h.limiter.bans().await.unwrap().is_empty());
}

async fn a_lifted_ban_lets_the_client_back_at_once(backend: Backend) {
    let h = Harness::start(backend, STRICT_PENALTIES).await;
    let req = get("/v1/things", CLIENT);
    let key = format!("ip:{CLIENT}");
    h.limiter
        .ban(
            &key,
            Duration::from_secs(600),
            "mistake",
            BanScope::Everyone,
        )
        .await
        .unwrap();
    assert!(matches!(h.check(&req).await, Verdict::Banned { .. }));
    assert!(h.limiter.lift_ban(&key).await.unwrap());
    assert!(passed(&h.check(&req).await));
    assert!(
        !h.limiter.lift_ban(&key).await.unwrap(),
        "nothing left to lift"
    );
}

const SEARCH_SALE: &str = r#"
[adaptive]
enabled = false
[penalties]
ban_after = 0
delay_after = 0
reduce_after = 0
[[rules]]
name = "search"
limit = 10
period = "1m"
[[relax]]
rules = ["search"]
multiplier = 1.5
while_event_open = true
event = "spring-sale"
[[relax]]
rules = ["search"]
multiplier = 2.0
from = "2027-01-15T09:00:00Z"
until = "2027-01-15T10:00:00Z"
"#;

async fn a_sale_relaxes_a_rule_while_its_event_is_open_or_its_hours_last(backend: Backend) {
    let h = Harness::start(backend, SEARCH_SALE).await;
    assert_eq!(h.allowed_of(30, &get("/v1/search", "192.0.2.1")).await, 10);
    h.limiter.open_events().set("spring-sale", true);
    assert_eq!(h.allowed_of(30, &get("/v1/search", "192.0.2.2")).await, 15);
    h.limiter.open_events().set("spring-sale", false);
    assert_eq!(h.allowed_of(30, &get("/v1/search", "192.0.2.3")).await, 10);
    // START is 08:00 UTC; the scheduled relaxation runs from 09:00 to 10:00.
    h.clock.advance(Duration::from_secs(3600));
    assert_eq!(h.allowed_of(30, &get("/v1/search", "192.0.2.4")).await, 20);
    h.clock.advance(Duration::from_secs(3600));
    assert_eq!(h.allowed_of(30, &get("/v1/search", "192.0.2.5")).await, 10);
}

async fn a_flood_far_above_the_baseline_tightens_the_rule_until_it_passes(backend: Backend) {
    let h = Harness::start(backend, ADAPTIVE).await;
    let client = |i: u32| get("/v1/x", &format!("10.0.{}.{}", i / 250, i % 250 + 1));
    let mut next = 0;
    let mut one = || {
        next += 1;
        client(next)
    };
    for _ in 0..10 {
        h.check(&one()).await;
        h.check(&one()).await;
        h.clock.advance(Duration::from_secs(1));
    }
    assert_eq!(
        h.allowed_of(200, &one()).await,
        100,
        "two a second is the baseline"
    );
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(
        h.allowed_of(200, &one()).await,
        50,
        "a sample of 200 a second tightens"
    );
    h.clock.advance(Duration::from_secs(1));
    h.check(&one()).await;
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(
        h.allowed_of(200, &one()).await,
        100,
        "a quiet second relaxes it again"
    );
}

/// A flooder's refused requests are not traffic the rule served: they must not tighten the
/// limit of the shoppers around it.
async fn one_flooding_client_does_not_tighten_everyones_limit(backend: Backend) {
    let toml = ADAPTIVE.replace("limit = 100", "limit = 10");
    let h = Harness::start(backend, &toml).await;
    let mut next = 0;
    let mut shopper = || {
        next += 1;
        get("/v1/x", &format!("10.1.{}.{}", next / 250, next % 250 + 1))
    };
    for _ in 0..10 {
        for _ in 0..30 {
            h.check(&shopper()).await;
        }
        h.clock.advance(Duration::from_secs(1));
    }
    for _ in 0..30 {
        h.check(&shopper()).await;
    }

    let flooder = get("/v1/x", "203.0.113.66");
    assert_eq!(
        h.allowed_of(1_000, &flooder).await,
        10,
        "its own burst only"
    );
    h.clock.advance(Duration::from_secs(1));

    assert_eq!(
        h.allowed_of(20, &shopper()).await,
        10,
        "a shopper after the flood still gets the whole limit"
    );
}

async fn stored_rules_reach_a_second_limiter_and_dropping_them_returns_it_to_its_own(
    backend: Backend,
) {
    let h = Harness::start(
        backend,
        &quiet("[[rules]]\nname = \"api\"\nlimit = 1\nperiod = \"1h\""),
    )
    .await;
    let clock: std::sync::Arc<dyn waitroom::clock::Clock> = std::sync::Arc::new(h.clock.clone());
    let other = waitroom::ratelimit::RateLimiter::new(
        crate::harness::rules(&quiet(
            "[[rules]]\nname = \"api\"\nlimit = 1\nperiod = \"1h\"",
        )),
        h.store.clone(),
        clock,
    );
    let req = get("/v1/things", CLIENT);
    assert_eq!(
        h.store.rules_version().await.unwrap(),
        0,
        "nothing stored yet"
    );
    let wider = waitroom::ratelimit::RuleSetConfig::from_toml(&quiet(
        "[[rules]]\nname = \"api\"\nlimit = 3\nperiod = \"1h\"",
    ))
    .unwrap();

    let origin = h
        .limiter
        .store_rules(&wider, "admin:0123456789ab")
        .await
        .unwrap();
    assert_eq!((origin.source.as_str(), origin.version), ("store", 1));
    assert!(
        other.follow_stored_rules().await.unwrap(),
        "the change is seen"
    );
    assert!(
        !other.follow_stored_rules().await.unwrap(),
        "and applied once"
    );
    assert_eq!(crate::harness::allowed_of(&other, 5, &req).await, 3);
    let stored = h.store.stored_rules().await.unwrap();
    assert_eq!(stored.author.as_deref(), Some("admin:0123456789ab"));
    assert_eq!(stored.at_ms, Some(h.clock.now_ms()));

    let origin = h
        .limiter
        .drop_stored_rules("admin:ba9876543210")
        .await
        .unwrap();
    assert_eq!((origin.source.as_str(), origin.version), ("file", 2));
    assert!(other.follow_stored_rules().await.unwrap());
    assert_eq!(
        other.rules_origin().author.as_deref(),
        Some("admin:ba9876543210")
    );
    assert_eq!(
        other.rules().config.rules[0].limit,
        1,
        "back to its own rules"
    );
    assert_eq!(h.store.stored_rules().await.unwrap().rules, None);
}

async fn a_cluster_wide_alert_is_claimed_once_per_fact(backend: Backend) {
    let h = Harness::start(
        backend,
        &quiet("[[rules]]\nname = \"api\"\nlimit = 1\nperiod = \"1h\""),
    )
    .await;
    assert!(h.store.claim_alert("sold_out:sale", 60_000).await.unwrap());
    assert!(
        !h.store.claim_alert("sold_out:sale", 60_000).await.unwrap(),
        "held"
    );
    assert!(
        h.store.claim_alert("sold_out:other", 60_000).await.unwrap(),
        "another fact"
    );
}

async fn a_file_saved_under_stored_rules_waits_until_they_are_dropped(backend: Backend) {
    let api = |limit: u32| {
        waitroom::ratelimit::RuleSetConfig::from_toml(&quiet(&format!(
            "[[rules]]\nname = \"api\"\nlimit = {limit}\nperiod = \"1h\""
        )))
        .unwrap()
    };
    let h = Harness::start(
        backend,
        &quiet("[[rules]]\nname = \"api\"\nlimit = 1\nperiod = \"1h\""),
    )
    .await;
    h.limiter
        .store_rules(&api(3), "admin:0123456789ab")
        .await
        .unwrap();

    let applied = h.limiter.file_rules_saved(&api(7)).unwrap();

    assert!(!applied, "stored rules win over the file");
    assert_eq!(h.limiter.rules().config.rules[0].limit, 3);
    h.limiter
        .drop_stored_rules("admin:0123456789ab")
        .await
        .unwrap();
    assert_eq!(
        h.limiter.rules().config.rules[0].limit,
        7,
        "the saved file, not the first one"
    );
}

crate::on_both_stores!(
    a_file_saved_under_stored_rules_waits_until_they_are_dropped,
    a_cluster_wide_alert_is_claimed_once_per_fact,
    stored_rules_reach_a_second_limiter_and_dropping_them_returns_it_to_its_own,
    gcra_allows_exactly_its_burst_then_its_rate,
    a_sliding_window_allows_exactly_its_count_and_weighs_the_last_window,
    no_double_burst_across_a_window_boundary,
    weights_make_a_checkout_cost_more_than_a_read,
    tiers_scale_the_limit,
    a_concurrency_limit_bounds_requests_in_flight,
    penalties_escalate_from_delay_to_a_reduced_limit_to_longer_bans,
    violations_decay_and_are_forgiven,
    a_ban_ends_exactly_on_time,
    a_lifted_ban_lets_the_client_back_at_once,
    a_sale_relaxes_a_rule_while_its_event_is_open_or_its_hours_last,
    a_flood_far_above_the_baseline_tightens_the_rule_until_it_passes,
    one_flooding_client_does_not_tighten_everyones_limit,
);

#[tokio::test]
async fn every_key_the_limiter_writes_in_redis_has_a_ttl() {
    let toml = format!(
        "{STRICT_PENALTIES}\n{}",
        r#"
        [[rules]]
        name = "window"
        paths = ["/window"]
        limit = 3
        period = "1m"
        algorithm = "sliding_window"
        [[rules]]
        name = "pay"
        paths = ["/pay"]
        limit = 10
        period = "1m"
        concurrency = 1
        "#
    )
    .replace("name = \"api\"", "name = \"api\"\npaths = [\"/v1/**\"]");
    let h = Harness::start(Backend::Redis, &toml).await;
    h.allowed_of(20, &get("/v1/things", CLIENT)).await;
    h.allowed_of(5, &get("/window", "198.51.100.1")).await;
    let _held = h.check(&get("/pay", "198.51.100.2")).await;
    h.limiter
        .ban(
            "user:mallory",
            Duration::from_secs(60),
            "test",
            BanScope::Everyone,
        )
        .await
        .unwrap();
    let ttls = h.redis_ttls();
    assert!(
        ttls.len() >= 6,
        "bucket, window, permits, penalties, bans: {ttls:?}"
    );
    for (key, ttl) in ttls {
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }
}
