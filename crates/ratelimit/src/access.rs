//! Allow and deny lists of CIDRs, user ids and API keys.
//!
//! Precedence, from strongest: a denied user or API key is refused; an allowed user or API key
//! skips every limit; then the IP is judged by the longest matching prefix of either list, deny
//! winning a tie. IPv4-mapped IPv6 addresses and networks are judged as IPv4.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

use super::identity::parse_net;
use super::rules::AccessConfig;
use crate::problem::FieldError;

/// What the lists say about a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Listed as allowed: no limits apply.
    Allowed,
    /// Listed as denied: `403`.
    Denied,
    /// Not listed: the rules apply.
    Unlisted,
}

/// The compiled lists.
#[derive(Debug, Clone, Default)]
pub struct AccessLists {
    allow_ips: Vec<IpNet>,
    deny_ips: Vec<IpNet>,
    allow_users: HashSet<String>,
    deny_users: HashSet<String>,
    allow_api_keys: HashSet<String>,
    deny_api_keys: HashSet<String>,
}

fn nets(field: &str, texts: &[String], errors: &mut Vec<FieldError>) -> Vec<IpNet> {
    texts
        .iter()
        .enumerate()
        .filter_map(|(index, text)| match parse_net(text) {
            Ok(net) => Some(net.trunc()),
            Err(message) => {
                errors.push(FieldError {
                    field: format!("access.{field}[{index}]"),
                    message,
                });
                None
            }
        })
        .collect()
}

impl AccessLists {
    /// Compiles the lists, collecting an error for every unreadable CIDR.
    pub fn compile(config: &AccessConfig, errors: &mut Vec<FieldError>) -> AccessLists {
        let set = |items: &[String]| items.iter().cloned().collect::<HashSet<_>>();
        AccessLists {
            allow_ips: nets("allow_ips", &config.allow_ips, errors),
            deny_ips: nets("deny_ips", &config.deny_ips, errors),
            allow_users: set(&config.allow_users),
            deny_users: set(&config.deny_users),
            allow_api_keys: set(&config.allow_api_keys),
            deny_api_keys: set(&config.deny_api_keys),
        }
    }

    /// Whether nothing is listed (the request path then skips the lists).
    pub fn is_empty(&self) -> bool {
        self.allow_ips.is_empty()
            && self.deny_ips.is_empty()
            && self.allow_users.is_empty()
            && self.deny_users.is_empty()
            && self.allow_api_keys.is_empty()
            && self.deny_api_keys.is_empty()
    }

    /// Judges a client by its IP, verified user id and API key.
    pub fn judge(&self, ip: IpAddr, user: Option<&str>, api_key: Option<&str>) -> Access {
        let user_in = |set: &HashSet<String>| user.is_some_and(|id| set.contains(id));
        let key_in = |set: &HashSet<String>| api_key.is_some_and(|key| set.contains(key));
        if user_in(&self.deny_users) || key_in(&self.deny_api_keys) {
            return Access::Denied;
        }
        if user_in(&self.allow_users) || key_in(&self.allow_api_keys) {
            return Access::Allowed;
        }
        let ip = ip.to_canonical();
        let longest = |list: &[IpNet]| {
            list.iter()
                .filter(|net| net.contains(&ip))
                .map(IpNet::prefix_len)
                .max()
        };
        match (longest(&self.allow_ips), longest(&self.deny_ips)) {
            (None, None) => Access::Unlisted,
            (Some(_), None) => Access::Allowed,
            (None, Some(_)) => Access::Denied,
            (Some(allow), Some(deny)) if allow > deny => Access::Allowed,
            (Some(_), Some(_)) => Access::Denied,
        }
    }
}
