//! Orders after the checkout: a retried checkout answers its order, the owner reads it, a closed
//! event reserves nothing new, and the purchase limits.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::test_app::{assert_problem, event_body, one_item, spawn_app};

crate::on_both_stores! {
    async fn a_checkout_retried_without_a_key_answers_200_with_its_order() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let first = app.reserve_one("sale", &user, &admission).await;

        let retry = app
            .checkout("sale", Some(&user), Some(&admission), None, &one_item())
            .await;

        assert_eq!(retry.status(), StatusCode::OK);
        let again: Value = retry.json().await.unwrap();
        assert_eq!(again, first, "the order the lost response carried");
        let public: Value = app.get("/v1/events/sale").await.json().await.unwrap();
        assert_eq!(public["units_left"], 10 - 1, "taken once");
        let other_key = app
            .checkout("sale", Some(&user), Some(&admission), Some("another"), &one_item())
            .await;
        assert_problem(other_key, StatusCode::CONFLICT, "admission_used").await;
    }

    async fn an_order_is_read_by_its_owner_only() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (user, _, admission) = app.admitted(&event, "alice").await;
        let order = app.reserve_one("sale", &user, &admission).await;
        let id = order["order_id"].as_str().unwrap();
        let path = format!("/v1/events/sale/orders/{id}");
        let read = |token: String| {
            app.request(Method::GET, &path).bearer_auth(token).send()
        };

        let reserved = read(user.clone()).await.unwrap();
        assert_eq!(reserved.status(), StatusCode::OK);
        assert_eq!(reserved.json::<Value>().await.unwrap(), order);
        app.pay("sale", id, &user).await;
        let paid: Value = read(user.clone()).await.unwrap().json().await.unwrap();
        assert_eq!(paid["status"], "paid");

        let mallory = app.login("mallory").await;
        assert_problem(read(mallory).await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        let anonymous = app.request(Method::GET, &path).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let unknown = app
            .request(Method::GET, "/v1/events/sale/orders/00000000-0000-4000-8000-000000000000")
            .bearer_auth(&user)
            .send()
            .await
            .unwrap();
        assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn a_closed_event_reserves_nothing_new_but_earlier_orders_may_pay() {
        let app = spawn_app().await;
        let event = app.open_event("sale", 5).await;
        let (alice, _, early) = app.admitted(&event, "alice").await;
        let (bob, _, late) = app.admitted(&event, "bob").await;
        let order = app.reserve_one("sale", &alice, &early).await;

        let closed = app
            .admin(Method::PATCH, "/v1/admin/events/sale")
            .json(&json!({ "status": "closed" }))
            .send()
            .await
            .unwrap();
        assert_eq!(closed.status(), StatusCode::OK);
        let refused = app
            .checkout("sale", Some(&bob), Some(&late), None, &one_item())
            .await;
        let paid = app
            .pay("sale", order["order_id"].as_str().unwrap(), &alice)
            .await;

        assert_problem(refused, StatusCode::CONFLICT, "event_closed").await;
        assert_eq!(paid.status(), StatusCode::OK);
        let public: Value = app.get("/v1/events/sale").await.json().await.unwrap();
        assert_eq!(public["units_left"], 10 - 1);
    }

    async fn purchase_limits_are_set_at_create_and_by_patch_and_refuse_with_409() {
        let app = spawn_app().await;
        let mut body = event_body("sale", app.now(), 10);
        body["max_units_per_order"] = json!(3);
        body["max_units_per_shopper"] = json!({ "total": 4, "per_sku": 3 });
        let created = app.create_event(&body).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let created: Value = created.json().await.unwrap();
        assert_eq!(created["max_units_per_order"], json!({ "total": 3, "per_sku": null }));
        assert_eq!(created["max_units_per_shopper"], json!({ "total": 4, "per_sku": 3 }));
        let event = waitroom::domain::EventId::parse("sale").unwrap();
        let (user, _, admission) = app.admitted(&event, "alice").await;

        let four = json!({ "items": [{ "sku": "SKU-1", "quantity": 2 }, { "sku": "SKU-2", "quantity": 2 }] });
        let over = app.checkout("sale", Some(&user), Some(&admission), None, &four).await;
        let problem = assert_problem(over, StatusCode::CONFLICT, "purchase_limit").await;
        assert!(problem["detail"].as_str().unwrap().contains("max_units_per_order"));

        let changed = app
            .admin(Method::PATCH, "/v1/admin/events/sale")
            .json(&json!({ "max_units_per_order": null, "max_units_per_shopper": 2 }))
            .send()
            .await
            .unwrap();
        assert_eq!(changed.status(), StatusCode::OK);
        let changed: Value = changed.json().await.unwrap();
        assert_eq!(changed["max_units_per_order"], json!({ "total": null, "per_sku": null }));
        let three = json!({ "items": [{ "sku": "SKU-1", "quantity": 3 }] });
        let over = app.checkout("sale", Some(&user), Some(&admission), None, &three).await;
        let problem = assert_problem(over, StatusCode::CONFLICT, "purchase_limit").await;
        assert!(problem["detail"].as_str().unwrap().contains("max_units_per_shopper"));
        let two = json!({ "items": [{ "sku": "SKU-1", "quantity": 2 }] });
        let within = app.checkout("sale", Some(&user), Some(&admission), None, &two).await;
        assert_eq!(within.status(), StatusCode::CREATED);
    }

    async fn a_purchase_limit_of_zero_is_invalid() {
        let app = spawn_app().await;
        let mut body = event_body("sale", app.now(), 10);
        body["max_units_per_order"] = json!({ "total": 0 });
        let refused = app.create_event(&body).await;
        let problem =
            assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "max_units_per_order", "{problem}");
    }
}

#[tokio::test]
async fn the_openapi_document_describes_orders_closing_and_purchase_limits() {
    let app = spawn_app().await;
    let document: Value = app.get("/openapi.json").await.json().await.unwrap();

    let read = &document["paths"]["/v1/events/{event}/orders/{order}"]["get"];
    assert!(read["responses"]["200"].is_object(), "{read}");
    assert!(read["responses"]["404"].is_object(), "{read}");
    let checkout = &document["paths"]["/v1/events/{event}/checkout"]["post"]["responses"];
    assert!(checkout["200"].is_object(), "a retry's answer: {checkout}");
    let conflicts = checkout["409"]["description"].as_str().unwrap();
    for code in ["purchase_limit", "event_closed", "admission_used"] {
        assert!(conflicts.contains(code), "{conflicts}");
    }
    let schemas = &document["components"]["schemas"];
    for schema in ["CreateEvent", "PatchEvent", "AdminEvent"] {
        for field in ["max_units_per_order", "max_units_per_shopper"] {
            assert!(
                schemas[schema]["properties"][field].is_object(),
                "{schema}.{field}"
            );
        }
    }
    let status = &schemas["Order"]["properties"]["status"];
    let state = status["$ref"]
        .as_str()
        .and_then(|reference| reference.rsplit('/').next())
        .map_or(status, |name| &schemas[name]);
    assert!(state.to_string().contains("expired"), "{state}");
}
