//! A crowd behind one address (a carrier's NAT, a campus, an office): every request of these
//! tests comes from 127.0.0.1, as thousands of real shoppers' requests would come from one
//! address, through the shipped rate-limit rules.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::json;

use crate::test_app::{START, event_body, spawn_app};

crate::on_both_stores! {
    async fn signed_in_shoppers_behind_one_address_join_and_wait_unrefused() {
        let app = spawn_app().await;
        app.open_event("crowd", 1_000).await;
        let mut statuses = BTreeSet::new();
        let mut tickets = Vec::new();
        for shopper in 0..300 {
            let token = app.login(&format!("shopper-{shopper}")).await;
            let event = app.get("/v1/events/crowd").await;
            statuses.insert(event.status());
            let ticket = app.join_ok("crowd", &token).await;
            tickets.push((token, ticket));
        }
        for _ in 0..3 {
            for (token, ticket) in &tickets {
                statuses.insert(app.ticket("crowd", ticket, token).await.status());
                statuses.insert(app.get("/v1/events/crowd").await.status());
            }
        }
        assert_eq!(statuses, BTreeSet::from([StatusCode::OK]), "nobody refused");
    }

    async fn anonymous_abuse_bans_the_address_for_anonymous_traffic_only() {
        let app = spawn_app().await;
        let mut body = event_body("open-door", START, 100);
        body["allow_anonymous"] = json!(true);
        assert_eq!(app.create_event(&body).await.status(), StatusCode::CREATED);
        let mut refused = None;
        for _ in 0..400 {
            let status = app.join("open-door", None).await.status();
            if status == StatusCode::FORBIDDEN {
                refused = Some(status);
                break;
            }
        }
        assert_eq!(refused, Some(StatusCode::FORBIDDEN), "minting visitors ends in a ban");
        let bans = app
            .admin(reqwest::Method::GET, "/v1/admin/bans")
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        assert_eq!(bans["bans"][0]["key"], "ip:127.0.0.1");
        assert_eq!(bans["bans"][0]["scope"], "anonymous");

        // Signed in with the shop (the dev sign-in route is anonymous traffic of the address).
        let token = app.user_token_at("signed-in-behind-the-same-address", app.now(), 3_600);
        let joined = app.join("open-door", Some(&token)).await;
        assert_eq!(joined.status(), StatusCode::CREATED, "a verified shopper still joins");
        assert_eq!(app.get("/v1/events/open-door").await.status(), StatusCode::OK, "the page still reads");
    }
}
