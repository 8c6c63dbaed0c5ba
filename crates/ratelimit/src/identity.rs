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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use std::borrow::Cow;

use axum::http::{HeaderMap, header};
use ipnet::IpNet;
use sha2::{Digest, Sha256};

use super::client_key::ClientKey;
use super::compile::KeyIdentity;
use super::rules::IdentityConfig;
use crate::clock::UnixMillis;
use crate::tier::Tier;

/// A user whose token verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUser {
    /// The token's `sub`.
    pub id: String,
    /// The token's `tier` (regular when missing).
    pub tier: Tier,
    /// Whether this is the service's operator (the admin token), who must always get in: no ban
    /// refuses it and adaptation never tightens its limit. A user token's `admin` tier is not
    /// this.
    pub operator: bool,
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
    ip_client_key(ip, ipv4_prefix, ipv6_prefix)
        .as_str()
        .to_owned()
}

/// [`ip_key`] without allocating: `ip:a.b.c.d`, or `ip:<network>/<prefix>` when grouped.
pub fn ip_client_key(ip: IpAddr, ipv4_prefix: u8, ipv6_prefix: u8) -> ClientKey {
    match ip.to_canonical() {
        IpAddr::V4(v4) if ipv4_prefix < 32 => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(ipv4_prefix))
                .unwrap_or(0);
            let net = Ipv4Addr::from(u32::from(v4) & mask);
            ClientKey::ip(net.into(), Some(ipv4_prefix))
        }
        IpAddr::V6(v6) if ipv6_prefix < 128 => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(ipv6_prefix))
                .unwrap_or(0);
            let net = Ipv6Addr::from(u128::from(v6) & mask);
            ClientKey::ip(net.into(), Some(ipv6_prefix))
        }
        ip => ClientKey::ip(ip, None),
    }
}

/// The client key of an API key: a digest, so keys never sit in the store or the logs.
pub fn api_key_key(api_key: &str) -> String {
    api_client_key(api_key).as_str().to_owned()
}

/// [`api_key_key`] without allocating.
pub fn api_client_key(api_key: &str) -> ClientKey {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(api_key.as_bytes());
    let mut hex = [0_u8; 24];
    for (pair, byte) in hex.chunks_exact_mut(2).zip(&digest[..12]) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
    ClientKey::joined("key:", std::str::from_utf8(&hex).unwrap_or_default())
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
    /// Whether the request proves an identity stronger than its address: a verified user or a
    /// configured API key.
    pub fn is_verified(&self) -> bool {
        self.user.is_some() || self.api_key.is_some()
    }

    /// Whether the request is the operator's.
    pub fn is_operator(&self) -> bool {
        self.user.as_ref().is_some_and(|user| user.operator)
    }

    /// The tier limits scale by: the user's, else anonymous.
    pub fn tier(&self) -> Tier {
        self.user.as_ref().map_or(Tier::Anonymous, |user| user.tier)
    }

    /// The client key a rule keyed by `identity` charges. `User` and `ApiKey` fall back to the
    /// IP for clients without one.
    pub fn key(&self, identity: KeyIdentity, config: &IdentityConfig) -> ClientKey {
        let ip = || ip_client_key(self.ip, config.ipv4_prefix, config.ipv6_prefix);
        let user = |user: &VerifiedUser| ClientKey::joined("user:", &user.id);
        match identity {
            KeyIdentity::Client => match (&self.user, self.api_key) {
                (Some(found), _) => user(found),
                (None, Some(api_key)) => api_client_key(api_key),
                (None, None) => ip(),
            },
            KeyIdentity::User => self.user.as_ref().map_or_else(ip, user),
            KeyIdentity::ApiKey => self.api_key.map_or_else(ip, api_client_key),
            KeyIdentity::Ip => ip(),
        }
    }
}

impl Client<'_> {
    /// The request's identities other than `charged` (the key its rule charges): its IP, its
    /// user and its API key, each as a client key. A ban on any of them refuses the request.
    /// Empty for a client known only by its IP, whose every rule charges that IP.
    pub fn other_keys(&self, charged: &ClientKey, config: &IdentityConfig) -> Vec<ClientKey> {
        if self.user.is_none() && self.api_key.is_none() {
            return Vec::new();
        }
        let ip = Some(ip_client_key(
            self.ip,
            config.ipv4_prefix,
            config.ipv6_prefix,
        ));
        let user = self
            .user
            .as_ref()
            .map(|user| ClientKey::joined("user:", &user.id));
        let api_key = self.api_key.map(api_client_key);
        [ip, user, api_key]
            .into_iter()
            .flatten()
            .filter(|key| key != charged)
            .collect()
    }
}

/// Every `X-Forwarded-For` value, in order, as one list.
pub fn forwarded_for(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    static X_FORWARDED_FOR: header::HeaderName = header::HeaderName::from_static("x-forwarded-for");
    let mut values = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok());
    let first = values.next()?;
    match values.next() {
        None => Some(Cow::Borrowed(first)),
        Some(second) => {
            let mut all = format!("{first},{second}");
            for value in values {
                all.push(',');
                all.push_str(value);
            }
            Some(Cow::Owned(all))
        }
    }
}

/// The user token: `Authorization: Bearer …`, or `access_token` in the query (WebSockets).
pub fn bearer_token<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    from_header.or_else(|| {
        query?
            .split('&')
            .find_map(|pair| pair.strip_prefix("access_token="))
    })
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
    fn keys_built_in_place_read_as_the_network_formatter_writes_them() {
        let addresses = ["203.0.113.7", "10.200.3.99", "2001:db8:1:2:aaaa::1", "::1"];
        for text in addresses {
            let ip: IpAddr = text.parse().unwrap_or(IpAddr::from([0; 4]));
            for prefix in [0_u8, 7, 8, 24, 31, 32, 48, 64, 127, 128] {
                let full = if ip.is_ipv4() { 32 } else { 128 };
                let expected = if prefix >= full {
                    format!("ip:{ip}")
                } else {
                    IpNet::new(ip, prefix).map_or(String::new(), |n| format!("ip:{}", n.trunc()))
                };
                assert_eq!(ip_key(ip, prefix, prefix), expected, "{text}/{prefix}");
            }
        }
        assert_eq!(
            api_key_key("k"),
            format!("key:{}", hex::encode(&Sha256::digest(b"k")[..12]))
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
