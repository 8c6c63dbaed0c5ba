//! Rate-limit rules stored through the admin API reach every instance on one Redis within a
//! second, survive a restart, win over the rules file until dropped, and a bad set changes
//! nothing anywhere.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use waitroom::app::{build_with_clock, run};
use waitroom::clock::SystemClock;
use waitroom::config::{Settings, StoreSettings};

use crate::admin_app::ADMIN_TOKEN;
use crate::support::redis_server::RedisServer;

const FILE_RULES: &str = r#"
[adaptive]
enabled = false
[[rules]]
name = "from-file"
limit = 10000
period = "1m"
"#;

/// One instance on the test's Redis, following `rules_file`.
struct Instance {
    base: String,
    http: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

impl Instance {
    async fn start(redis: &RedisServer, rules_file: &Path) -> Instance {
        let mut table = toml::Table::new();
        table.insert(
            "file".into(),
            toml::Value::String(rules_file.display().to_string()),
        );
        let settings = Settings {
            store: StoreSettings::Redis {
                urls: vec![redis.url()],
            },
            admin_token: Some(ADMIN_TOKEN.to_owned()),
            ratelimit: Some(table),
            ..Settings::default()
        };
        let app = build_with_clock(settings, Arc::new(SystemClock))
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(run(app, listener, async move {
            let _ = stopped.await;
        }));
        Instance {
            base,
            http: reqwest::Client::new(),
            _stop: stop,
        }
    }

    async fn rules(&self, method: Method, body: Option<Value>) -> Response {
        let mut request = self
            .http
            .request(method, format!("{}/v1/admin/ratelimit", self.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// The source and version of the rules in force, and the name of their first rule.
    async fn in_force(&self) -> (String, String, String) {
        let answer = self.rules(Method::GET, None).await;
        assert_eq!(answer.status(), StatusCode::OK);
        let (source, version) = origin(&answer);
        let body: Value = answer.json().await.unwrap();
        let first = body["rules"][0]["name"].as_str().unwrap_or("").to_owned();
        (source, version, first)
    }

    /// Waits at most a second for the rules in force to be `expected`; how long it took.
    async fn sees_within_a_second(&self, expected: (&str, &str, &str)) -> Duration {
        let since = Instant::now();
        loop {
            let (source, version, first) = self.in_force().await;
            if (source.as_str(), version.as_str(), first.as_str()) == expected {
                return since.elapsed();
            }
            assert!(
                since.elapsed() < Duration::from_secs(1),
                "still {source} v{version} ({first}) after a second, expected {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn audit(&self) -> Vec<Value> {
        let answer = self
            .http
            .get(format!("{}/v1/admin/audit", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let body: Value = answer.json().await.unwrap();
        body["entries"].as_array().unwrap().clone()
    }
}

fn origin(answer: &Response) -> (String, String) {
    let header = |name: &str| {
        answer
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    (
        header("Waitroom-Rules-Source"),
        header("Waitroom-Rules-Version"),
    )
}

fn rules_file() -> PathBuf {
    let path = std::env::temp_dir().join(format!("waitroom-rules-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&path, FILE_RULES).unwrap();
    path
}

fn stored_rules() -> Value {
    json!({
        "adaptive": {"enabled": false},
        "rules": [{"name": "stored", "limit": 5000, "period": "1m"}],
    })
}

#[tokio::test]
async fn rules_put_on_one_instance_are_in_force_on_the_other_within_a_second() {
    let redis = RedisServer::start();
    let file = rules_file();
    let a = Instance::start(&redis, &file).await;
    let b = Instance::start(&redis, &file).await;
    assert_eq!(
        b.in_force().await,
        ("file".into(), "0".into(), "from-file".into())
    );

    let put = a.rules(Method::PUT, Some(stored_rules())).await;

    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(origin(&put), ("store".into(), "1".into()));
    let took = b.sees_within_a_second(("store", "1", "stored")).await;
    eprintln!("the other instance applied the stored rules after {took:?}");
    let entry = a
        .audit()
        .await
        .into_iter()
        .find(|entry| entry["action"] == "ratelimit.replace")
        .expect("the change is audited");
    assert!(
        entry["actor"].as_str().unwrap().starts_with("admin:"),
        "{entry}"
    );
    let author = redis.cli(&["HGET", "wr:rl:rules", "author"]);
    assert_eq!(author.trim(), entry["actor"].as_str().unwrap());
}

#[tokio::test]
async fn a_restarted_instance_starts_with_the_stored_rules() {
    let redis = RedisServer::start();
    let file = rules_file();
    let a = Instance::start(&redis, &file).await;
    assert_eq!(
        a.rules(Method::PUT, Some(stored_rules())).await.status(),
        StatusCode::OK
    );
    drop(a);

    let restarted = Instance::start(&redis, &file).await;

    // No wait: the stored rules are read before the first request is served.
    assert_eq!(
        restarted.in_force().await,
        ("store".into(), "1".into(), "stored".into())
    );
}

#[tokio::test]
async fn dropping_the_stored_rules_returns_every_instance_to_its_file() {
    let redis = RedisServer::start();
    let file = rules_file();
    let a = Instance::start(&redis, &file).await;
    let b = Instance::start(&redis, &file).await;
    assert_eq!(
        a.rules(Method::PUT, Some(stored_rules())).await.status(),
        StatusCode::OK
    );
    b.sees_within_a_second(("store", "1", "stored")).await;

    let dropped = b.rules(Method::DELETE, None).await;

    assert_eq!(dropped.status(), StatusCode::OK);
    assert_eq!(origin(&dropped), ("file".into(), "2".into()));
    let body: Value = dropped.json().await.unwrap();
    assert_eq!(body["rules"][0]["name"], "from-file");
    a.sees_within_a_second(("file", "2", "from-file")).await;
    let entry = b
        .audit()
        .await
        .into_iter()
        .find(|entry| entry["action"] == "ratelimit.delete")
        .expect("the drop is audited");
    assert!(entry["actor"].as_str().unwrap().starts_with("admin:"));
    assert_eq!(entry["after"]["rules"][0]["name"], "from-file");
}

#[tokio::test]
async fn bad_rules_are_a_422_problem_and_change_nothing_anywhere() {
    let redis = RedisServer::start();
    let file = rules_file();
    let a = Instance::start(&redis, &file).await;
    let b = Instance::start(&redis, &file).await;

    let refused = a
        .rules(
            Method::PUT,
            Some(json!({"rules": [{"name": "broken", "limit": 5, "period": "soon"}]})),
        )
        .await;

    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "validation_failed", "{problem}");
    assert_eq!(redis.cli(&["EXISTS", "wr:rl:rules"]).trim(), "0");
    for instance in [&a, &b] {
        assert_eq!(
            instance.in_force().await,
            ("file".into(), "0".into(), "from-file".into())
        );
    }
}
