//! The visitor cookie: `HttpOnly`, `SameSite=Lax` (sent on a shopper's own navigation to the
//! queue page, never on other sites' requests), and `Secure` when the page was reached over HTTPS.
//!
//! TLS usually ends at a proxy, so HTTPS is known from its `X-Forwarded-Proto`. That header is
//! believed only from a peer in `trusted_proxies`: anyone else could claim it.

use std::net::SocketAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::identity::{VISITOR_COOKIE, VISITOR_TTL_SECONDS};

/// Whether the request reached the server over HTTPS, as told by a trusted proxy.
pub fn came_over_https(
    trusted_proxies: &[IpNet],
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> bool {
    let trusted = peer.is_some_and(|peer| {
        trusted_proxies
            .iter()
            .any(|proxy| proxy.contains(&peer.ip()))
    });
    // With several proxies in a row, the first value is what the client used.
    trusted
        && headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value carrying a visitor token.
pub fn visitor_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{VISITOR_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={VISITOR_TTL_SECONDS}{secure}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(proto: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-proto", proto.parse().unwrap());
        headers
    }

    #[test]
    fn only_a_trusted_proxy_is_believed_about_https() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy = Some(SocketAddr::from(([10, 1, 2, 3], 4000)));
        let stranger = Some(SocketAddr::from(([192, 0, 2, 1], 4000)));
        assert!(came_over_https(&proxies, proxy, &forwarded("https")));
        assert!(came_over_https(&proxies, proxy, &forwarded("HTTPS, http")));
        assert!(!came_over_https(&proxies, proxy, &forwarded("http")));
        assert!(!came_over_https(&proxies, stranger, &forwarded("https")));
        assert!(!came_over_https(&proxies, None, &forwarded("https")));
        assert!(!came_over_https(&proxies, proxy, &HeaderMap::new()));
    }
}
