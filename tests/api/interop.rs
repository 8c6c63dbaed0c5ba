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

/// Fails with install instructions when python3 or PyJWT is missing: never skipped silently.
async fn require_pyjwt() {
    let check = tokio::process::Command::new("python3")
        .args(["-c", "import jwt, cryptography"])
        .output()
        .await;
    match check {
        Ok(output) if output.status.success() => {}
        Ok(_) => panic!(
            "PyJWT is missing: the JWKS interoperability test needs it. \
             Install it with `python3 -m pip install 'pyjwt[crypto]'`."
        ),
        Err(error) => panic!(
            "python3 cannot be run ({error}): the JWKS interoperability test needs python3 \
             with PyJWT (`python3 -m pip install 'pyjwt[crypto]'`)."
        ),
    }
}

/// Runs the script; returns (success, stdout).
async fn verify_in_python(
    jwks_url: &str,
    token: &str,
    subject: &str,
    event: &str,
) -> (bool, String) {
    let output = tokio::process::Command::new("python3")
        .args([SCRIPT, jwks_url, token, subject, event])
        .output()
        .await
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code().is_some_and(|code| code <= 1),
        "the script failed: {stdout}{stderr}"
    );
    (output.status.success(), stdout)
}

#[tokio::test]
async fn pyjwt_verifies_an_admission_token_with_the_published_jwks() {
    require_pyjwt().await;
    // PyJWT checks times against the real clock, so this app's clock starts at the real now.
    let app = spawn_instance(test_settings(), ManualClock::new(SystemClock.now_ms())).await;
    let event = app.open_event("sale", 5).await;
    let (_, ticket, admission) = app.admitted(&event, "alice").await;
    let jwks_url = format!("{}/.well-known/jwks.json", app.address);
    assert_eq!(
        app.get("/.well-known/jwks.json").await.status(),
        StatusCode::OK
    );

    let (verified, stdout) = verify_in_python(&jwks_url, &admission, "alice", "sale").await;
    assert!(verified, "PyJWT refused our token: {stdout}");
    let claims: Value = serde_json::from_str(stdout.trim()).expect("claims JSON");
    assert_eq!(claims["jti"], ticket);
    assert_eq!(claims["evt"], "sale");

    let (for_bob, _) = verify_in_python(&jwks_url, &admission, "bob", "sale").await;
    assert!(!for_bob, "PyJWT must refuse another shopper's token");
    // A different first character of the signature changes its first byte.
    let signature_at = admission.rfind('.').expect("three parts") + 1;
    let mut tampered = admission.clone();
    let replacement = if admission[signature_at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(signature_at..=signature_at, replacement);
    let (forged, _) = verify_in_python(&jwks_url, &tampered, "alice", "sale").await;
    assert!(!forged, "PyJWT must refuse a tampered token");
}
