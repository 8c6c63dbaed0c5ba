//! The shipped deployment, run natively: Redis with the settings of `docker-compose.yml`, two
//! instances with its environment sharing one signing key, Debian's nginx with
//! `deploy/nginx.conf`, and Prometheus with `deploy/prometheus.yml` and `deploy/alerts.yml`.
//! A short sale is played through nginx, sockets included, as a browser behind it would.
//!
//! The files are read as shipped; only what a container network names differently here is
//! rewritten (service names become loopback ports, `listen 80` a free port, the rule file's path).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::processes::{Running, keygen_file, scratch_dir, wait_ready};
use support::redis_server::{RedisServer, free_port};
use support::scrape::Scrape;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use waitroom::clock::{Clock, SystemClock, to_rfc3339};
use waitroom::domain::Tier;
use waitroom::identity::UserTokens;

/// How to get what this test runs besides waitroom and Redis.
const INSTALL: &str = "the deployment test needs nginx and prometheus \
                       (`apt-get install nginx prometheus` on Debian/Ubuntu)";

/// The compose file, parsed.
fn compose() -> serde_yaml::Value {
    serde_yaml::from_str(&std::fs::read_to_string("docker-compose.yml").unwrap()).unwrap()
}

/// The settings the compose file gives Redis (`command` after the program's name).
fn compose_redis_arguments(compose: &serde_yaml::Value) -> Vec<String> {
    let command = compose["services"]["redis"]["command"]
        .as_sequence()
        .unwrap();
    assert_eq!(command[0].as_str(), Some("redis-server"));
    command[1..]
        .iter()
        .map(|part| part.as_str().unwrap().to_owned())
        .collect()
}

/// The secrets and addresses this host gives an instance in place of the compose file's.
struct Host<'a> {
    listen: String,
    redis_url: &'a str,
    key_file: &'a Path,
    admin_token: &'a str,
    user_secret: &'a str,
}

/// An instance's environment: the compose file's `x-waitroom` environment, every variable of it,
/// with what names the container network or the operator's secrets filled in from `host`.
fn instance_environment(compose: &serde_yaml::Value, host: &Host) -> Vec<(String, String)> {
    let environment = compose["x-waitroom"]["environment"].as_mapping().unwrap();
    environment
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().unwrap().to_owned();
            let shipped = value.as_str().unwrap_or_default().to_owned();
            let value = match name.as_str() {
                "WAITROOM_LISTEN" => host.listen.clone(),
                "WAITROOM_REDIS_URL" => host.redis_url.to_owned(),
                "WAITROOM_SIGNING_KEY_FILE" => host.key_file.display().to_string(),
                "WAITROOM_ADMIN_TOKEN" => host.admin_token.to_owned(),
                "WAITROOM_USER_JWT_SECRET" => host.user_secret.to_owned(),
                "WAITROOM_SIGNING_KID" => String::new(),
                // nginx runs on this host's loopback, not on the compose network.
                "WAITROOM_TRUSTED_PROXIES" => format!("{shipped},127.0.0.0/8"),
                _ => {
                    assert!(
                        !shipped.contains("${"),
                        "{name}: a variable this test does not fill in"
                    );
                    shipped
                }
            };
            (name, value)
        })
        .collect()
}

/// `deploy/nginx.conf` with the instances at `upstreams` and listening on `port`.
fn nginx_config(upstreams: [u16; 2], port: u16) -> String {
    let shipped = std::fs::read_to_string("deploy/nginx.conf").unwrap();
    let config = shipped
        .replace(
            "server waitroom-1:8080",
            &format!("server 127.0.0.1:{}", upstreams[0]),
        )
        .replace(
            "server waitroom-2:8080",
            &format!("server 127.0.0.1:{}", upstreams[1]),
        )
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
        // A test's nginx needs no more connections than the machine allows by default.
        .replace("worker_connections 65536;", "worker_connections 1024;");
    assert_ne!(config, shipped, "the shipped config names the instances");
    config
}

/// `deploy/prometheus.yml` scraping the instances at `ports`, its rules from `rules`.
fn prometheus_config(ports: [u16; 2], rules: &Path) -> String {
    let shipped = std::fs::read_to_string("deploy/prometheus.yml").unwrap();
    let config = shipped
        .replace("waitroom-1:8080", &format!("127.0.0.1:{}", ports[0]))
        .replace("waitroom-2:8080", &format!("127.0.0.1:{}", ports[1]))
        .replace("/etc/prometheus/alerts.yml", &rules.display().to_string());
    assert_ne!(config, shipped, "the shipped config names the instances");
    config
}

