//! The reference checkout: reservation, idempotent retries, stock, payment.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::test_app::{assert_field_error, assert_problem, one_item, spawn_app};

crate::on_both_stores! {
    async fn checkout_without_a_user_token_is_unauthenticated() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (_, _, admission) = app.admitted(&event, "alice").await;
        let response = app
            .checkout("sale", None, Some(&admission), None, &one_item())
            .await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }

    async fn a_checkout_reserves_stock_and_answers_the_order() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let body =
            json!({ "items": [{ "sku": "SKU-1", "quantity": 2 }, { "sku": "SKU-2", "quantity": 1 }] });
        let response = app
            .checkout("sale", Some(&user), Some(&admission), None, &body)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let order: Value = response.json().await.unwrap();
        assert_eq!(order["status"], "reserved");
        assert_eq!(order["items"][0]["sku"], "SKU-1");
        assert!(order["reserved_until"].as_str().unwrap().ends_with('Z'));

        let public: Value = app.get("/v1/events/sale").await.json().await.unwrap();
        assert_eq!(public["units_left"], 10 - 3);
    }

    async fn a_retry_with_the_same_idempotency_key_gets_the_first_answer() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let first = app
            .checkout(
                "sale",
                Some(&user),
                Some(&admission),
                Some("retry-1"),
                &one_item(),
            )
            .await;
        let first_status = first.status();
        let first_body = first.text().await.unwrap();
        let again = app
            .checkout(
                "sale",
                Some(&user),
                Some(&admission),
                Some("retry-1"),
                &one_item(),
            )
            .await;
        assert_eq!(first_status, StatusCode::CREATED);
        assert_eq!(again.status(), first_status);
        assert_eq!(again.text().await.unwrap(), first_body);

        let other_key = app
            .checkout(
                "sale",
                Some(&user),
                Some(&admission),
                Some("retry-2"),
                &one_item(),
            )
            .await;
        assert_problem(other_key, StatusCode::CONFLICT, "admission_used").await;
        let public: Value = app.get("/v1/events/sale").await.json().await.unwrap();
        assert_eq!(public["units_left"], 10 - 1);
    }

    async fn an_unusable_idempotency_key_is_invalid() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let long = "k".repeat(256);
        let response = app
            .checkout(
                "sale",
                Some(&user),
                Some(&admission),
                Some(&long),
                &one_item(),
            )
            .await;
        assert_field_error(response, "Idempotency-Key").await;
    }

    async fn invalid_items_are_refused_field_by_field_and_reserve_nothing() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        for (body, field) in [
            (json!({ "items": [] }), "items"),
            (
                json!({ "items": [{ "sku": "SKU-1", "quantity": 0 }] }),
                "items[0].quantity",
            ),
            (
                json!({ "items": [{ "sku": "no spaces", "quantity": 1 }] }),
                "items[0].sku",
            ),
            (
                json!({ "items": [{ "sku": "SKU-1", "quantity": 1 }, { "sku": "SKU-1", "quantity": 1 }] }),
                "items",
            ),
            (
                json!({ "items": [{ "sku": "SKU-1", "quantity": "two" }] }),
                "items[0].quantity",
            ),
            (
                json!({ "items": [{ "sku": "NOPE", "quantity": 1 }] }),
                "items[0].sku",
            ),
            (json!({}), "items"),
        ] {
            let response = app
                .checkout("sale", Some(&user), Some(&admission), None, &body)
                .await;
            assert_field_error(response, field).await;
        }
        let valid = app
            .checkout("sale", Some(&user), Some(&admission), None, &one_item())
            .await;
        assert_eq!(
            valid.status(),
            StatusCode::CREATED,
            "the admission is still unused"
        );
    }

    async fn buying_more_than_is_left_is_sold_out_and_reserves_nothing() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 1).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let body = json!({ "items": [{ "sku": "SKU-1", "quantity": 2 }] });
        let response = app
            .checkout("sale", Some(&user), Some(&admission), None, &body)
            .await;
        assert_problem(response, StatusCode::CONFLICT, "sold_out").await;
        let public: Value = app.get("/v1/events/sale").await.json().await.unwrap();
        assert_eq!(public["units_left"], 1 + 5);
    }

    async fn paying_an_order_answers_paid_and_a_retry_answers_the_same() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let order = app.reserve_one("sale", &user, &admission).await;
        let order_id = order["order_id"].as_str().unwrap();
        let paid = app.pay("sale", order_id, &user).await;
        assert_eq!(paid.status(), StatusCode::OK);
        let paid: Value = paid.json().await.unwrap();
        assert_eq!(paid["status"], "paid");
        assert_eq!(paid["order_id"], order_id);
        assert_eq!(
            app.pay("sale", order_id, &user).await.status(),
            StatusCode::OK
        );
    }

    async fn nobody_pays_another_shoppers_order() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let order = app.reserve_one("sale", &user, &admission).await;
        let mallory = app.login("mallory").await;
        let response = app
            .pay("sale", order["order_id"].as_str().unwrap(), &mallory)
            .await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        let unknown = app
            .pay("sale", "00000000-0000-4000-8000-000000000000", &user)
            .await;
        assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
        let malformed = app.pay("sale", "order-1", &user).await;
        assert_problem(malformed, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn an_unpaid_reservation_runs_out_and_its_stock_returns() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 1).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let order = app.reserve_one("sale", &user, &admission).await;
        app.clock.advance_ms(301_000);
        let response = app
            .pay("sale", order["order_id"].as_str().unwrap(), &user)
            .await;
        assert_problem(response, StatusCode::CONFLICT, "reservation_expired").await;
        let public: Value = app.get("/v1/events/sale").await.json().await.unwrap();
        assert_eq!(public["units_left"], 1 + 5);
    }

    async fn a_payment_without_a_card_token_is_invalid() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let order = app.reserve_one("sale", &user, &admission).await;
        let response = app
            .request(
                Method::POST,
                &format!(
                    "/v1/events/sale/orders/{}/pay",
                    order["order_id"].as_str().unwrap()
                ),
            )
            .bearer_auth(&user)
            .json(&json!({ "payment": { "card_token": "" } }))
            .send()
            .await
            .unwrap();
        assert_field_error(response, "payment.card_token").await;
    }

    async fn an_admitted_visitor_checks_out_with_the_visitor_token() {
        let app = spawn_app().await;
        let mut body = crate::test_app::event_body("open-sale", crate::test_app::START, 5);
        body["allow_anonymous"] = json!(true);
        assert_eq!(app.create_event(&body).await.status(), StatusCode::CREATED);
        let joined: Value = app.join("open-sale", None).await.json().await.unwrap();
        let visitor = joined["visitor_token"].as_str().unwrap();
        app.drain(&waitroom::domain::EventId::parse("open-sale").unwrap()).await;
        let ticket: Value = app
            .ticket("open-sale", joined["ticket_id"].as_str().unwrap(), visitor)
            .await
            .json()
            .await
            .unwrap();
        let admission = ticket["admission_token"].as_str().unwrap();
        let response = app
            .checkout("open-sale", Some(visitor), Some(admission), None, &one_item())
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
}
