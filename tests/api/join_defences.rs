//! Joins that must show a proof of work or an invitation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use waitroom::defences::solve;

use crate::test_app::{TestApp, assert_problem, event_body, spawn_app};

/// An open event with `settings` merged into the usual body.
async fn defended_event(app: &TestApp, id: &str, settings: Value) {
    let mut body = event_body(id, app.now(), 100);
    for (key, value) in settings.as_object().unwrap() {
        body[key] = value.clone();
    }
    let created = app.create_event(&body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
}

async fn join_with(app: &TestApp, event: &str, token: &str, body: Value) -> reqwest::Response {
    app.request(Method::POST, &format!("/v1/events/{event}/tickets"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn challenge(app: &TestApp, event: &str, token: &str) -> Value {
    let response = app
        .request(Method::GET, &format!("/v1/events/{event}/challenge"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// A proof body for `challenge`, solved.
fn proof(challenge: &Value) -> Value {
    let text = challenge["challenge"].as_str().unwrap();
    let difficulty = challenge["difficulty"].as_u64().unwrap() as u8;
    json!({ "proof": { "challenge": text, "nonce": solve(text, difficulty) } })
}

async fn issue(app: &TestApp, event: &str, body: Value) -> Value {
    let response = app
        .admin(
            Method::POST,
            &format!("/v1/admin/events/{event}/invitations"),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

crate::on_both_stores! {
    async fn a_join_without_a_proof_is_refused_where_the_event_asks_for_one() {
        let app = spawn_app().await;
        defended_event(&app, "drop", json!({ "proof_difficulty": 8 })).await;
        let token = app.login("alice").await;

        let refused = join_with(&app, "drop", &token, json!({})).await;

        assert_problem(refused, StatusCode::FORBIDDEN, "proof_required").await;
        let event: Value = app.get("/v1/events/drop").await.json().await.unwrap();
        assert_eq!(event["queue_length"], 0);
        assert_eq!(event["proof_difficulty"], 8);
    }

    async fn a_solved_challenge_joins_once() {
        let app = spawn_app().await;
        defended_event(&app, "drop", json!({ "proof_difficulty": 8 })).await;
        let token = app.login("alice").await;
        let challenge = challenge(&app, "drop", &token).await;
        assert_eq!(challenge["difficulty"], 8);
        assert!(challenge["expires_at"].is_string());

        let joined = join_with(&app, "drop", &token, proof(&challenge)).await;
        let replayed = join_with(&app, "drop", &token, proof(&challenge)).await;

        assert_eq!(joined.status(), StatusCode::CREATED);
        let problem = assert_problem(replayed, StatusCode::FORBIDDEN, "proof_invalid").await;
        assert!(problem["detail"].as_str().unwrap().contains("used already"));
    }

    async fn a_proof_for_another_shopper_or_with_a_wrong_nonce_is_refused() {
        let app = spawn_app().await;
        defended_event(&app, "drop", json!({ "proof_difficulty": 12 })).await;
        let alice = app.login("alice").await;
        let bob = app.login("bob").await;
        let challenge = challenge(&app, "drop", &alice).await;
        let text = challenge["challenge"].as_str().unwrap();
        let wrong = (0..)
            .map(|n: u64| n.to_string())
            .find(|n| {
                let hash = waitroom::defences::proof_of_work::proof_hash(text, n);
                waitroom::defences::leading_zero_bits(&hash) < 12
            })
            .unwrap();

        let stolen = join_with(&app, "drop", &bob, proof(&challenge)).await;
        let guessed = json!({ "proof": { "challenge": text, "nonce": wrong } });
        let lazy = join_with(&app, "drop", &alice, guessed).await;
        let junk = json!({ "proof": { "challenge": "p1.drop.1.1.x.y", "nonce": "1" } });
        let forged = join_with(&app, "drop", &alice, junk).await;

        assert_problem(stolen, StatusCode::FORBIDDEN, "proof_invalid").await;
        assert_problem(lazy, StatusCode::FORBIDDEN, "proof_invalid").await;
        assert_problem(forged, StatusCode::FORBIDDEN, "proof_invalid").await;
        // Alice's own challenge was not spent by the refusals.
        let joined = join_with(&app, "drop", &alice, proof(&challenge)).await;
        assert_eq!(joined.status(), StatusCode::CREATED);
    }

    async fn an_expired_challenge_is_refused() {
        let app = spawn_app().await;
        defended_event(&app, "drop", json!({ "proof_difficulty": 4 })).await;
        let token = app.login("alice").await;
        let challenge = challenge(&app, "drop", &token).await;

        app.clock.advance_ms(120_000);
        let late = join_with(&app, "drop", &token, proof(&challenge)).await;

        let problem = assert_problem(late, StatusCode::FORBIDDEN, "proof_invalid").await;
        assert!(problem["detail"].as_str().unwrap().contains("expired"));
    }

    async fn an_anonymous_visitor_joins_with_the_identity_its_challenge_was_bound_to() {
        let app = spawn_app().await;
        defended_event(&app, "open-drop", json!({ "proof_difficulty": 6, "allow_anonymous": true }))
            .await;
        let response = app
            .request(Method::GET, "/v1/events/open-drop/challenge")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("set-cookie").is_some());
        let challenge: Value = response.json().await.unwrap();
        let visitor = challenge["visitor_token"].as_str().unwrap().to_owned();

        let joined = join_with(&app, "open-drop", &visitor, proof(&challenge)).await;

        assert_eq!(joined.status(), StatusCode::CREATED);
    }

    async fn an_invitation_only_event_refuses_a_join_without_a_valid_invitation() {
        let app = spawn_app().await;
        defended_event(&app, "vip", json!({ "invitation_only": true })).await;
        let token = app.login("alice").await;

        let missing = join_with(&app, "vip", &token, json!({})).await;
        let forged = join_with(&app, "vip", &token, json!({ "invitation": "i1.vip.x.1.9.y" })).await;

        assert_problem(missing, StatusCode::FORBIDDEN, "invitation_required").await;
        assert_problem(forged, StatusCode::FORBIDDEN, "invitation_required").await;
        let event: Value = app.get("/v1/events/vip").await.json().await.unwrap();
        assert_eq!((event["queue_length"].as_u64(), event["invitation_only"].as_bool()), (Some(0), Some(true)));
    }

    async fn an_invitation_serves_as_many_shoppers_as_it_allows_and_no_more() {
        let app = spawn_app().await;
        defended_event(&app, "vip", json!({ "invitation_only": true })).await;
        let issued = issue(&app, "vip", json!({ "count": 2, "uses": 1 })).await;
        let invitations = issued["invitations"].as_array().unwrap();
        assert_eq!(invitations.len(), 2);
        assert_eq!(issued["uses"], 1);
        let first = json!({ "invitation": invitations[0] });
        let alice = app.login("alice").await;
        let bob = app.login("bob").await;

        let alice_joins = join_with(&app, "vip", &alice, first.clone()).await;
        let alice_again = join_with(&app, "vip", &alice, first.clone()).await;
        let bob_forwarded = join_with(&app, "vip", &bob, first).await;
        let bob_own = join_with(&app, "vip", &bob, json!({ "invitation": invitations[1] })).await;

        assert_eq!(alice_joins.status(), StatusCode::CREATED);
        assert_eq!(alice_again.status(), StatusCode::OK);
        let problem = assert_problem(bob_forwarded, StatusCode::FORBIDDEN, "invitation_required").await;
        assert!(problem["detail"].as_str().unwrap().contains("used by as many"));
        assert_eq!(bob_own.status(), StatusCode::CREATED);
    }

    async fn an_invitation_for_a_list_serves_its_size_until_it_expires() {
        let app = spawn_app().await;
        defended_event(&app, "club", json!({ "invitation_only": true })).await;
        let expires_at = waitroom::clock::to_rfc3339(app.now() + 60_000);
        let issued = issue(&app, "club", json!({ "count": 1, "uses": 3, "expires_at": expires_at })).await;
        let invitation = json!({ "invitation": issued["invitations"][0] });

        for user in ["ann", "ben", "cat"] {
            let token = app.login(user).await;
            let joined = join_with(&app, "club", &token, invitation.clone()).await;
            assert_eq!(joined.status(), StatusCode::CREATED, "{user}");
        }
        let dan = app.login("dan").await;
        let fourth = join_with(&app, "club", &dan, invitation.clone()).await;
        assert_problem(fourth, StatusCode::FORBIDDEN, "invitation_required").await;
        app.clock.advance_ms(60_000);
        let eve = app.login("eve").await;
        let late = join_with(&app, "club", &eve, invitation).await;
        let problem = assert_problem(late, StatusCode::FORBIDDEN, "invitation_required").await;
        assert!(problem["detail"].as_str().unwrap().contains("expired"));
    }

    async fn issuing_invitations_checks_its_body_and_needs_the_admin_token() {
        let app = spawn_app().await;
        defended_event(&app, "vip", json!({ "invitation_only": true })).await;
        let path = "/v1/admin/events/vip/invitations";

        let anonymous = app.request(Method::POST, path).json(&json!({ "count": 1 })).send().await.unwrap();
        let none = app.admin(Method::POST, path).json(&json!({ "count": 0 })).send().await.unwrap();
        let past = json!({ "count": 1, "expires_at": "2001-01-01T00:00:00Z" });
        let expired = app.admin(Method::POST, path).json(&past).send().await.unwrap();
        let unknown = app
            .admin(Method::POST, "/v1/admin/events/nope/invitations")
            .json(&json!({ "count": 1 }))
            .send()
            .await
            .unwrap();

        assert!(anonymous.status() == StatusCode::UNAUTHORIZED || anonymous.status() == StatusCode::FORBIDDEN);
        assert_problem(none, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_problem(expired, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn the_operator_turns_proof_of_work_on_and_off_live() {
        let app = spawn_app().await;
        defended_event(&app, "drop", json!({})).await;
        let token = app.login("alice").await;
        let patch = |body: Value| {
            app.admin(Method::PATCH, "/v1/admin/events/drop").json(&body).send()
        };

        let on = patch(json!({ "proof_difficulty": 10 })).await.unwrap();
        assert_eq!(on.status(), StatusCode::OK);
        let detail: Value = on.json().await.unwrap();
        assert_eq!(detail["proof_difficulty"], 10);
        let refused = join_with(&app, "drop", &token, json!({})).await;
        assert_problem(refused, StatusCode::FORBIDDEN, "proof_required").await;
        let too_hard = patch(json!({ "proof_difficulty": 33 })).await.unwrap();
        assert_problem(too_hard, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        patch(json!({ "proof_difficulty": 0 })).await.unwrap();
        let joined = join_with(&app, "drop", &token, json!({})).await;
        assert_eq!(joined.status(), StatusCode::CREATED);
    }
}
