//! Redis-backed rate-limit decisions per second at 64 concurrent callers, against
//! `redis-benchmark` running a minimal `EVALSHA` (`return 1`) on the same Redis, in the same run.
//!
//! `cargo bench --bench ratelimit_redis` starts a private `redis-server`, then alternates three
//! rounds of each (A B A B A B): our limiter (rule matching, identity, one EVALSHA per decision,
//! a new random client key each time, server time) driven by 64 tasks on one tokio thread for
//! 5 s, and `redis-benchmark -c 64` (one thread as well). It prints each round and the medians.
//! Set `WAITROOM_BENCH_SECONDS` to change the length of a round.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method};
use waitroom::clock::{Clock, SystemClock};
use waitroom::ratelimit::compile;
use waitroom::ratelimit::limiter::{RateLimiter, RequestInfo, Verdict};
use waitroom::ratelimit::rules::{Algorithm, RuleSetConfig};
use waitroom::ratelimit::span::Span;
use waitroom::ratelimit::store::RedisRateLimitStore;

const CALLERS: usize = 64;
const PATH: &str = "/v1/events/spring-sale/tickets/4f9c7a52-2b8e-4f43-9c0e-8f1f2d6b7a10";

struct Server {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Server {
    fn start() -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(6390);
        let dir = std::env::temp_dir().join(format!("waitroom-bench-redis-{port}"));
        let _ = std::fs::create_dir_all(&dir);
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("redis-server must be on PATH: {error}"));
        let server = Server { child, port, dir };
        for _ in 0..200 {
            if server.cli(&["PING"]).trim() == "PONG" {
                return server;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start");
    }

    fn cli(&self, args: &[&str]) -> String {
        Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn limiter(store: RedisRateLimitStore) -> RateLimiter {
    let mut config = RuleSetConfig::shipped().unwrap_or_default();
    for rule in config.rules.iter_mut().filter(|rule| !rule.exempt) {
        rule.limit = 1_000_000;
        rule.period = Some(Span::from_secs(1));
        rule.burst = (rule.algorithm != Some(Algorithm::SlidingWindow)).then_some(1000);
    }
    let rules = compile(&config, None).unwrap_or_else(|e| panic!("bench rules: {e:?}"));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    RateLimiter::new(rules, Arc::new(store), clock)
}

/// Decisions per second, p50 and p99 (µs) of our limiter over `seconds`.
fn ours(url: &str, seconds: u64, round: u32) -> (f64, u64, u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime.block_on(async {
        let store = RedisRateLimitStore::connect(url)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        let limiter = Arc::new(limiter(store));
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let tasks: Vec<_> = (0..CALLERS)
            .map(|caller| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    let headers = HeaderMap::new();
                    let mut latencies = Vec::new();
                    let mut n: u32 = 0;
                    while Instant::now() < deadline {
                        n = n.wrapping_add(1);
                        // A new client each time: random keys, as real traffic spreads.
                        let seed = (round << 28) ^ ((caller as u32) << 20) ^ n;
                        let info = RequestInfo {
                            method: &Method::GET,
                            path: PATH,
                            query: None,
                            peer: IpAddr::V4(Ipv4Addr::from(seed.wrapping_mul(2_654_435_761))),
                            group: None,
                            headers: &headers,
                        };
                        let t = Instant::now();
                        let verdict = limiter.check(&info).await;
                        latencies.push(t.elapsed().as_micros() as u64);
                        assert!(matches!(verdict, Verdict::Allowed { .. }), "{verdict:?}");
                    }
                    latencies
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap_or_default());
        }
        let rate = all.len() as f64 / started.elapsed().as_secs_f64();
        all.sort_unstable();
        let at = |p: f64| {
            all.get(((all.len() as f64 - 1.0) * p) as usize)
                .copied()
                .unwrap_or(0)
        };
        (rate, at(0.5), at(0.99))
    })
}

/// `redis-benchmark`'s requests per second for `EVALSHA <return 1> 0` at 64 connections.
fn baseline(server: &Server, sha: &str, requests: u64) -> f64 {
    let output = Command::new("redis-benchmark")
        .args(["-p", &server.port.to_string(), "-c", &CALLERS.to_string()])
        .args(["-n", &requests.to_string(), "-q", "EVALSHA", sha, "0"])
        .output()
        .unwrap_or_else(|e| panic!("redis-benchmark must be on PATH: {e}"));
    let text = String::from_utf8_lossy(&output.stdout);
    text.rsplit(':')
        .next()
        .and_then(|tail| tail.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected redis-benchmark output: {text}"))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let seconds = std::env::var("WAITROOM_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let server = Server::start();
    let url = format!("redis://127.0.0.1:{}/", server.port);
    let sha = server
        .cli(&["SCRIPT", "LOAD", "return 1"])
        .trim()
        .to_owned();
    println!("Redis decisions at {CALLERS} concurrent callers, {seconds} s rounds, A B A B A B:");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..3 {
        let (rate, p50, p99) = ours(&url, seconds, round);
        println!(
            "  waitroom limiter:          {rate:>9.0} decisions/s  p50 {p50} µs  p99 {p99} µs"
        );
        let requests = (rate as u64 * seconds).max(100_000);
        let base = baseline(&server, &sha, requests);
        println!("  redis-benchmark EVALSHA:   {base:>9.0} requests/s");
        a.push(rate);
        b.push(base);
    }
    let (a, b) = (median(&mut a), median(&mut b));
    println!(
        "  medians: waitroom {a:.0}/s, EVALSHA {b:.0}/s, ratio {:.2}",
        a / b.max(1.0)
    );
    println!("  keys left in Redis: {}", server.cli(&["DBSIZE"]).trim());
}
