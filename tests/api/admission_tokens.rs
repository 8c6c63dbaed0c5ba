//! The checkout refuses every admission token that is not this shopper's, for this event, valid
//! and unused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::Value;
use waitroom::admission::token::AdmissionClaims;
use waitroom::admission::{SigningKeys, sign_admission};
use waitroom::domain::TicketId;

use crate::test_app::{TestApp, assert_problem, one_item, spawn_app};

async fn refused(app: &TestApp, user: &str, admission: &str) -> Value {
    let response = app
        .checkout("sale", Some(user), Some(admission), None, &one_item())
        .await;
    assert_problem(response, StatusCode::FORBIDDEN, "not_admitted").await
}

fn claims_of(token: &str) -> AdmissionClaims {
    jsonwebtoken::dangerous::insecure_decode_claims(token).unwrap()
}

crate::on_both_stores! {
    async fn a_missing_admission_token_is_not_admitted() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, _) = app.admitted(&event, "alice").await;
        let response = app
            .checkout("sale", Some(&user), None, None, &one_item())
            .await;
        assert_problem(response, StatusCode::FORBIDDEN, "not_admitted").await;
    }

    async fn a_token_signed_by_another_key_is_not_admitted() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, ticket, admission) = app.admitted(&event, "alice").await;
        let claims = claims_of(&admission);
        let stranger = SigningKeys::generate().unwrap();
        let forged = sign_admission(
            &stranger,
            "alice",
            &event,
            TicketId::parse(&ticket).unwrap(),
            claims.iat * 1000,
            claims.exp * 1000,
        )
        .unwrap();
        refused(&app, &user, &forged).await;
    }

    async fn a_tampered_token_is_not_admitted() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let mut parts: Vec<String> = admission.split('.').map(str::to_owned).collect();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["exp"] = Value::from(claims["exp"].as_i64().unwrap() + 86_400);
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        refused(&app, &user, &parts.join(".")).await;
    }

    async fn an_unsigned_alg_none_token_is_not_admitted() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let payload = admission.split('.').nth(1).unwrap();
        let kid = &app.state.keys.current().kid;
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#));
        refused(&app, &user, &format!("{header}.{payload}.")).await;
    }

    async fn a_token_hmac_signed_with_the_public_key_is_not_admitted() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let jwks: Value = app
            .get("/.well-known/jwks.json")
            .await
            .json()
            .await
            .unwrap();
        let public_key = URL_SAFE_NO_PAD
            .decode(jwks["keys"][0]["x"].as_str().unwrap())
            .unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = jwks["keys"][0]["kid"].as_str().map(str::to_owned);
        let forged = jsonwebtoken::encode(
            &header,
            &claims_of(&admission),
            &EncodingKey::from_secret(&public_key),
        )
        .unwrap();
        refused(&app, &user, &forged).await;
    }

    async fn an_expired_admission_token_is_not_admitted() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        app.clock.advance_ms(121_000);
        let problem = refused(&app, &user, &admission).await;
        assert!(problem["detail"].as_str().unwrap().contains("expired"));
    }

    async fn another_shoppers_admission_token_is_not_admitted() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (_, _, alices) = app.admitted(&event, "alice").await;
        let (bob, _, _) = app.admitted(&event, "bob").await;
        let problem = refused(&app, &bob, &alices).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("another shopper")
        );
    }

    async fn an_admission_token_for_another_event_is_not_admitted() {
        let app = spawn_app().await;
        app.open_event("sale", 5).await;
        let other = app.open_event("other", 5).await;
        let (user, _, admission) = app.admitted(&other, "alice").await;
        let problem = refused(&app, &user, &admission).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("another event")
        );
    }

    async fn an_admission_is_used_once() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let first = app
            .checkout("sale", Some(&user), Some(&admission), None, &one_item())
            .await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let second = app
            .checkout("sale", Some(&user), Some(&admission), Some("other"), &one_item())
            .await;
        assert_problem(second, StatusCode::CONFLICT, "admission_used").await;
    }

    async fn a_user_token_is_never_an_admission_token() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, _) = app.admitted(&event, "alice").await;
        refused(&app, &user, &user).await;
    }
}