fn promtool(arguments: &[&str]) {
    let output = Command::new("promtool")
        .args(arguments)
        .output()
        .expect("promtool (Debian's prometheus package)");
    assert!(
        output.status.success(),
        "promtool {arguments:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Opens the position socket through nginx as a page served by it would: with a socket ticket in
/// the URL and the page's own origin.
async fn open_socket(
    http: &reqwest::Client,
    site: &str,
    event: &str,
    ticket: &str,
    token: &str,
    origin: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    let issued: Value = http
        .post(format!(
            "{site}/v1/events/{event}/tickets/{ticket}/socket-ticket"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let socket_ticket = issued["socket_ticket"].as_str().unwrap();
    let url = format!(
        "{}/v1/events/{event}/tickets/{ticket}/ws?ticket={socket_ticket}",
        site.replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

/// The first frame of `socket` of type `kind` (and `status`, for status frames), reading past
/// the others, within 20 s; with how many position frames came before it.
async fn frame_of(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    kind: &str,
    status: Option<&str>,
) -> (Value, usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut positions = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, socket.next())
            .await
            .unwrap_or_else(|_| panic!("a {kind} frame within 20 s"))
            .expect("the socket stays open")
            .unwrap();
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame["type"] == kind && status.is_none_or(|status| frame["status"] == status) {
                return (frame, positions);
            }
            if frame["type"] == "position" {
                positions += 1;
            }
        }
    }
}

/// The sum of `waitroom_http_requests_total` an instance reports.
async fn requests_served(http: &reqwest::Client, port: u16) -> f64 {
    Scrape::from(http, &format!("http://127.0.0.1:{port}"))
        .await
        .value("waitroom_http_requests_total", &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_deployment_plays_a_sale_through_nginx_with_sockets() {
    let compose = compose();
    let redis_arguments = compose_redis_arguments(&compose);
    let redis_arguments: Vec<&str> = redis_arguments.iter().map(String::as_str).collect();
    let redis = RedisServer::start_with(&redis_arguments);

    // One signing key for both instances, made by the binary as the compose file's comment says.
    let dir = scratch_dir("site");
    let key_file = keygen_file(&dir);

    let admin_token = format!("admin-{}", uuid::Uuid::new_v4().simple());
    let user_secret = format!("shop-secret-{}", uuid::Uuid::new_v4().simple());
    let ports = [free_port(), free_port()];
    let mut instances = Vec::new();
    for port in ports {
        let host = Host {
            listen: format!("127.0.0.1:{port}"),
            redis_url: &redis.url(),
            key_file: &key_file,
            admin_token: &admin_token,
            user_secret: &user_secret,
        };
        let mut command = Command::new(env!("CARGO_BIN_EXE_waitroom"));
        command
            .env_clear()
            .envs(instance_environment(&compose, &host))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        instances.push(Running::start(&mut command, "waitroom", "cargo build"));
    }
    let http = reqwest::Client::new();
    for port in ports {
        wait_ready(&http, &format!("http://127.0.0.1:{port}/readyz")).await;
    }

    // nginx with the shipped configuration in front of both.
    let lb_port = free_port();
    let nginx_dir = scratch_dir("nginx");
    std::fs::write(nginx_dir.join("nginx.conf"), nginx_config(ports, lb_port)).unwrap();
    let globals = format!(
        "daemon off; pid {0}/nginx.pid; error_log {0}/error.log;",
        nginx_dir.display()
    );
    let _nginx = Running::start(
        Command::new("nginx")
            .arg("-p")
            .arg(&nginx_dir)
            .arg("-c")
            .arg(nginx_dir.join("nginx.conf"))
            .args(["-g", &globals])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "nginx",
        INSTALL,
    );
    let site = format!("http://127.0.0.1:{lb_port}");
    wait_ready(&http, &format!("{site}/healthz")).await;

    // The operator opens a sale of three units at one shopper a second.
    let now = SystemClock.now_ms();
    let created = http
        .post(format!("{site}/v1/admin/events"))
        .bearer_auth(&admin_token)
        .json(&json!({
            "id": "behind-nginx", "name": "Behind nginx",
            "starts_at": to_rfc3339(now - 1_000),
            "outflow_per_second": 1, "outflow_burst": 1,
            "admission_ttl_seconds": 120, "abandon_after_seconds": 120,
            "inventory": { "SKU-1": 3 },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "{:?}",
        created.text().await
    );

    // Four signed-in shoppers join and follow their place on a socket, as the queue page does:
    // the page's origin is the site nginx serves, port included.
    let users = UserTokens::with_secret(user_secret.as_bytes(), None, None);
    let mut shoppers = Vec::new();
    for index in 0..4 {
        let token = users
            .issue(&format!("nginx-shopper-{index}"), Tier::Regular, now, 600)
            .unwrap();
        let joined = http
            .post(format!("{site}/v1/events/behind-nginx/tickets"))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(joined.status(), StatusCode::CREATED);
        let ticket: Value = joined.json().await.unwrap();
        let ticket = ticket["ticket_id"].as_str().unwrap().to_owned();
        let socket = open_socket(&http, &site, "behind-nginx", &ticket, &token, &site)
            .await
            .expect("a page served through nginx opens its socket");
        shoppers.push((token, ticket, socket));
    }

    // Another site's page is still refused through nginx.
    let (token, ticket, _) = &shoppers[0];
    let foreign = open_socket(
        &http,
        &site,
        "behind-nginx",
        ticket,
        token,
        "https://elsewhere.example",
    )
    .await;
    assert!(foreign.is_err(), "another site's page opened a socket");

    // The first three hear their admission on the socket (the later ones after hearing their
    // place move) and each buys one unit through nginx; the fourth hears that the stock is gone.
    let mut positions_heard = 0;
    for (token, _, socket) in &mut shoppers[..3] {
        let (admitted, positions) = frame_of(socket, "admitted", None).await;
        positions_heard += positions;
        let admission = admitted["admission_token"].as_str().unwrap();
        let reserved = http
            .post(format!("{site}/v1/events/behind-nginx/checkout"))
            .bearer_auth(&*token)
            .header("Admission-Token", admission)
            .json(&json!({ "items": [{ "sku": "SKU-1", "quantity": 1 }] }))
            .send()
            .await
            .unwrap();
        assert_eq!(reserved.status(), StatusCode::CREATED);
        let order: Value = reserved.json().await.unwrap();
        let paid = http
            .post(format!(
                "{site}/v1/events/behind-nginx/orders/{}/pay",
                order["order_id"].as_str().unwrap()
            ))
            .bearer_auth(&*token)
            .json(&json!({ "payment": { "card_token": "tok_visa" } }))
            .send()
            .await
            .unwrap();
        assert_eq!(paid.status(), StatusCode::OK);
    }
    assert!(positions_heard > 0, "places were pushed over the sockets");
    let (_, _, last) = &mut shoppers[3];
    frame_of(last, "status", Some("sold_out")).await;
    let public: Value = http
        .get(format!("{site}/v1/events/behind-nginx"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public["status"], "sold_out", "{public}");

    // nginx balanced the sale over both instances.
    for port in ports {
        assert!(
            requests_served(&http, port).await > 0.0,
            "the instance on {port} served nothing"
        );
    }

    // Prometheus: the shipped rules and configuration check, and it scrapes both instances.
    let prometheus_dir = scratch_dir("prometheus");
    let rules = prometheus_dir.join("alerts.yml");
    std::fs::copy("deploy/alerts.yml", &rules).unwrap();
    let config = prometheus_dir.join("prometheus.yml");
    std::fs::write(&config, prometheus_config(ports, &rules)).unwrap();
    promtool(&["check", "rules", rules.to_str().unwrap()]);
    promtool(&["check", "config", config.to_str().unwrap()]);
    let prometheus_port = free_port();
    let _prometheus = Running::start(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                prometheus_dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "prometheus",
        INSTALL,
    );
    let targets_url = format!("http://127.0.0.1:{prometheus_port}/api/v1/targets");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut up = 0;
    while Instant::now() < deadline {
        if let Ok(response) = http.get(&targets_url).send().await
            && let Ok(body) = response.json::<Value>().await
        {
            up = body["data"]["activeTargets"]
                .as_array()
                .map(|targets| {
                    targets
                        .iter()
                        .filter(|target| target["health"] == "up")
                        .count()
                })
                .unwrap_or(0);
            if up == 2 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(up, 2, "Prometheus scrapes both instances");

    drop(instances);
    for dir in [dir, nginx_dir, prometheus_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
