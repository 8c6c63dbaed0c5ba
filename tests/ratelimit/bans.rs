//! A ban on a client key refuses every request that carries that key in any of its identities
//! (IP, user, API key), whichever identity the matching rule charges, except that a ban of an
//! address with scope `anonymous` (the limiter's own) spares the verified users behind it, and
//! the operator is never refused by any ban; on both stores.

use std::time::Duration;
use waitroom::ratelimit::scope::BanScope;

use crate::harness::{Harness, get, passed, request};
use crate::support::stores::Backend;
use axum::http::Method;
use waitroom::ratelimit::limiter::Verdict;

const BANNED_IP: &str = "203.0.113.7";
const OTHER_IP: &str = "198.51.100.1";

const RULES: &str = r#"
[adaptive]
enabled = false
[penalties]
delay_after = 0
reduce_after = 0
ban_after = 2
ban_lengths = ["1m"]
[[rules]]
name = "login"
paths = ["/v1/auth/login"]
key = "ip"
limit = 1
period = "1h"
[[rules]]
name = "keyed"
paths = ["/v1/keyed"]
key = "api_key"
limit = 100
period = "1m"
[[rules]]
name = "api"
key = "user"
limit = 100
period = "1m"
"#;

fn banned(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Banned { .. })
}

async fn an_operators_ip_ban_refuses_that_address_on_every_rule(backend: Backend) {
    let h = Harness::start(backend, RULES).await;
    let ann_here = get("/v1/things", BANNED_IP).user("ann", "regular");
    let ann_elsewhere = get("/v1/things", OTHER_IP).user("ann", "regular");
    let key_here = get("/v1/keyed", BANNED_IP).api_key("k-123");
    assert!(passed(&h.check(&ann_here).await), "nobody is banned yet");
    h.limiter
        .ban(
            &format!("ip:{BANNED_IP}"),
            Duration::from_secs(60),
            "abuse",
            BanScope::Everyone,
        )
        .await
        .unwrap();
    assert!(
        banned(&h.check(&ann_here).await),
        "user-keyed rule, banned IP"
    );
    assert!(banned(&h.check(&key_here).await), "API-key rule, banned IP");
    assert!(
        passed(&h.check(&ann_elsewhere).await),
        "the user is not banned"
    );
    assert!(passed(
        &h.check(&get("/v1/keyed", OTHER_IP).api_key("k-123")).await
    ));
    h.limiter
        .lift_ban(&format!("ip:{BANNED_IP}"))
        .await
        .unwrap();
    assert!(passed(&h.check(&ann_here).await), "lifted: back at once");
}

async fn a_user_ban_follows_the_user_to_ip_keyed_rules(backend: Backend) {
    let h = Harness::start(backend, RULES).await;
    let bob_login = request(Method::POST, "/v1/auth/login", OTHER_IP).user("bob", "regular");
    h.limiter
        .ban(
            "user:bob",
            Duration::from_secs(60),
            "fraud",
            BanScope::Everyone,
        )
        .await
        .unwrap();
    assert!(
        banned(&h.check(&bob_login).await),
        "IP-keyed rule, banned user"
    );
    let someone_else = request(Method::POST, "/v1/auth/login", OTHER_IP);
    assert!(
        passed(&h.check(&someone_else).await),
        "the IP itself is not banned"
    );
    h.clock.advance(Duration::from_secs(60));
    assert!(passed(
        &h.check(&get("/v1/x", OTHER_IP).user("bob", "regular"))
            .await
    ));
}

