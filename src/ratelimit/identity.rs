//! Who is asking: the client behind a request.
//!
//! The IP is the peer's address, unless the peer is one of `WAITROOM_TRUSTED_PROXIES`: then
//! `X-Forwarded-For` is read from the right, skipping trusted hops, and the first untrusted hop
//! is the client (anyone can write the left part of that header, only our proxies the right).
//! IPv4-mapped IPv6 addresses count as IPv4, and IPv6 clients are grouped per prefix (/64 by
//! default) so that rotating addresses inside one allocation buys nothing.
//!
//! The user comes only from a token a [`UserVerifier`] has verified: the limiter runs before
//! authentication, and an unverified token's claims are worth nothing.

use std::net::IpAddr;

use ipnet::IpNet;
use sha2::{Digest, Sha256};

use super::compile::KeyIdentity;
use super::rules::IdentityConfig;
use crate::clock::UnixMillis;
use crate::domain::Tier;

/// A user whose token verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUser {
    /// The token's `sub`.
    pub id: String,
    /// The token's `tier` (regular when missing).
    pub tier: Tier,
}

/// Verifies user bearer tokens for the limiter; the service's authentication implements it.
pub trait UserVerifier: Send + Sync + 'static {
    /// The user of a token whose signature and expiry (at `now_ms`) verify; `None` otherwise,
    /// and for anonymous visitors (whose identities cost nothing to mint).
    fn verify(&self, token: &str, now_ms: UnixMillis) -> Option<VerifiedUser>;
}

/// A verifier that knows no users: every client is identified by API key or IP.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoUsers;

impl UserVerifier for NoUsers {
    fn verify(&self, _token: &str, _now_ms: UnixMillis) -> Option<VerifiedUser> {
        None
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Proxies from CIDRs (a bare address is its own /32 or /128).
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    /// Parses `WAITROOM_TRUSTED_PROXIES`: CIDRs or addresses separated by commas or spaces.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split([',', ' '])
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(parse_net)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether no proxy is trusted (then `X-Forwarded-For` is never read).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// Parses a CIDR or a single address; IPv4-mapped IPv6 networks become IPv4 ones.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    let net = match text.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => text
            .parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| format!("`{text}` is not an IP address or CIDR"))?,
    };
    Ok(canonical_net(net))
}

/// `::ffff:a.b.c.d/n` (n ≥ 96) as `a.b.c.d/(n-96)`; any other network as it is.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net,
        },
        _ => net,
    }
}

/// The client's IP: the peer, or the rightmost untrusted `X-Forwarded-For` hop behind trusted
/// proxies. `forwarded_for` is every `X-Forwarded-For` value in order, joined with commas.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    let Some(header) = forwarded_for.filter(|_| trusted.trusts(peer)) else {
        return peer;
    };
    let mut nearest = peer;
    for hop in header.rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) else {
            // A hop nobody can read: the nearest readable one is the best we know.
            return nearest;
        };
        if !trusted.trusts(ip) {
            return ip;
        }
        nearest = ip;
    }
    nearest
}

/// The client key of an IP: the address itself, or its network when grouped.
pub fn ip_key(ip: IpAddr, ipv4_prefix: u8, ipv6_prefix: u8) -> String {
    let ip = ip.to_canonical();
    let prefix = match ip {
        IpAddr::V4(_) => ipv4_prefix.min(32),
        IpAddr::V6(_) => ipv6_prefix.min(128),
    };
    let full = if ip.is_ipv4() { 32 } else { 128 };
    if prefix >= full {
        return format!("ip:{ip}");
    }
    match IpNet::new(ip, prefix) {
        Ok(net) => format!("ip:{}", net.trunc()),
        Err(_) => format!("ip:{ip}"),
    }
}

/// The client key of an API key: a digest, so keys never sit in the store or the logs.
pub fn api_key_key(api_key: &str) -> String {
    let digest = Sha256::digest(api_key.as_bytes());
    format!("key:{}", hex::encode(&digest[..12]))
}

/// The client key of a user.
pub fn user_key(user_id: &str) -> String {
    format!("user:{user_id}")
}

/// The client of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client<'a> {
    /// Its IP (after trusted proxies).
    pub ip: IpAddr,
    /// The verified user, if any.
    pub user: Option<VerifiedUser>,
    /// The API key as sent, if any.
    pub api_key: Option<&'a str>,
}

impl Client<'_> {
    /// The tier limits scale by: the user's, else anonymous.
    pub fn tier(&self) -> Tier {
        self.user.as_ref().map_or(Tier::Anonymous, |user| user.tier)
    }

    /// The client key a rule keyed by `identity` charges. `User` and `ApiKey` fall back to the
    /// IP for clients without one.
    pub fn key(&self, identity: KeyIdentity, config: &IdentityConfig) -> String {
        let ip = || ip_key(self.ip, config.ipv4_prefix, config.ipv6_prefix);
        match identity {
            KeyIdentity::Client => match (&self.user, self.api_key) {
                (Some(user), _) => user_key(&user.id),
                (None, Some(api_key)) => api_key_key(api_key),
                (None, None) => ip(),
            },
            KeyIdentity::User => self
                .user
                .as_ref()
                .map_or_else(ip, |user| user_key(&user.id)),
            KeyIdentity::ApiKey => self.api_key.map_or_else(ip, api_key_key),
            KeyIdentity::Ip => ip(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_networks_are_read_as_ipv4() {
        assert_eq!(
            parse_net("::ffff:10.0.0.0/104").map(|n| n.to_string()),
            Ok("10.0.0.0/8".to_owned())
        );
        assert_eq!(
            parse_net("192.0.2.7").map(|n| n.to_string()),
            Ok("192.0.2.7/32".to_owned())
        );
    }

    #[test]
    fn ipv6_addresses_group_by_their_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(ip_key(a, 32, 64), "ip:2001:db8:1:2::/64");
        assert_eq!(ip_key(a, 32, 128), "ip:2001:db8:1:2:aaaa::1");
    }
}
