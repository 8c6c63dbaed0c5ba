//! The limiter as a tower layer, for any axum or tower HTTP service.
//!
//! Allowed and limited responses carry the fields of the IETF draft "RateLimit header fields for
//! HTTP": `RateLimit-Policy: "<rule>";q=<quota>;w=<seconds>` and
//! `RateLimit: "<rule>";r=<remaining>;t=<seconds to reset>`; and, unless `[headers] legacy = false`,
//! the older `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds) that
//! existing clients read. A limited request gets `429` problem JSON with code `rate_limited` and
//! `Retry-After` (whole seconds, at least 1, rounded up so a retry then really passes); banned
//! clients get `403 banned` with `Retry-After`, denied ones `403 forbidden`; a store that is down
//! under a fail-closed rule gives `503`. The peer address comes from axum's
//! `ConnectInfo<SocketAddr>` (serve with `into_make_service_with_connect_info`).

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use tower::{Layer, Service};

use super::limiter::{Policy, RateLimiter, RequestInfo, Verdict};
use super::outcome::Quota;
use crate::problem::ProblemAnswer;

/// `RateLimit-Limit`.
pub static RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Remaining`.
pub static RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
/// `RateLimit-Reset`.
pub static RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
/// `RateLimit-Policy` (IETF draft): the rule, its quota and its window.
pub static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit` (IETF draft): the rule, what is left and when it is whole again.
pub static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// Adds the rate limiter in front of a service.
#[derive(Clone)]
pub struct RateLimitLayer {
    limiter: Arc<RateLimiter>,
    group: Option<&'static str>,
}

impl RateLimitLayer {
    /// A layer deciding with `limiter`.
    pub fn new(limiter: Arc<RateLimiter>) -> Self {
        Self {
            limiter,
            group: None,
        }
    }

    /// Names the route group of the routes it wraps: rules with `group = "<name>"` match them.
    pub fn group(mut self, group: &'static str) -> Self {
        self.group = Some(group);
        self
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            limiter: self.limiter.clone(),
            group: self.group,
        }
    }
}

/// The service [`RateLimitLayer`] makes.
#[derive(Clone)]
pub struct RateLimitService<S> {
    inner: S,
    limiter: Arc<RateLimiter>,
    group: Option<&'static str>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, ResBody> Service<Request<B>> for RateLimitService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Send + 'static,
    ResBody: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request; a fresh clone stays for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limiter = self.limiter.clone();
        let group = self.group;
        Box::pin(async move {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
            let info = RequestInfo {
                method: request.method(),
                path: request.uri().path(),
                query: request.uri().query(),
                peer,
                group,
                headers: request.headers(),
            };
            let verdict = limiter.check(&info).await;
            let legacy = limiter.legacy_headers();
            match verdict {
                Verdict::Unlimited => Ok(inner.call(request).await?.map(Body::new)),
                Verdict::Allowed {
                    quota,
                    policy,
                    delay,
                    permit,
                } => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    let mut response = inner.call(request).await?.map(Body::new);
                    if let Some(permit) = permit {
                        permit.release().await;
                    }
                    quota_headers(response.headers_mut(), quota, &policy, legacy);
                    Ok(response)
                }
                Verdict::Limited {
                    quota,
                    retry_after,
                    policy,
                } => {
                    let seconds = whole_seconds(retry_after);
                    let detail = format!(
                        "the `{}` limit is used up; retry in {seconds} s",
                        policy.name
                    );
                    let mut response = refusal(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate_limited",
                        "Too many requests",
                        &detail,
                        Some(seconds),
                    );
                    quota_headers(response.headers_mut(), quota, &policy, legacy);
                    Ok(response)
                }
                Verdict::Banned { retry_after } => {
                    let seconds = whole_seconds(retry_after);
                    let detail = format!(
                        "this client is banned for abusing rate limits; retry in {seconds} s"
                    );
                    Ok(refusal(
                        StatusCode::FORBIDDEN,
                        "banned",
                        "Client banned",
                        &detail,
                        Some(seconds),
                    ))
                }
                Verdict::Denied => Ok(refusal(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "Forbidden",
                    "this client is not allowed here",
                    None,
                )),
                Verdict::Unavailable => Ok(refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The service is briefly unavailable",
                    "the rate-limit store cannot be reached; try again shortly",
                    Some(2),
                )),
            }
        })
    }
}

/// A refusal as problem JSON, the same document the service answers its own errors with.
fn refusal(
    status: StatusCode,
    code: &'static str,
    title: &str,
    detail: &str,
    retry_after: Option<u64>,
) -> Response<Body> {
    ProblemAnswer {
        status,
        code,
        title,
        detail,
        errors: &[],
        retry_after,
    }
    .into_response()
}

/// Whole seconds, rounded up, at least 1: a retry after them passes.
pub fn whole_seconds(wait: Duration) -> u64 {
    let ms = wait.as_millis();
    u64::try_from(ms.div_ceil(1000)).unwrap_or(u64::MAX).max(1)
}

fn quota_headers(headers: &mut HeaderMap, quota: Quota, policy: &Policy, legacy: bool) {
    let reset_s = u64::try_from(quota.reset_ms.max(0))
        .unwrap_or(0)
        .div_ceil(1000);
    let limit = quota.limit.max(0);
    let remaining = quota.remaining.max(0);
    // Rule names are letters, digits, `_` and `-`, so they need no escaping in a quoted string.
    let name = &policy.name;
    let policy_field = format!("\"{name}\";q={limit};w={}", policy.window_s);
    let state_field = format!("\"{name}\";r={remaining};t={reset_s}");
    for (field, value) in [(&RATELIMIT_POLICY, policy_field), (&RATELIMIT, state_field)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(field.clone(), value);
        }
    }
    if legacy {
        headers.insert(RATELIMIT_LIMIT.clone(), HeaderValue::from(limit));
        headers.insert(RATELIMIT_REMAINING.clone(), HeaderValue::from(remaining));
        headers.insert(RATELIMIT_RESET.clone(), HeaderValue::from(reset_s));
    }
}
