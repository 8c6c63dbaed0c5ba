//! Identifiers: event ids, ticket and order ids, SKUs and shopper identities.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidId(pub &'static str);

/// An event id: `[a-z0-9][a-z0-9-]{0,63}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId(String);

impl EventId {
    /// Parses an event id.
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        let bytes = text.as_bytes();
        let first_ok = bytes
            .first()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let rest_ok = bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if first_ok && rest_ok && bytes.len() <= 64 {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidId(
                "an event id is 1 to 64 characters of a-z, 0-9 and '-', starting with a letter or digit",
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A SKU (stock keeping unit): 1 to 64 characters of `A-Za-z0-9._-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    /// Parses a SKU.
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidId(
                "a SKU is 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'",
            ))
        }
    }

    /// The SKU as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who holds a place in a queue: a signed-in user (`u:<id>`) or an anonymous visitor (`v:<id>`).
///
/// One identity holds at most one place per event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Identity(String);

impl Identity {
    /// A signed-in user, by the `sub` of their token (1 to 128 printable characters).
    pub fn user(user_id: &str) -> Result<Self, InvalidId> {
        Self::with_prefix("u:", user_id)
    }

    /// An anonymous visitor, by their signed visitor id.
    pub fn visitor(visitor_id: &str) -> Result<Self, InvalidId> {
        Self::with_prefix("v:", visitor_id)
    }

    fn with_prefix(prefix: &str, id: &str) -> Result<Self, InvalidId> {
        let ok = !id.is_empty() && id.len() <= 128 && !id.chars().any(char::is_control);
        if ok {
            Ok(Self(format!("{prefix}{id}")))
        } else {
            Err(InvalidId(
                "a user id is 1 to 128 characters with no control characters",
            ))
        }
    }

    /// The id without its kind prefix: the `sub` of tokens issued to this identity.
    pub fn subject(&self) -> &str {
        &self.0[2..]
    }

    /// Whether this is an anonymous visitor.
    pub fn is_visitor(&self) -> bool {
        self.0.starts_with("v:")
    }

    /// The stored form, `u:<id>` or `v:<id>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_conversions {
    ($ty:ident, $parse:expr) => {
        impl TryFrom<String> for $ty {
            type Error = InvalidId;
            fn try_from(text: String) -> Result<Self, InvalidId> {
                $parse(&text)
            }
        }
        impl From<$ty> for String {
            fn from(id: $ty) -> String {
                id.0
            }
        }
        impl FromStr for $ty {
            type Err = InvalidId;
            fn from_str(text: &str) -> Result<Self, InvalidId> {
                $parse(text)
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_conversions!(EventId, EventId::parse);
string_conversions!(Sku, Sku::parse);
string_conversions!(Identity, |text: &str| {
    match text.split_at_checked(2) {
        Some(("u:", id)) => Identity::user(id),
        Some(("v:", id)) => Identity::visitor(id),
        _ => Err(InvalidId("an identity starts with 'u:' or 'v:'")),
    }
});

macro_rules! uuid_id {
    ($(#[$doc:meta])* $ty:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $ty(pub Uuid);

        impl $ty {
            /// A new random id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// Parses the hyphenated UUID form.
            pub fn parse(text: &str) -> Result<Self, InvalidId> {
                Uuid::try_parse(text)
                    .map(Self)
                    .map_err(|_| InvalidId("an id is a UUID"))
            }
        }

        impl FromStr for $ty {
            type Err = InvalidId;
            fn from_str(text: &str) -> Result<Self, InvalidId> {
                Self::parse(text)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A ticket: one identity's place in one event's queue, and the `jti` of its admission token.
    TicketId
);
uuid_id!(
    /// An order made at checkout.
    OrderId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_follow_the_published_pattern() {
        assert!(EventId::parse("demo-sale").is_ok());
        assert!(EventId::parse("0").is_ok());
        assert!(EventId::parse(&"a".repeat(64)).is_ok());
        assert!(EventId::parse(&"a".repeat(65)).is_err());
        assert!(EventId::parse("-sale").is_err());
        assert!(EventId::parse("Sale").is_err());
        assert!(EventId::parse("").is_err());
        assert!(EventId::parse("sale/1").is_err());
    }

    #[test]
    fn identities_keep_their_kind_and_subject() {
        let user = Identity::user("alice").unwrap();
        assert_eq!(user.as_str(), "u:alice");
        assert_eq!(user.subject(), "alice");
        assert!(!user.is_visitor());
        assert_eq!("v:xyz".parse::<Identity>().unwrap().subject(), "xyz");
        assert!(Identity::user("").is_err());
        assert!(Identity::user("a\nb").is_err());
    }

    #[test]
    fn skus_refuse_separators() {
        assert!(Sku::parse("TSHIRT-M").is_ok());
        assert!(Sku::parse("a b").is_err());
        assert!(Sku::parse("a,b").is_err());
    }
}
