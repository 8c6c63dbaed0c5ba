//! A client key kept inside the map's entry when short, as most are (`ip:203.0.113.7`,
//! `user:42`): looking a client up then compares bytes already in the cache line instead of
//! following a pointer to a separate allocation.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

const INLINE: usize = 22;

/// A string key, inline up to 22 bytes.
#[derive(Clone)]
pub(super) enum InlineKey {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl InlineKey {
    pub(super) fn as_str(&self) -> &str {
        match self {
            // Only ever built from a `&str`, so the bytes are UTF-8.
            InlineKey::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            InlineKey::Heap(text) => text,
        }
    }

    /// The key's bytes: what lookups compare, with no UTF-8 check on the way.
    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            InlineKey::Inline { len, bytes } => &bytes[..usize::from(*len)],
            InlineKey::Heap(text) => text.as_bytes(),
        }
    }
}

impl From<&str> for InlineKey {
    fn from(text: &str) -> Self {
        match u8::try_from(text.len()) {
            Ok(len) if text.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                InlineKey::Inline { len, bytes }
            }
            _ => InlineKey::Heap(text.into()),
        }
    }
}

impl Borrow<[u8]> for InlineKey {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

// Hash and equality are the bytes', as `Borrow<[u8]>` requires.
impl Hash for InlineKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for InlineKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for InlineKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_keys_read_back_the_same() {
        let short = InlineKey::from("ip:203.0.113.7");
        let long = InlineKey::from("user:a-rather-long-user-id-from-an-identity-provider");
        assert!(matches!(short, InlineKey::Inline { .. }));
        assert!(matches!(long, InlineKey::Heap(_)));
        assert_eq!(short.as_str(), "ip:203.0.113.7");
        assert_eq!(
            long.as_str(),
            "user:a-rather-long-user-id-from-an-identity-provider"
        );
    }
}
