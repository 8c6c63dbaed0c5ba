//! What the rate-limit tests share (and `tests/alerts.rs`): a limiter over either store with a
//! manual clock, and requests made in one line.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, Method};
use waitroom::clock::{Clock, ManualClock};
use waitroom::domain::Tier;
use waitroom::ratelimit::compile;
use waitroom::ratelimit::identity::{TrustedProxies, UserVerifier, VerifiedUser};
use waitroom::ratelimit::limiter::{RateLimiter, RequestInfo, Verdict};
use waitroom::ratelimit::rules::RuleSetConfig;
use waitroom::ratelimit::store::{MemoryRateLimitStore, RateLimitStore, RedisRateLimitStore};

use crate::support::redis_server::RedisServer;
use crate::support::stores::Backend;

/// A time well after the epoch, on a minute boundary.
pub const START_MS: i64 = 1_800_000_000_000;

/// One rule of 10 a minute with every penalty stage close together: delayed from the second
/// violation, a reduced limit from the fourth, banned from the sixth (1 min, then 5, then 30).
pub const STRICT_PENALTIES: &str = r#"
[adaptive]
enabled = false
[penalties]
decay = "1h"
delay_after = 2
delay_step = "250ms"
max_delay = "1s"
reduce_after = 4
reduce_factor = 0.5
ban_after = 6
ban_lengths = ["1m", "5m", "30m"]
[[rules]]
name = "api"
limit = 10
period = "1m"
"#;

/// Penalties and adaptation off, so that counts are exact.
pub const QUIET: &str = r#"
[adaptive]
enabled = false
[penalties]
delay_after = 0
reduce_after = 0
ban_after = 0
"#;

/// Tokens `token:<user>:<tier>` verify as that user and tier, `token:<user>:operator` as the
/// operator (admin tier); anything else does not.
pub struct TestTokens;

impl UserVerifier for TestTokens {
    fn verify(&self, token: &str, _now_ms: i64) -> Option<VerifiedUser> {
        let mut parts = token.split(':');
        let (Some("token"), Some(id), Some(tier)) = (parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if tier == "operator" {
            return Some(VerifiedUser {
                id: id.to_owned(),
                tier: Tier::Admin,
                operator: true,
            });
        }
        Some(VerifiedUser {
            id: id.to_owned(),
            tier: Tier::parse(tier)?,
            operator: false,
        })
    }
}

/// A limiter under test.
pub struct Harness {
    pub limiter: Arc<RateLimiter>,
    pub store: Arc<dyn RateLimitStore>,
    pub clock: ManualClock,
    pub redis: Option<RedisServer>,
}

/// Compiles a rule set written in TOML, panicking with its field errors.
pub fn rules(toml: &str) -> waitroom::ratelimit::RuleSet {
    let config = RuleSetConfig::from_toml(toml).expect("rules parse");
    compile(&config, None).expect("rules compile")
}

impl Harness {
    /// A limiter with `toml` rules over `backend`, trusting `trusted` proxies.
    pub async fn start_with(backend: Backend, toml: &str, trusted: &str) -> Harness {
        let clock = ManualClock::new(START_MS);
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let (store, redis): (Arc<dyn RateLimitStore>, _) = match backend {
            Backend::Memory => (Arc::new(MemoryRateLimitStore::new(shared.clone())), None),
            Backend::Redis => {
                let server = RedisServer::start();
                let store = RedisRateLimitStore::connect(&server.url())
                    .await
                    .expect("connect to redis")
                    .with_clock(shared.clone());
                (Arc::new(store), Some(server))
            }
        };
        let limiter = RateLimiter::new(rules(toml), store.clone(), shared)
            .with_verifier(Arc::new(TestTokens))
            .with_trusted_proxies(TrustedProxies::parse(trusted).expect("proxies"));
        Harness {
            limiter: Arc::new(limiter),
            store,
            clock,
            redis,
        }
    }

