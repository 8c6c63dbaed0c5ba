//! Another language verifies our admission tokens through the JWKS alone: PyJWT's `PyJWKClient`
//! against the live `/.well-known/jwks.json` (script: `tests/interop/verify_admission.py`).

use reqwest::StatusCode;
use serde_json::Value;
use waitroom::clock::{Clock, ManualClock, SystemClock};

use crate::test_app::{spawn_instance, test_settings};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/verify_admission.py"
);

/// The Pythons tried, in order: the one on `PATH`, then the system's (Debian's `python3-jwt`
/// lands there while a version manager may put another Python first on `PATH`).
const PYTHONS: [&str; 2] = ["python3", "/usr/bin/python3"];

/// The first Python with PyJWT. Fails with install instructions when there is none: never
/// skipped silently.
async fn python_with_pyjwt() -> &'static str {
    for python in PYTHONS {
        let check = tokio::process::Command::new(python)
            .args(["-c", "import jwt, cryptography"])
            .output()
            .await;
        if check.is_ok_and(|output| output.status.success()) {
            return python;
        }
    }
    panic!(
        "no python3 with PyJWT (tried {PYTHONS:?}): the JWKS interoperability test needs it. \
         Install it with `python3 -m pip install 'pyjwt[crypto]'` or Debian's `python3-jwt`."
    )
}

/// What the Python checkout said of a token.
#[derive(Debug)]
enum Verdict {
    /// Verified: the claims it printed.
    Verified(Value),
    /// Refused, with the reason it printed (after `refused: `).
    Refused(String),
}

/// Runs the script. Only its two documented answers count: exit 0 with the claims as JSON, or
/// exit 1 with one `refused: …` line and nothing on stderr. Anything else (a traceback, a missing
/// module, a bad argument) is a crash, and a crash is not a refusal.
async fn verify_in_python(jwks_url: &str, token: &str, subject: &str, event: &str) -> Verdict {
    let output = tokio::process::Command::new(python_with_pyjwt().await)
        .args([SCRIPT, jwks_url, token, subject, event])
        .output()
        .await
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let crashed = || -> ! {
        panic!(
            "the script crashed ({:?}): stdout {stdout:?}, stderr {stderr}",
            output.status
        )
    };
    if !stderr.trim().is_empty() {
        crashed();
    }
    match output.status.code() {
        Some(0) => match serde_json::from_str(&stdout) {
            Ok(claims) => Verdict::Verified(claims),
            Err(_) => crashed(),
        },
        Some(1) => match stdout.strip_prefix("refused: ") {
            Some(reason) if !reason.contains('\n') => Verdict::Refused(reason.to_owned()),
            _ => crashed(),
        },
        _ => crashed(),
    }
}

#[tokio::test]
async fn pyjwt_verifies_an_admission_token_with_the_published_jwks() {
    python_with_pyjwt().await;
    // PyJWT checks times against the real clock, so this app's clock starts at the real now.
    let app = spawn_instance(test_settings(), ManualClock::new(SystemClock.now_ms())).await;
    let event = app.open_event("sale", 5).await;
    let (_, ticket, admission) = app.admitted(&event, "alice").await;
    let jwks_url = format!("{}/.well-known/jwks.json", app.address);
    assert_eq!(
        app.get("/.well-known/jwks.json").await.status(),
        StatusCode::OK
    );

    let Verdict::Verified(claims) = verify_in_python(&jwks_url, &admission, "alice", "sale").await
    else {
        panic!("PyJWT refused our token");
    };
    assert_eq!(claims["jti"], ticket);
    assert_eq!(claims["evt"], "sale");
    assert_eq!(claims["sub"], "alice");

    let for_bob = verify_in_python(&jwks_url, &admission, "bob", "sale").await;
    assert!(
        matches!(&for_bob, Verdict::Refused(reason) if reason == "the token belongs to alice, not bob"),
        "PyJWT must refuse another shopper's token: {for_bob:?}"
    );
    let other_event = verify_in_python(&jwks_url, &admission, "alice", "other").await;
    assert!(
        matches!(&other_event, Verdict::Refused(reason) if reason.starts_with("the token is for event sale")),
        "PyJWT must refuse a token of another event: {other_event:?}"
    );
    // A different first character of the signature changes its first byte.
    let signature_at = admission.rfind('.').expect("three parts") + 1;
    let mut tampered = admission.clone();
    let replacement = if admission[signature_at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(signature_at..=signature_at, replacement);
    let forged = verify_in_python(&jwks_url, &tampered, "alice", "sale").await;
    assert!(
        matches!(&forged, Verdict::Refused(reason) if reason.starts_with("InvalidSignatureError")),
        "PyJWT must refuse a tampered token for its signature: {forged:?}"
    );
}
