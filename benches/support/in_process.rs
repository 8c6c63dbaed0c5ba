//! What the in-process rate-limit benches share: the limiters, the keys and the path, and one
//! check of each limiter (never inlined, so an instruction counter can attribute them).
#![allow(dead_code)]

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

pub const KEYS: u32 = 10_000;
pub const PATH: &str = "/v1/events/spring-sale/tickets/4f9c7a52-2b8e-4f43-9c0e-8f1f2d6b7a10";

/// The shipped rules with every limit raised, so that both limiters allow (the common case).
pub fn limiter() -> RateLimiter {
    let mut config = RuleSetConfig::shipped().unwrap_or_default();
    for rule in config.rules.iter_mut().filter(|rule| !rule.exempt) {
        rule.limit = 1_000_000;
        rule.period = Some(Span::from_secs(1));
        rule.burst = (rule.algorithm != Some(Algorithm::SlidingWindow)).then_some(1000);
    }
    let rules = match compile(&config, None) {
        Ok(rules) => rules,
        Err(errors) => panic!("bench rules do not compile: {errors:?}"),
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    RateLimiter::new(
        rules,
        Arc::new(MemoryRateLimitStore::new(clock.clone())),
        clock,
    )
}

pub fn governor() -> DefaultKeyedRateLimiter<IpAddr> {
    let quota = Quota::per_second(NonZeroU32::new(1_000_000).unwrap_or(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(1000).unwrap_or(NonZeroU32::MIN));
    governor::RateLimiter::keyed(quota)
}

pub fn peer(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i % KEYS)))
}

#[inline(never)]
pub fn waitroom_check(limiter: &RateLimiter, headers: &HeaderMap, i: u32) -> bool {
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
pub fn governor_check(limiter: &DefaultKeyedRateLimiter<IpAddr>, i: u32) -> bool {
    limiter.check_key(&peer(i)).is_ok()
}
