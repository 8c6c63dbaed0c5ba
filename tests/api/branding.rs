//! The `page` setting: an event's branding of the shoppers' pages, set by operators and read by
//! the pages from the public event state.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::test_app::{TestApp, assert_field_error, event_body, spawn_app};

/// A page with every part set; its text colour is too pale to read on its background.
fn branded_page() -> Value {
    json!({
        "title": { "en": "Spring drop", "fr": "Lancement de printemps", "ar": "إطلاق الربيع" },
        "message": "Limited stock: one per customer.",
        "logo_url": "https://cdn.shop.example/logo.svg",
        "colors": { "primary": "#0B5FFF", "background": "#ffffff", "text": "#cccccc" },
        "links": [
            { "label": { "en": "Help", "fr": "Aide" }, "url": "https://shop.example/help" },
            { "label": "Terms", "url": "https://shop.example/terms" }
        ]
    })
}

async fn create_branded(app: &TestApp, id: &str) {
    let mut body = event_body(id, app.now(), 10);
    body["page"] = branded_page();
    let response = app.create_event(&body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn public_page(app: &TestApp, id: &str) -> Value {
    let response = app.get(&format!("/v1/events/{id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let event: Value = response.json().await.unwrap();
    event["page"].clone()
}

async fn admin_page(app: &TestApp, id: &str) -> Value {
    app.admin_json(Method::GET, &format!("/v1/admin/events/{id}"), None)
        .await["page"]
        .clone()
}

async fn patch(app: &TestApp, id: &str, body: &Value) -> reqwest::Response {
    app.admin(Method::PATCH, &format!("/v1/admin/events/{id}"))
        .json(body)
        .send()
        .await
        .unwrap()
}

crate::on_both_stores! {
    async fn a_branded_event_shows_its_page_to_operators_and_shoppers() {
        let app = spawn_app().await;
        create_branded(&app, "drop").await;

        let set = admin_page(&app, "drop").await;
        assert_eq!(set["title"]["ar"], "إطلاق الربيع");
        assert_eq!(set["colors"]["primary"], "#0b5fff", "colours are kept lower case");
        assert_eq!(set["colors"]["text"], "#cccccc", "operators see what they set");

        let shown = public_page(&app, "drop").await;
        assert_eq!(shown["title"]["fr"], "Lancement de printemps");
        assert_eq!(shown["message"], "Limited stock: one per customer.");
        assert_eq!(shown["logo_url"], "https://cdn.shop.example/logo.svg");
        assert_eq!(shown["links"][0]["label"]["fr"], "Aide");
        assert_eq!(shown["links"][1]["url"], "https://shop.example/terms");
        // #cccccc on white is 1.6:1: shoppers' pages get black instead.
        assert_eq!(shown["colors"]["text"], "#000000");
        assert_eq!(shown["colors"]["background"], "#ffffff");
        assert_eq!(shown["colors"]["on_primary"], "#ffffff");
        assert_eq!(shown["colors"]["adjusted"], true);
    }

    async fn the_page_stays_through_a_change_of_another_setting() {
        let app = spawn_app().await;
        let mut body = event_body("drop", app.now(), 10);
        body["page"] = json!({ "title": "Drop" });
        assert_eq!(app.create_event(&body).await.status(), StatusCode::CREATED);

        let response = patch(&app, "drop", &json!({ "status": "paused", "name": "Renamed" })).await;
        assert_eq!(response.status(), StatusCode::OK);

        let shown = public_page(&app, "drop").await;
        assert_eq!(shown["title"], "Drop");
        assert_eq!(shown["links"], json!([]));
    }

    async fn an_event_without_branding_sends_no_page() {
        let app = spawn_app().await;
        app.open_event("plain", 5).await;
        assert_eq!(public_page(&app, "plain").await, Value::Null);
        assert_eq!(admin_page(&app, "plain").await, Value::Null);
    }

    async fn a_change_replaces_the_page_and_null_removes_it() {
        let app = spawn_app().await;
        create_branded(&app, "drop").await;

        let response = patch(&app, "drop", &json!({ "page": { "title": "Now open" } })).await;
        assert_eq!(response.status(), StatusCode::OK);
        let shown = public_page(&app, "drop").await;
        assert_eq!(shown["title"], "Now open");
        assert_eq!(shown["links"], json!([]), "the page is replaced whole");

        let response = patch(&app, "drop", &json!({ "page": null })).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(public_page(&app, "drop").await, Value::Null);
        assert_eq!(admin_page(&app, "drop").await, Value::Null);
    }

    async fn every_invalid_page_is_refused_and_changes_nothing() {
        let app = spawn_app().await;
        create_branded(&app, "drop").await;
        let before = admin_page(&app, "drop").await;
        let long = "x".repeat(201);
        let link = json!({ "label": "Help", "url": "https://shop.example/help" });
        let cases = [
            (json!({ "logo_url": "javascript:alert(1)" }), "page.logo_url"),
            (json!({ "logo_url": "data:image/png;base64,AAAA" }), "page.logo_url"),
            (json!({ "logo_url": "http://cdn.shop.example/logo.png" }), "page.logo_url"),
            (json!({ "logo_url": "//evil.example/logo.png" }), "page.logo_url"),
            (json!({ "title": long }), "page.title"),
            (json!({ "title": "" }), "page.title"),
            (json!({ "title": { "english": "Drop" } }), "page.title"),
            (json!({ "title": 7 }), "page.title"),
            (json!({ "message": { "en": "x".repeat(2001) } }), "page.message"),
            (json!({ "colors": { "primary": "blue", "background": "#ffffff", "text": "#000000" } }), "page.colors.primary"),
            (json!({ "colors": { "primary": "#fff", "background": "#ffffff", "text": "#000000" } }), "page.colors.primary"),
            (json!({ "colors": { "primary": "#0b5fff", "background": "#ffffff" } }), "page.colors.text"),
            (json!({ "links": [link.clone(), link.clone(), link.clone(), link.clone(), link.clone(), link.clone()] }), "page.links"),
            (json!({ "links": [{ "label": "Help", "url": "javascript:alert(1)" }] }), "page.links[0].url"),
            (json!({ "links": [{ "label": "Help", "url": "http://shop.example" }] }), "page.links[0].url"),
            (json!({ "links": [{ "label": "", "url": "https://shop.example" }] }), "page.links[0].label"),
            (json!({ "font": "Comic Sans" }), "page.font"),
        ];
        for (page, field) in cases {
            let response = patch(&app, "drop", &json!({ "page": page })).await;
            assert_field_error(response, field).await;
            let mut body = event_body("other", app.now(), 1);
            body["page"] = page.clone();
            assert_field_error(app.create_event(&body).await, field).await;
        }
        assert_eq!(admin_page(&app, "drop").await, before, "nothing changed");
        let listed = app.admin_json(Method::GET, "/v1/admin/events", None).await;
        assert!(!listed.to_string().contains("\"other\""), "no event was created");
    }

    async fn a_script_in_a_title_is_kept_as_plain_text() {
        let app = spawn_app().await;
        let mut body = event_body("drop", app.now(), 10);
        body["page"] = json!({ "title": "<script>alert(1)</script>" });
        assert_eq!(app.create_event(&body).await.status(), StatusCode::CREATED);
        assert_eq!(
            public_page(&app, "drop").await["title"],
            "<script>alert(1)</script>"
        );
    }
}