    /// A limiter with `toml` rules over `backend`.
    pub async fn start(backend: Backend, toml: &str) -> Harness {
        Self::start_with(backend, toml, "").await
    }

    /// Decides one request.
    pub async fn check(&self, request: &Req) -> Verdict {
        check(&self.limiter, request).await
    }

    /// How many of `n` requests pass, at the current time.
    pub async fn allowed_of(&self, n: usize, request: &Req) -> usize {
        allowed_of(&self.limiter, n, request).await
    }

    /// Every key in the test's Redis, with its remaining time to live in ms.
    pub fn redis_ttls(&self) -> Vec<(String, i64)> {
        let server = self.redis.as_ref().expect("a redis harness");
        server
            .cli(&["--scan", "--pattern", "*"])
            .lines()
            .filter(|key| !key.is_empty())
            .map(|key| {
                let ttl = server.cli(&["PTTL", key]).trim().parse().unwrap_or(-3);
                (key.to_owned(), ttl)
            })
            .collect()
    }
}

/// Decides one request with `limiter`.
pub async fn check(limiter: &RateLimiter, request: &Req) -> Verdict {
    let headers = request.headers();
    let info = RequestInfo {
        method: &request.method,
        path: &request.path,
        query: None,
        peer: request.peer,
        group: request.group,
        headers: &headers,
    };
    limiter.check(&info).await
}

/// How many of `n` requests `limiter` lets through.
pub async fn allowed_of(limiter: &RateLimiter, n: usize, request: &Req) -> usize {
    let mut allowed = 0;
    for _ in 0..n {
        if passed(&check(limiter, request).await) {
            allowed += 1;
        }
    }
    allowed
}

/// Whether a verdict lets the request through.
pub fn passed(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Allowed { .. } | Verdict::Unlimited)
}

/// A request as the limiter sees it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub peer: IpAddr,
    pub forwarded_for: Option<String>,
    pub bearer: Option<String>,
    pub api_key: Option<String>,
    pub group: Option<&'static str>,
}

/// A GET of `path` from `peer`.
pub fn get(path: &str, peer: &str) -> Req {
    request(Method::GET, path, peer)
}

/// A request of `method` on `path` from `peer`.
pub fn request(method: Method, path: &str, peer: &str) -> Req {
    Req {
        method,
        path: path.to_owned(),
        peer: peer.parse().expect("an IP address"),
        forwarded_for: None,
        bearer: None,
        api_key: None,
        group: None,
    }
}

impl Req {
    /// With an `X-Forwarded-For` header.
    pub fn forwarded_for(mut self, value: &str) -> Req {
        self.forwarded_for = Some(value.to_owned());
        self
    }

    /// Signed in as `user` of `tier`.
    pub fn user(mut self, user: &str, tier: &str) -> Req {
        self.bearer = Some(format!("token:{user}:{tier}"));
        self
    }

    /// On a route the router calls `group`.
    pub fn group(mut self, group: &'static str) -> Req {
        self.group = Some(group);
        self
    }

    /// With an API key.
    pub fn api_key(mut self, key: &str) -> Req {
        self.api_key = Some(key.to_owned());
        self
    }

    /// The request's headers.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = &self.forwarded_for {
            headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        if let Some(token) = &self.bearer {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        if let Some(key) = &self.api_key {
            headers.insert("x-api-key", HeaderValue::from_str(key).unwrap());
        }
        headers
    }
}

/// Adaptation on with no penalties: a flood of 200 a second over a baseline of 2 tightens `api`
/// (the conformance suite and the alerts test).
pub const ADAPTIVE: &str = r#"
[adaptive]
enabled = true
multiple = 2.0
tighten_factor = 0.5
baseline_half_life = "1m"
sample = "1s"
min_rate = 1.0
[penalties]
ban_after = 0
delay_after = 0
reduce_after = 0
[[rules]]
name = "api"
limit = 100
period = "1m"
"#;
