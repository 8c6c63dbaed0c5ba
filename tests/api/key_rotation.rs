//! Staged rotation of the signing key across two instances on one Redis: publish the new key
//! (verify-only) everywhere, switch signing to it, retire the old one. At every step, while
//! instances restart one by one, the tokens either instance signs verify on both.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use waitroom::admission::SigningKeys;
use waitroom::clock::ManualClock;
use waitroom::config::{Settings, StoreSettings};
use waitroom::domain::EventId;

use crate::support::redis_server::RedisServer;
use crate::test_app::{START, TestApp, event_body, one_item, spawn_instance, test_settings};

/// A key file holding `pems`, in that order.
fn key_file(pems: &[&str]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("waitroom-keys-{}.pem", uuid::Uuid::new_v4()));
    std::fs::write(&path, pems.join("\n")).unwrap();
    path
}

fn kid_of(pem: &str) -> String {
    SigningKeys::from_pem(pem).unwrap().current().kid.clone()
}

/// An instance on `redis` with the key file `keys`, signing with `kid` (the file's last key
/// when `None`).
async fn instance(
    redis: &RedisServer,
    clock: &ManualClock,
    keys: &Path,
    kid: Option<&str>,
) -> TestApp {
    let settings = Settings {
        store: StoreSettings::Redis {
            urls: vec![redis.url()],
        },
        signing_key_file: Some(keys.to_owned()),
        signing_kid: kid.map(str::to_owned),
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        request_timeout: Duration::from_secs(5),
        ..test_settings()
    };
    spawn_instance(settings, clock.clone()).await
}

/// The `kid` in a JWT's header.
fn kid_in(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// A fresh shopper admitted by `signer`: a visitor token and an admission token it signed, and
/// the ticket. Both are then used on `verifier`.
async fn signed_by_one_used_on_the_other(
    signer: &TestApp,
    verifier: &TestApp,
    expected_kid: &str,
    step: &str,
) {
    // Each visitor comes from its own address, so the join limit of one address is not the test.
    static VISITORS: AtomicU8 = AtomicU8::new(1);
    let address = format!("192.0.2.{}", VISITORS.fetch_add(1, Ordering::Relaxed));
    let joined = signer
        .request(Method::POST, "/v1/events/rotation/tickets")
        .header("x-forwarded-for", address)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), StatusCode::CREATED, "{step}");
    let joined: Value = joined.json().await.unwrap();
    let visitor = joined["visitor_token"].as_str().unwrap().to_owned();
    let ticket = joined["ticket_id"].as_str().unwrap().to_owned();
    assert_eq!(
        kid_in(&visitor),
        expected_kid,
        "{step}: the visitor token's signer"
    );

    // The visitor token the signer made is accepted by the other instance.
    let read = verifier.ticket("rotation", &ticket, &visitor).await;
    assert_eq!(
        read.status(),
        StatusCode::OK,
        "{step}: visitor token on the other instance"
    );

    signer.drain(&EventId::parse("rotation").unwrap()).await;
    let read: Value = signer
        .ticket("rotation", &ticket, &visitor)
        .await
        .json()
        .await
        .unwrap();
    let admission = read["admission_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{step}: admitted: {read}"))
        .to_owned();
    assert_eq!(
        kid_in(&admission),
        expected_kid,
        "{step}: the admission's signer"
    );
    let bought = verifier
        .checkout(
            "rotation",
            Some(&visitor),
            Some(&admission),
            None,
            &one_item(),
        )
        .await;
    assert_eq!(
        bought.status(),
        StatusCode::CREATED,
        "{step}: admission token on the other instance"
    );
}

/// Both directions, and both instances publish every key they verify with.
async fn tokens_cross(a: &TestApp, b: &TestApp, kid_a: &str, kid_b: &str, step: &str) {
    signed_by_one_used_on_the_other(a, b, kid_a, step).await;
    signed_by_one_used_on_the_other(b, a, kid_b, step).await;
}

fn published(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_staged_rotation_never_makes_one_instance_refuse_the_other_s_tokens() {
    let redis = RedisServer::start();
    let clock = ManualClock::new(START);
    let old = SigningKeys::generate_pem().unwrap();
    let new = SigningKeys::generate_pem().unwrap();
    let (old_kid, new_kid) = (kid_of(&old), kid_of(&new));
    let only_old = key_file(&[&old]);
    let both = key_file(&[&old, &new]);
    let only_new = key_file(&[&new]);

    // Before: both instances sign with the old key, the only one they know.
    let a = instance(&redis, &clock, &only_old, None).await;
    let b = instance(&redis, &clock, &only_old, None).await;
    let mut event = event_body("rotation", a.now(), 1_000);
    event["allow_anonymous"] = json!(true);
    event["outflow_burst"] = json!(1_000);
    assert_eq!(a.create_event(&event).await.status(), StatusCode::CREATED);
    tokens_cross(&a, &b, &old_kid, &old_kid, "before").await;

    // Step 1, publish: `a` restarts with the new key verify-only; `b` has not restarted yet.
    drop(a);
    let a = instance(&redis, &clock, &both, Some(&old_kid)).await;
    tokens_cross(&a, &b, &old_kid, &old_kid, "publish, half restarted").await;
    let jwks: Value = a.get("/.well-known/jwks.json").await.json().await.unwrap();
    assert_eq!(published(&jwks), [old_kid.as_str(), new_kid.as_str()]);
    drop(b);
    let b = instance(&redis, &clock, &both, Some(&old_kid)).await;
    tokens_cross(&a, &b, &old_kid, &old_kid, "published").await;

    // Step 2, switch: `a` signs with the new key while `b` still signs with the old one.
    drop(a);
    let a = instance(&redis, &clock, &both, Some(&new_kid)).await;
    tokens_cross(&a, &b, &new_kid, &old_kid, "switch, half restarted").await;
    drop(b);
    let b = instance(&redis, &clock, &both, Some(&new_kid)).await;
    tokens_cross(&a, &b, &new_kid, &new_kid, "switched").await;

    // Step 3, retire: the old key leaves the files one instance at a time.
    drop(a);
    let a = instance(&redis, &clock, &only_new, None).await;
    tokens_cross(&a, &b, &new_kid, &new_kid, "retire, half restarted").await;
    drop(b);
    let b = instance(&redis, &clock, &only_new, Some(&new_kid)).await;
    tokens_cross(&a, &b, &new_kid, &new_kid, "retired").await;
    let jwks: Value = b.get("/.well-known/jwks.json").await.json().await.unwrap();
    assert_eq!(published(&jwks), [new_kid.as_str()]);

    for file in [only_old, both, only_new] {
        let _ = std::fs::remove_file(file);
    }
}
