//! Who a client is: forwarded addresses, trusted proxies, IPv6 grouping, allow and deny lists.

use std::net::IpAddr;

use crate::harness::{Harness, QUIET, get};
use crate::support::stores::Backend;
use waitroom::ratelimit::access::{Access, AccessLists};
use waitroom::ratelimit::identity::{TrustedProxies, client_ip};
use waitroom::ratelimit::limiter::Verdict;
use waitroom::ratelimit::rules::AccessConfig;

fn by_ip_rules() -> String {
    format!("{QUIET}\n[[rules]]\nname = \"api\"\nkey = \"ip\"\nlimit = 5\nperiod = \"1m\"")
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let h = Harness::start_with(Backend::Memory, &by_ip_rules(), "10.0.0.0/8").await;
    let mut allowed = 0;
    for i in 0..50 {
        let spoofed = get("/v1/x", "203.0.113.7").forwarded_for(&format!("198.51.100.{i}"));
        if crate::harness::passed(&h.check(&spoofed).await) {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5, "every request counts against the peer itself");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
    let h = Harness::start_with(Backend::Memory, &by_ip_rules(), "10.0.0.0/8").await;
    let mut allowed = 0;
    for i in 0..50 {
        // The client may write anything on the left; our proxies append on the right.
        let forwarded = format!("6.6.6.{i}, 198.51.100.9, 10.0.0.2");
        if crate::harness::passed(
            &h.check(&get("/v1/x", "10.0.0.1").forwarded_for(&forwarded))
                .await,
        ) {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5, "one client: 198.51.100.9");
    let other = get("/v1/x", "10.0.0.1").forwarded_for("198.51.100.10, 10.0.0.2");
    assert!(
        crate::harness::passed(&h.check(&other).await),
        "another client, its own budget"
    );
}

#[test]
fn the_forwarded_chain_is_read_from_the_right_and_stops_at_what_it_cannot_read() {
    let trusted = TrustedProxies::parse("10.0.0.0/8, 2001:db8:ffff::/48").unwrap();
    let read = |peer: &str, header: &str| client_ip(ip(peer), Some(header), &trusted);
    assert_eq!(read("10.0.0.1", "1.2.3.4, 5.6.7.8"), ip("5.6.7.8"));
    assert_eq!(read("10.0.0.1", "1.2.3.4, 10.9.9.9"), ip("1.2.3.4"));
    assert_eq!(
        read("10.0.0.1", "10.1.1.1, 10.2.2.2"),
        ip("10.1.1.1"),
        "all trusted: the first"
    );
    assert_eq!(
        read("10.0.0.1", "1.2.3.4, garbage, 10.3.3.3"),
        ip("10.3.3.3")
    );
    assert_eq!(
        read("2001:db8:ffff::1", "2001:db8:1::7"),
        ip("2001:db8:1::7")
    );
    assert_eq!(
        read("::ffff:10.0.0.1", "::ffff:1.2.3.4"),
        ip("1.2.3.4"),
        "mapped addresses"
    );
    assert_eq!(
        read("192.0.2.1", "1.2.3.4"),
        ip("192.0.2.1"),
        "an untrusted peer is the client"
    );
}

#[tokio::test]
async fn ten_thousand_addresses_inside_one_64_are_one_client() {
    let h = Harness::start(Backend::Memory, &by_ip_rules()).await;
    let mut allowed = 0;
    for i in 0..10_000_u32 {
        let address = format!("2001:db8:1:2:{:x}:{:x}::1", i >> 8, i & 0xff);
        if crate::harness::passed(&h.check(&get("/v1/x", &address)).await) {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5);
    assert!(crate::harness::passed(
        &h.check(&get("/v1/x", "2001:db8:1:3::1")).await
    ));
}

fn lists(allow: &[&str], deny: &[&str]) -> AccessLists {
    let mut errors = Vec::new();
    let owned = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    let config = AccessConfig {
        allow_ips: owned(allow),
        deny_ips: owned(deny),
        allow_users: vec!["partner".into()],
        deny_users: vec!["mallory".into()],
        allow_api_keys: vec![],
        deny_api_keys: vec!["leaked-key".into()],
    };
    let lists = AccessLists::compile(&config, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    lists
}

#[test]
fn cidr_edges_zero_32_and_128() {
    let everyone = lists(&[], &["0.0.0.0/0"]);
    assert_eq!(
        everyone.judge(ip("198.51.100.1"), None, None),
        Access::Denied
    );
    assert_eq!(
        everyone.judge(ip("2001:db8::1"), None, None),
        Access::Unlisted,
        "v4 /0 is not v6"
    );
    let exact = lists(&[], &["192.0.2.7/32", "2001:db8::7/128"]);
    assert_eq!(exact.judge(ip("192.0.2.7"), None, None), Access::Denied);
    assert_eq!(exact.judge(ip("192.0.2.8"), None, None), Access::Unlisted);
    assert_eq!(exact.judge(ip("2001:db8::7"), None, None), Access::Denied);
    assert_eq!(exact.judge(ip("2001:db8::8"), None, None), Access::Unlisted);
}

#[test]
fn ipv4_mapped_ipv6_is_judged_as_ipv4_both_ways() {
    let mapped_list = lists(&[], &["::ffff:192.0.2.0/120"]);
    assert_eq!(
        mapped_list.judge(ip("192.0.2.9"), None, None),
        Access::Denied
    );
    let plain_list = lists(&[], &["192.0.2.0/24"]);
    assert_eq!(
        plain_list.judge(ip("::ffff:192.0.2.9"), None, None),
        Access::Denied
    );
}

#[test]
fn overlapping_lists_follow_the_documented_precedence() {
    let office_in_denied_range = lists(&["10.1.2.0/24"], &["10.0.0.0/8"]);
    assert_eq!(
        office_in_denied_range.judge(ip("10.1.2.3"), None, None),
        Access::Allowed
    );
    assert_eq!(
        office_in_denied_range.judge(ip("10.9.9.9"), None, None),
        Access::Denied
    );
    let bad_host_in_allowed_range = lists(&["10.0.0.0/8"], &["10.1.2.3/32"]);
    assert_eq!(
        bad_host_in_allowed_range.judge(ip("10.1.2.3"), None, None),
        Access::Denied
    );
    let tie = lists(&["10.0.0.0/8"], &["10.0.0.0/8"]);
    assert_eq!(
        tie.judge(ip("10.1.1.1"), None, None),
        Access::Denied,
        "deny wins a tie"
    );
    assert_eq!(
        tie.judge(ip("10.1.1.1"), Some("partner"), None),
        Access::Allowed,
        "users first"
    );
    let open = lists(&["0.0.0.0/0"], &[]);
    assert_eq!(
        open.judge(ip("1.1.1.1"), Some("mallory"), None),
        Access::Denied
    );
    assert_eq!(
        open.judge(ip("1.1.1.1"), None, Some("leaked-key")),
        Access::Denied
    );
}

#[tokio::test]
async fn denied_clients_are_refused_and_allowed_ones_skip_every_limit() {
    let toml = format!(
        "{}\n[access]\nallow_ips = [\"192.0.2.0/24\"]\ndeny_ips = [\"198.51.100.0/24\"]",
        by_ip_rules()
    );
    let h = Harness::start(Backend::Memory, &toml).await;
    assert!(matches!(
        h.check(&get("/v1/x", "198.51.100.4")).await,
        Verdict::Denied
    ));
    assert_eq!(h.allowed_of(50, &get("/v1/x", "192.0.2.4")).await, 50);
    assert_eq!(h.allowed_of(50, &get("/v1/x", "203.0.113.4")).await, 5);
}

#[test]
fn an_unreadable_cidr_is_a_field_error() {
    let mut errors = Vec::new();
    let config = AccessConfig {
        deny_ips: vec!["10.0.0.0/33".into()],
        ..AccessConfig::default()
    };
    AccessLists::compile(&config, &mut errors);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "access.deny_ips[0]");
}

fn by_client_rules(identity: &str) -> String {
    format!(
        "{QUIET}\n[identity]\n{identity}\n[[rules]]\nname = \"api\"\nkey = \"client\"\nlimit = 5\nperiod = \"1m\""
    )
}

#[tokio::test]
async fn an_invented_api_key_is_charged_as_its_address() {
    let h = Harness::start(
        Backend::Memory,
        &by_client_rules("api_keys = [\"partner-key\"]"),
    )
    .await;
    let mut allowed = 0;
    for i in 0..50 {
        let rotating = get("/v1/x", "203.0.113.9").api_key(&format!("made-up-{i}"));
        if crate::harness::passed(&h.check(&rotating).await) {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5, "fifty invented keys share the address's budget");
    let partner = get("/v1/x", "203.0.113.9").api_key("partner-key");
    assert_eq!(
        h.allowed_of(50, &partner).await,
        5,
        "a configured key has its own"
    );
}

#[tokio::test]
async fn configured_keys_may_be_given_as_sha256_digests() {
    let digest = "5f9f7c5b7d0a3d50e0b5e0e2b8f1b0b3a8a2f3f9f0b2c1d4e5f60718293a4b5c";
    let known = "the-key-behind-the-digest";
    let real_digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(known.as_bytes()));
    let identity = format!("api_key_sha256 = [\"{digest}\", \"{real_digest}\"]");
    let h = Harness::start(Backend::Memory, &by_client_rules(&identity)).await;
    assert_eq!(h.allowed_of(9, &get("/v1/x", "203.0.113.9")).await, 5);
    let keyed = get("/v1/x", "203.0.113.9").api_key(known);
    assert_eq!(
        h.allowed_of(9, &keyed).await,
        5,
        "its own budget, not the spent address's"
    );
    let unknown = get("/v1/x", "203.0.113.9").api_key(digest);
    assert_eq!(h.allowed_of(9, &unknown).await, 0, "a digest is not a key");
}

#[test]
fn a_digest_that_is_not_sha256_hex_is_a_field_error() {
    let config =
        waitroom::ratelimit::RuleSetConfig::from_toml("[identity]\napi_key_sha256 = [\"not-hex\"]")
            .unwrap();
    let errors = waitroom::ratelimit::compile(&config, None).unwrap_err();
    assert_eq!(errors[0].field, "identity.api_key_sha256[0]");
}

#[test]
fn the_example_rules_for_an_api_of_ones_own_compile() {
    let text = std::fs::read_to_string("config/ratelimit.example-api.toml").unwrap();
    let config = waitroom::ratelimit::RuleSetConfig::from_toml(&text).unwrap();
    let compiled = waitroom::ratelimit::compile(&config, None).unwrap();
    assert!(compiled.rules.iter().any(|rule| &*rule.name == "login"));
}
