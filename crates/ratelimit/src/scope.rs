//! Whom a ban refuses, and what a request answers for.
//!
//! The limiter judges a request by the strongest identity it proves: a verified user, a
//! configured API key, and only then its address. Thousands of real shoppers share an address
//! (carrier NAT, campuses, offices), so what anonymous traffic earns at an address must not fall
//! on the verified shoppers behind it: a ban the limiter starts on an address has the scope
//! [`BanScope::Anonymous`]. An operator's ban covers everyone at the key by default.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::client_key::ClientKey;

/// Whom a ban refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BanScope {
    /// Every request carrying the banned key, verified or not (an operator's ban, by default;
    /// the limiter's bans of users and API keys).
    #[default]
    Everyone,
    /// Only anonymous requests from the banned address: verified users behind it pass (the
    /// limiter's own bans of an address).
    Anonymous,
}

impl BanScope {
    /// The scope of a ban the limiter starts on `client`: an address answers only for its
    /// anonymous traffic.
    pub fn earned_by(client: &ClientKey) -> BanScope {
        if client.is_address() {
            BanScope::Anonymous
        } else {
            BanScope::Everyone
        }
    }

    /// The scope as the stores write it (`a` or `e`).
    pub fn code(self) -> &'static str {
        match self {
            BanScope::Everyone => "e",
            BanScope::Anonymous => "a",
        }
    }

    /// Reads [`BanScope::code`]; anything else (a ban stored before scopes) covers everyone.
    pub fn from_code(code: Option<&str>) -> BanScope {
        match code {
            Some("a") => BanScope::Anonymous,
            _ => BanScope::Everyone,
        }
    }
}

/// What a request answers for on the key its rule charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Liability {
    /// The key is the request's own identity: every ban on it refuses the request, its
    /// penalties apply and a refusal counts as its violation.
    #[default]
    Own,
    /// The key is shared with others (the address of a verified user, or a rule whose refusals
    /// are not violations): only bans covering everyone refuse, the key's penalties do not
    /// apply, and a refusal counts nothing.
    Shared,
    /// The operator, who must always get in: no ban refuses, no penalty applies, a refusal
    /// counts nothing (the rule's own limit still answers 429).
    Exempt,
}

impl Liability {
    /// Whether a ban of `scope` refuses the request.
    pub fn refused_by(self, scope: BanScope) -> bool {
        match self {
            Liability::Own => true,
            Liability::Shared => scope == BanScope::Everyone,
            Liability::Exempt => false,
        }
    }

    /// The number the Lua scripts read.
    pub fn code(self) -> i64 {
        match self {
            Liability::Own => 0,
            Liability::Shared => 1,
            Liability::Exempt => 2,
        }
    }
}