async fn a_ban_earned_by_anonymous_traffic_spares_the_signed_in_users_behind_the_address(
    backend: Backend,
) {
    let h = Harness::start(backend, RULES).await;
    let login = request(Method::POST, "/v1/auth/login", BANNED_IP);
    assert_eq!(h.allowed_of(1, &login).await, 1);
    assert!(matches!(h.check(&login).await, Verdict::Limited { .. }));
    assert!(
        banned(&h.check(&login).await),
        "the second violation bans the address's anonymous traffic"
    );
    let anonymous = get("/v1/things", BANNED_IP);
    assert!(banned(&h.check(&anonymous).await));
    let cy = get("/v1/things", BANNED_IP).user("cy", "regular");
    assert!(
        passed(&h.check(&cy).await),
        "a verified user behind the address is not refused"
    );
    let cy_login = request(Method::POST, "/v1/auth/login", BANNED_IP).user("cy", "regular");
    assert!(
        !banned(&h.check(&cy_login).await),
        "not even on the rule keyed by the address"
    );
    let bans = h.limiter.bans().await.unwrap();
    assert_eq!(bans.len(), 1);
    assert_eq!(bans[0].key, format!("ip:{BANNED_IP}"));
    assert_eq!(bans[0].scope, BanScope::Anonymous);
}

async fn an_operators_anonymous_ban_of_an_address_lets_its_verified_users_through(
    backend: Backend,
) {
    let h = Harness::start(backend, RULES).await;
    h.limiter
        .ban(
            &format!("ip:{BANNED_IP}"),
            Duration::from_secs(60),
            "scraping",
            BanScope::Anonymous,
        )
        .await
        .unwrap();
    assert!(banned(&h.check(&get("/v1/things", BANNED_IP)).await));
    let dee = get("/v1/things", BANNED_IP).user("dee", "regular");
    assert!(passed(&h.check(&dee).await));
}

async fn a_verified_user_is_penalised_and_banned_as_itself(backend: Backend) {
    let toml = RULES.replace("limit = 100", "limit = 3");
    let h = Harness::start(backend, &toml).await;
    let eve = get("/v1/things", BANNED_IP).user("eve", "regular");
    for _ in 0..5 {
        h.check(&eve).await;
    }
    assert!(banned(&h.check(&eve).await), "eve earned her own ban");
    let bans = h.limiter.bans().await.unwrap();
    assert_eq!(bans.len(), 1);
    assert_eq!(bans[0].key, "user:eve");
    let fay = get("/v1/things", BANNED_IP).user("fay", "regular");
    assert!(passed(&h.check(&fay).await), "the user next to her is not");
    let anonymous = request(Method::POST, "/v1/auth/login", BANNED_IP);
    assert!(passed(&h.check(&anonymous).await), "nor is the address");
}

async fn the_operator_is_never_refused_by_a_ban_only_limited_by_its_rule(backend: Backend) {
    let toml = RULES.replace("limit = 100", "limit = 3");
    let h = Harness::start(backend, &toml).await;
    for key in [format!("ip:{BANNED_IP}"), "user:ops".to_owned()] {
        h.limiter
            .ban(
                &key,
                Duration::from_secs(600),
                "mistake",
                BanScope::Everyone,
            )
            .await
            .unwrap();
    }
    let operator = get("/v1/things", BANNED_IP).user("ops", "operator");
    let verdicts = {
        let mut verdicts = Vec::new();
        for _ in 0..40 {
            verdicts.push(h.check(&operator).await);
        }
        verdicts
    };
    assert!(
        verdicts.iter().take(3).all(passed),
        "its address and its own key are banned, yet the operator passes"
    );
    assert!(
        verdicts[3..]
            .iter()
            .all(|verdict| matches!(verdict, Verdict::Limited { .. })),
        "over the rule: 429, never a ban, however many times"
    );
    h.clock.advance(Duration::from_secs(60));
    assert!(
        passed(&h.check(&operator).await),
        "and back once the rule allows"
    );
}

