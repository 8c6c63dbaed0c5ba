//! A whole flash sale over HTTP: pre-queue, draw, outflow, admission, checkout, payment, sold out.

use reqwest::StatusCode;
use serde_json::{Value, json};
use waitroom::domain::EventId;

use crate::test_app::{START, TestApp, assert_problem, spawn_app};

/// Joins `count` shoppers; returns (user token, ticket id) in order of arrival.
async fn join_shoppers(app: &TestApp, count: usize) -> Vec<(String, String)> {
    let mut shoppers = Vec::new();
    for index in 0..count {
        let token = app.login(&format!("shopper-{index}")).await;
        let ticket = app.join_ok("flash", &token).await;
        shoppers.push((token, ticket));
    }
    shoppers
}

async fn ticket_of(app: &TestApp, shopper: &(String, String)) -> Value {
    app.ticket("flash", &shopper.1, &shopper.0)
        .await
        .json()
        .await
        .unwrap()
}

crate::on_both_stores! {
    async fn a_flash_sale_runs_from_pre_queue_to_sold_out() {
        let app = spawn_app().await;
        let event = EventId::parse("flash").unwrap();
        let body = json!({
            "id": "flash", "name": "Flash sale",
            "starts_at": waitroom::clock::to_rfc3339(START + 60_000),
            "outflow_per_second": 2, "outflow_burst": 2,
            "admission_ttl_seconds": 120, "abandon_after_seconds": 300,
            "inventory": { "SKU-1": 3 },
        });
        assert_eq!(app.create_event(&body).await.status(), StatusCode::CREATED);

        // Six shoppers arrive in the pre-queue: nobody has a place yet.
        let shoppers = join_shoppers(&app, 6).await;
        for shopper in &shoppers {
            let ticket = ticket_of(&app, shopper).await;
            assert_eq!(ticket["status"], "waiting");
            assert_eq!(ticket["position"], Value::Null);
        }

        // The start: the draw gives everyone a place 1..=6, the burst admits two.
        app.clock.advance_ms(60_000);
        app.drain(&event).await;
        let mut places = Vec::new();
        let mut admitted = Vec::new();
        for shopper in &shoppers {
            let ticket = ticket_of(&app, shopper).await;
            match ticket["status"].as_str().unwrap() {
                "admitted" => admitted.push((shopper.clone(), ticket)),
                "waiting" => places.push(ticket["position"].as_u64().unwrap()),
                other => panic!("unexpected status {other}"),
            }
        }
        places.sort_unstable();
        assert_eq!(admitted.len(), 2);
        assert_eq!(places, vec![1, 2, 3, 4]);

        // One more second lets two more through, at the configured rate.
        app.clock.advance_ms(1_000);
        app.drain(&event).await;
        let public: Value = app.get("/v1/events/flash").await.json().await.unwrap();
        assert_eq!(public["queue_length"], 2);
        assert_eq!(public["serving"], 4);

        // The first two admitted shoppers buy the three units; the third is too late.
        let mut buyers = Vec::new();
        for shopper in &shoppers {
            let ticket = ticket_of(&app, shopper).await;
            if ticket["status"] == "admitted" {
                buyers.push((
                    shopper.0.clone(),
                    ticket["admission_token"].as_str().unwrap().to_owned(),
                ));
            }
        }
        assert_eq!(buyers.len(), 4);
        let two = json!({ "items": [{ "sku": "SKU-1", "quantity": 2 }] });
        let one = json!({ "items": [{ "sku": "SKU-1", "quantity": 1 }] });
        let first = app
            .checkout("flash", Some(&buyers[0].0), Some(&buyers[0].1), None, &two)
            .await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let order: Value = first.json().await.unwrap();
        let second = app
            .checkout("flash", Some(&buyers[1].0), Some(&buyers[1].1), None, &one)
            .await;
        assert_eq!(second.status(), StatusCode::CREATED);
        let third = app
            .checkout("flash", Some(&buyers[2].0), Some(&buyers[2].1), None, &one)
            .await;
        assert_problem(third, StatusCode::CONFLICT, "sold_out").await;

        // Paying keeps the units sold; the event is sold out and turns new shoppers away.
        let paid = app
            .pay("flash", order["order_id"].as_str().unwrap(), &buyers[0].0)
            .await;
        assert_eq!(paid.status(), StatusCode::OK);
        let public: Value = app.get("/v1/events/flash").await.json().await.unwrap();
        assert_eq!(public["status"], "sold_out");
        assert_eq!(public["units_left"], 0);
        let late = app.login("late").await;
        assert_problem(
            app.join("flash", Some(&late)).await,
            StatusCode::CONFLICT,
            "sold_out",
        )
        .await;

        // The lottery is verifiable: the published seed reproduces the published hash.
        let seed = public["seed"].as_str().unwrap();
        assert_eq!(
            waitroom::queue::seed_hash(seed),
            public["seed_hash"].as_str().unwrap()
        );
    }
}
