//! A shop's own checkout, in Rust, accepting waitroom's admissions with one `.layer(...)`.
//!
//! It fetches waitroom's public keys (JWKS) once at start and verifies every admission token
//! offline: no call to waitroom per request. Each admission is accepted once (its `jti`).
//!
//! ```text
//! cargo run --release                                   # waitroom, with its demo sale
//! cargo run --example checkout_service -- http://127.0.0.1:8080 127.0.0.1:9090
//! curl -X POST 127.0.0.1:9090/checkout -H "Admission-Token: <token from the queue page>"
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use waitroom::admission::{Admission, AdmissionLayer, AdmissionVerifier};

/// Admissions already used (a real shop keeps these in its database, until they expire).
type Used = Arc<Mutex<HashSet<String>>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let waitroom = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:9090".to_owned());

    let jwks = reqwest::get(format!("{waitroom}/.well-known/jwks.json"))
        .await?
        .text()
        .await?;
    let verifier = AdmissionVerifier::from_jwks(&jwks)?;

    let app = Router::new()
        .route("/checkout", post(checkout))
        // The whole integration: requests without a valid admission never reach `checkout`.
        .layer(AdmissionLayer::new(verifier))
        .with_state(Used::default());

    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("checkout listening on http://{listen}/checkout, admissions from {waitroom}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Runs only with a verified admission in the request's extensions.
async fn checkout(
    State(used): State<Used>,
    Extension(admission): Extension<Admission>,
) -> (StatusCode, Json<Value>) {
    let first_use = used
        .lock()
        .map(|mut used| used.insert(admission.ticket_id.to_string()))
        .unwrap_or(false);
    if !first_use {
        return (
            StatusCode::CONFLICT,
            Json(json!({ "code": "admission_used" })),
        );
    }
    (
        StatusCode::CREATED,
        Json(json!({
            "status": "reserved",
            "shopper": admission.subject,
            "event": admission.event.as_str(),
        })),
    )
}
