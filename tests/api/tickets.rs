//! Joining, reading and leaving the queue; the public state of an event.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use waitroom::clock::to_rfc3339;

use crate::test_app::{START, assert_problem, event_body, spawn_app};

crate::on_both_stores! {
    async fn an_unknown_event_is_not_found() {
        let app = spawn_app().await;
        assert_problem(
            app.get("/v1/events/nothing").await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }

    async fn an_impossible_event_id_is_not_found() {
        let app = spawn_app().await;
        for path in [
            "/v1/events/Bad_Id",
            "/v1/events/-x",
            &format!("/v1/events/{}", "a".repeat(65)),
        ] {
            assert_problem(app.get(path).await, StatusCode::NOT_FOUND, "not_found").await;
        }
    }

    async fn the_public_state_publishes_the_seed_hash_before_the_draw_and_the_seed_after() {
        let app = spawn_app().await;
        let starts_at = START + 60_000;
        let created = app.create_event(&event_body("launch", starts_at, 10)).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let token = app.login("alice").await;
        app.join_ok("launch", &token).await;

        let before: Value = app.get("/v1/events/launch").await.json().await.unwrap();
        assert_eq!(before["status"], "prequeue");
        assert_eq!(before["queue_length"], 1);
        assert_eq!(before["starts_at"], to_rfc3339(starts_at));
        assert!(before["seed_hash"].as_str().unwrap().len() == 64);
        assert!(before.get("seed").is_none());
        assert!(before["estimated_wait_seconds"].as_u64().unwrap() >= 60);

        app.clock.advance_ms(60_000);
        app.drain(&waitroom::domain::EventId::parse("launch").unwrap())
            .await;
        let after: Value = app.get("/v1/events/launch").await.json().await.unwrap();
        assert_eq!(after["status"], "open");
        let seed = after["seed"].as_str().unwrap();
        assert_eq!(
            waitroom::queue::seed_hash(seed),
            after["seed_hash"].as_str().unwrap()
        );
    }

    async fn a_waiting_ticket_tells_its_chance_of_success_once_the_draw_has_placed_it() {
        let app = spawn_app().await;
        let starts_at = START + 60_000;
        let mut body = event_body("scarce", starts_at, 2);
        body["inventory"] = json!({ "SKU-1": 2 });
        body["outflow_burst"] = json!(1);
        body["abandon_after_seconds"] = json!(600);
        assert_eq!(app.create_event(&body).await.status(), StatusCode::CREATED);
        let mut line = Vec::new();
        for user in ["ana", "ben", "cleo", "dev", "eli"] {
            let token = app.login(user).await;
            let ticket = app.join_ok("scarce", &token).await;
            line.push((token, ticket));
        }
        let read = |(token, ticket): &(String, String)| {
            let (app, token, ticket) = (&app, token.clone(), ticket.clone());
            async move {
                let response = app.ticket("scarce", &ticket, &token).await;
                response.json::<Value>().await.unwrap()
            }
        };
        let before_the_draw = read(&line[0]).await;

        app.clock.advance_ms(60_000);
        app.drain(&waitroom::domain::EventId::parse("scarce").unwrap())
            .await;
        let mut waiting = Vec::new();
        for shopper in &line {
            let ticket = read(shopper).await;
            if ticket["status"] == "waiting" {
                waiting.push(ticket);
            }
        }

        assert!(before_the_draw["chance_of_success"].is_null(), "{before_the_draw}");
        assert_eq!(waiting.len(), 4, "one admitted by the burst: {waiting:?}");
        waiting.sort_by_key(|t| t["position"].as_u64().unwrap());
        let chances: Vec<f64> = waiting
            .iter()
            .map(|t| t["chance_of_success"].as_f64().unwrap())
            .collect();
        // Two units and nothing measured yet: everyone ahead counts as a buyer, and shoppers
        // are assumed to reach the checkout seconds apart while the line moves ten a second, a
        // shopper reading their ticket (polling) later than most. So the next ones may pass one
        // another, and a polling shopper is more likely passed than passing: the first in line
        // has the best chance, under even, and it falls with every place.
        assert!(chances[0] < 0.5 && chances[3] > 0.0, "{waiting:?}");
        assert!(chances.windows(2).all(|pair| pair[0] > pair[1]), "{waiting:?}");

        // Joining again answers with the same ticket, but a join's answer does not know yet
        // whether its page will poll or open a socket: it tells the crowd's chance, better than
        // a polling page's at the same place, and a read after it is told the polling one again.
        let first = &waiting[0];
        let (token, _) = line
            .iter()
            .find(|(_, ticket)| first["ticket_id"] == ticket.as_str())
            .unwrap();
        let joined = app.join("scarce", Some(token)).await;
        assert_eq!(joined.status(), StatusCode::OK);
        let joined: Value = joined.json().await.unwrap();
        assert_eq!(joined["position"], first["position"], "{joined}");
        let told_on_joining = joined["chance_of_success"].as_f64().unwrap();
        assert!(told_on_joining > chances[0], "{joined} against {first}");
        let read_again = app.ticket("scarce", first["ticket_id"].as_str().unwrap(), token).await;
        let read_again: Value = read_again.json().await.unwrap();
        assert_eq!(read_again["chance_of_success"], first["chance_of_success"]);
    }

    async fn a_first_join_creates_a_ticket_and_a_second_returns_the_same() {
        let app = spawn_app().await;
        app.open_event("sale", 10).await;
        let token = app.login("alice").await;

        let first = app.join("sale", Some(&token)).await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        let second = app.join("sale", Some(&token)).await;
        assert_eq!(second.status(), StatusCode::OK);
        let second: Value = second.json().await.unwrap();

        assert_eq!(first["ticket_id"], second["ticket_id"]);
        assert_eq!(first["event"], "sale");
        assert_eq!(first["status"], "waiting");
        assert_eq!(first["position"], 1);
        assert_eq!(first["eta_seconds"], 1);
        assert_eq!(first["joined_at"], to_rfc3339(START));
    }

    async fn joining_without_credentials_is_unauthenticated_when_visitors_are_not_allowed() {
        let app = spawn_app().await;
        app.open_event("sale", 10).await;
        let response = app.join("sale", None).await;
        assert!(response.headers().contains_key("www-authenticate"));
        assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }

    async fn a_bad_or_expired_user_token_is_unauthenticated() {
        let app = spawn_app().await;
        app.open_event("sale", 10).await;
        let expired = app.user_token_at("alice", START - 7_200_000, 3600);
        for token in ["not-a-jwt", "a.b.c", expired.as_str()] {
            assert_problem(
                app.join("sale", Some(token)).await,
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
            )
            .await;
        }
        let response = app
            .request(Method::POST, "/v1/events/sale/tickets")
            .header("Authorization", "Basic YWxpY2U6c2VjcmV0")
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }

    async fn an_anonymous_visitor_gets_a_signed_identity_and_keeps_it() {
        let app = spawn_app().await;
        let mut body = event_body("open-sale", START, 10);
        body["allow_anonymous"] = json!(true);
        assert_eq!(app.create_event(&body).await.status(), StatusCode::CREATED);

        let first = app.join("open-sale", None).await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let cookie = first.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("waitroom_visitor="));
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        let first: Value = first.json().await.unwrap();
        let visitor_token = first["visitor_token"].as_str().unwrap();

        let by_token = app.join("open-sale", Some(visitor_token)).await;
        assert_eq!(by_token.status(), StatusCode::OK);
        let by_cookie = app
            .request(Method::POST, "/v1/events/open-sale/tickets")
            .header("Cookie", cookie.split(';').next().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(by_cookie.status(), StatusCode::OK);
        let by_cookie: Value = by_cookie.json().await.unwrap();
        assert_eq!(by_cookie["ticket_id"], first["ticket_id"]);

        let ticket = first["ticket_id"].as_str().unwrap();
        let read = app.ticket("open-sale", ticket, visitor_token).await;
        assert_eq!(read.status(), StatusCode::OK);
    }

    async fn joining_before_the_queue_opens_or_after_the_close_is_a_conflict() {
        let app = spawn_app().await;
        let mut body = event_body("later", START + 3_600_000, 10);
        body["prequeue_opens_at"] = json!(to_rfc3339(START + 1_800_000));
        assert_eq!(app.create_event(&body).await.status(), StatusCode::CREATED);
        let token = app.login("alice").await;
        assert_problem(
            app.join("later", Some(&token)).await,
            StatusCode::CONFLICT,
            "event_not_open",
        )
        .await;

        app.open_event("over", 10).await;
        let closed = app
            .admin(Method::PATCH, "/v1/admin/events/over")
            .json(&json!({ "status": "closed" }))
            .send()
            .await
            .unwrap();
        assert_eq!(closed.status(), StatusCode::OK);
        assert_problem(
            app.join("over", Some(&token)).await,
            StatusCode::CONFLICT,
            "event_closed",
        )
        .await;
    }

    async fn joining_an_unknown_event_is_not_found() {
        let app = spawn_app().await;
        let token = app.login("alice").await;
        assert_problem(
            app.join("nothing", Some(&token)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }

    async fn a_ticket_is_visible_to_its_owner_only() {
        let app = spawn_app().await;
        app.open_event("sale", 10).await;
        let alice = app.login("alice").await;
        let bob = app.login("bob").await;
        let ticket = app.join_ok("sale", &alice).await;
        app.join_ok("sale", &bob).await;

        let own = app.ticket("sale", &ticket, &alice).await;
        assert_eq!(own.status(), StatusCode::OK);
        let own: Value = own.json().await.unwrap();
        assert_eq!(own["position"], 1);
        assert!(own.get("admission_token").is_none());
        assert_problem(
            app.ticket("sale", &ticket, &bob).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_problem(
            app.ticket("sale", "not-a-uuid", &alice).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let anonymous = app.get(&format!("/v1/events/sale/tickets/{ticket}")).await;
        assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }

    async fn leaving_answers_no_content_every_time_and_the_place_is_gone() {
        let app = spawn_app().await;
        app.open_event("sale", 10).await;
        let alice = app.login("alice").await;
        let bob = app.login("bob").await;
        let ticket = app.join_ok("sale", &alice).await;
        let path = format!("/v1/events/sale/tickets/{ticket}");

        let by_bob = app
            .request(Method::DELETE, &path)
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap();
        assert_problem(by_bob, StatusCode::NOT_FOUND, "not_found").await;
        let left = app
            .request(Method::DELETE, &path)
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        assert_eq!(left.status(), StatusCode::NO_CONTENT);

        let state: Value = app.get("/v1/events/sale").await.json().await.unwrap();
        assert_eq!(state["queue_length"], 0);
        let again = app
            .request(Method::DELETE, &path)
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        assert_eq!(
            again.status(),
            StatusCode::NO_CONTENT,
            "leaving is idempotent: a retried leave is not told the ticket is unknown"
        );
        let state: Value = app.get("/v1/events/sale").await.json().await.unwrap();
        assert_eq!(state["queue_length"], 0, "the second leave changed nothing");
    }

    async fn positions_follow_the_order_of_arrival_after_the_start() {
        let app = spawn_app().await;
        app.open_event("sale", 10).await;
        let mut tickets = Vec::new();
        for user in ["u1", "u2", "u3"] {
            let token = app.login(user).await;
            let ticket = app.join_ok("sale", &token).await;
            tickets.push((token, ticket));
        }
        for (expected, (token, ticket)) in tickets.iter().enumerate() {
            let body: Value = app
                .ticket("sale", ticket, token)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(body["position"], expected as u64 + 1);
        }
    }
}
