//! Client tiers: how much a client is trusted, from the user token's `tier` claim.

use serde::{Deserialize, Serialize};

/// A client's tier. Rate limits scale with it; unknown or missing claims mean `Regular` for a
/// signed-in user and `Anonymous` for everyone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Anonymous,
    New,
    Regular,
    Trusted,
    Premium,
    Admin,
}

impl Tier {
    /// Every tier, least trusted first.
    pub const ALL: [Tier; 6] = [
        Tier::Anonymous,
        Tier::New,
        Tier::Regular,
        Tier::Trusted,
        Tier::Premium,
        Tier::Admin,
    ];

    /// The tier's claim word.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Anonymous => "anonymous",
            Tier::New => "new",
            Tier::Regular => "regular",
            Tier::Trusted => "trusted",
            Tier::Premium => "premium",
            Tier::Admin => "admin",
        }
    }

    /// Parses a claim word.
    pub fn parse(word: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|tier| tier.as_str() == word)
    }
}