async fn a_rule_without_penalties_never_bans_nor_heeds_anonymous_bans(backend: Backend) {
    let toml = RULES.replace(
        "[[rules]]\nname = \"login\"",
        "[[rules]]\nname = \"pages\"\npaths = [\"/static/**\"]\nlimit = 2\nperiod = \"1h\"\npenalties = false\n[[rules]]\nname = \"login\"",
    );
    let h = Harness::start(backend, &toml).await;
    let page = get("/static/queue.js", BANNED_IP);
    let verdicts = {
        let mut verdicts = Vec::new();
        for _ in 0..30 {
            verdicts.push(h.check(&page).await);
        }
        verdicts
    };
    assert!(verdicts.iter().take(2).all(passed));
    assert!(
        verdicts[2..]
            .iter()
            .all(|verdict| matches!(verdict, Verdict::Limited { .. })),
        "429s only, however many"
    );
    assert!(h.limiter.bans().await.unwrap().is_empty());

    let other = get("/static/queue.js", OTHER_IP);
    let key = format!("ip:{OTHER_IP}");
    h.limiter
        .ban(&key, Duration::from_secs(60), "bots", BanScope::Anonymous)
        .await
        .unwrap();
    assert!(
        passed(&h.check(&other).await),
        "an anonymous ban does not stop pages"
    );
    h.limiter
        .ban(&key, Duration::from_secs(60), "bots", BanScope::Everyone)
        .await
        .unwrap();
    assert!(banned(&h.check(&other).await), "a ban of everyone does");
}

crate::on_both_stores!(
    an_operators_ip_ban_refuses_that_address_on_every_rule,
    a_user_ban_follows_the_user_to_ip_keyed_rules,
    a_ban_earned_by_anonymous_traffic_spares_the_signed_in_users_behind_the_address,
    an_operators_anonymous_ban_of_an_address_lets_its_verified_users_through,
    a_verified_user_is_penalised_and_banned_as_itself,
    the_operator_is_never_refused_by_a_ban_only_limited_by_its_rule,
    a_rule_without_penalties_never_bans_nor_heeds_anonymous_bans,
);

/// Another instance learns of a ban on one of a request's other identities within a second:
/// the ban index is looked at once a second, and not per request, while no ban is in force.
#[tokio::test]
async fn a_ban_from_another_instance_reaches_the_other_identities_within_a_second() {
    use std::sync::Arc;
    use waitroom::clock::{Clock, ManualClock};
    use waitroom::ratelimit::store::{RateLimitStore, RedisRateLimitStore};

    let server = crate::support::redis_server::RedisServer::start();
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let instance = |clock: Arc<ManualClock>| {
        let url = server.url();
        async move {
            RedisRateLimitStore::connect(&url)
                .await
                .unwrap()
                .with_clock(clock as Arc<dyn Clock>)
        }
    };
    let banning = instance(clock.clone()).await;
    let checking = instance(clock.clone()).await;
    let ip = waitroom::ratelimit::client_key::ClientKey::from("ip:203.0.113.7");

    assert_eq!(
        checking
            .banned_until(
                std::slice::from_ref(&ip),
                waitroom::ratelimit::scope::Liability::Own
            )
            .await
            .unwrap(),
        None
    );
    let ban = banning
        .ban(ip.as_str(), 60_000, "test", 600_000, BanScope::Everyone)
        .await
        .unwrap();

    clock.advance(Duration::from_millis(500));
    assert_eq!(
        checking
            .banned_until(
                std::slice::from_ref(&ip),
                waitroom::ratelimit::scope::Liability::Own
            )
            .await
            .unwrap(),
        None,
        "within the second, the last look stands"
    );
    clock.advance(Duration::from_millis(500));
    assert_eq!(
        checking
            .banned_until(
                std::slice::from_ref(&ip),
                waitroom::ratelimit::scope::Liability::Own
            )
            .await
            .unwrap(),
        Some(ban.until_ms),
        "a second on, the ban is seen"
    );
    assert_eq!(
        banning
            .banned_until(
                std::slice::from_ref(&ip),
                waitroom::ratelimit::scope::Liability::Own
            )
            .await
            .unwrap(),
        Some(ban.until_ms),
        "the banning instance sees its own ban at once"
    );
}
