//! The in-process decision of `benches/ratelimit.rs` (same rules, keys and path), without the
//! timing: N checks of waitroom's limiter, then N of governor's keyed one, each behind a function
//! that is never inlined, so that an instruction counter attributes them. On this shared, noisy
//! machine instruction counts are the figure that does not move between runs:
//!
//! ```text
//! cargo bench --bench ratelimit_profile --no-run
//! valgrind --tool=callgrind target/release/deps/ratelimit_profile-<hash> 100000
//! callgrind_annotate --inclusive=yes callgrind.out.<pid> | grep _check
//! ```
#![allow(clippy::unwrap_used)]
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::http::{HeaderMap, Method};
use futures_util::FutureExt;
use governor::{DefaultKeyedRateLimiter, Quota};
use waitroom::clock::{Clock, SystemClock};
use waitroom::ratelimit::compile;
use waitroom::ratelimit::limiter::{RateLimiter, RequestInfo, Verdict};
use waitroom::ratelimit::rules::{Algorithm, RuleSetConfig};
use waitroom::ratelimit::span::Span;
use waitroom::ratelimit::store::MemoryRateLimitStore;

const KEYS: u32 = 10_000;
const PATH: &str = "/v1/events/spring-sale/tickets/4f9c7a52-2b8e-4f43-9c0e-8f1f2d6b7a10";

fn limiter() -> RateLimiter {
    let mut config = RuleSetConfig::shipped().unwrap_or_default();
    for rule in config.rules.iter_mut().filter(|rule| !rule.exempt) {
        rule.limit = 1_000_000;
        rule.period = Some(Span::from_secs(1));
        rule.burst = (rule.algorithm != Some(Algorithm::SlidingWindow)).then_some(1000);
    }
    let rules = compile(&config, None).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    RateLimiter::new(
        rules,
        Arc::new(MemoryRateLimitStore::new(clock.clone())),
        clock,
    )
}

fn peer(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i % KEYS)))
}

#[inline(never)]
fn waitroom_check(limiter: &RateLimiter, headers: &HeaderMap, i: u32) -> bool {
    let info = RequestInfo {
        method: &Method::GET,
        path: PATH,
        query: None,
        peer: peer(i),
        group: None,
        headers,
    };
    matches!(
        limiter.check(&info).now_or_never(),
        Some(Verdict::Allowed { .. })
    )
}

#[inline(never)]
fn governor_check(limiter: &DefaultKeyedRateLimiter<IpAddr>, i: u32) -> bool {
    limiter.check_key(&peer(i)).is_ok()
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let ours = limiter();
    let quota = Quota::per_second(NonZeroU32::new(1_000_000).unwrap())
        .allow_burst(NonZeroU32::new(1000).unwrap());
    let theirs: DefaultKeyedRateLimiter<IpAddr> = governor::RateLimiter::keyed(quota);
    let headers = HeaderMap::new();
    for i in 0..KEYS * 2 {
        waitroom_check(&ours, &headers, i);
        governor_check(&theirs, i);
    }
    let mut ok = 0;
    for i in 0..n {
        ok += black_box(waitroom_check(&ours, &headers, i)) as u32;
    }
    for i in 0..n {
        ok += black_box(governor_check(&theirs, i)) as u32;
    }
    println!("{ok}");
}
