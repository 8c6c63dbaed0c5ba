//! The secret that signs challenges and invitations, shared by every instance that shares the
//! admission signing keys.
//!
//! Each Ed25519 signing key yields one HMAC-SHA256 key: the key's (deterministic) signature of a
//! fixed label. Instances that share the key file derive the same secrets without a new setting,
//! and nobody without the private key can derive them. The current key signs; every key still in
//! the file verifies, so a key rotation does not void invitations already sent.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::admission::{KeyError, SigningKeys};

type HmacSha256 = Hmac<Sha256>;

/// What the derivation signs; changing it voids every challenge and invitation.
const LABEL: &[u8] = b"waitroom join defences v1";

/// HMAC keys derived from the signing keys: the last one signs, all verify.
#[derive(Clone)]
pub struct DefenceKeys {
    keys: Vec<[u8; 32]>,
}

impl std::fmt::Debug for DefenceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DefenceKeys({} keys)", self.keys.len())
    }
}

impl DefenceKeys {
    /// The keys derived from `signing`.
    pub fn derive(signing: &SigningKeys) -> Result<Self, KeyError> {
        let keys = signing
            .all()
            .iter()
            .map(|pair| {
                let signature = jsonwebtoken::crypto::sign(
                    LABEL,
                    &pair.encoding,
                    jsonwebtoken::Algorithm::EdDSA,
                )
                .map_err(|error| KeyError(format!("cannot derive the defence key: {error}")))?;
                Ok(Sha256::digest(signature.as_bytes()).into())
            })
            .collect::<Result<Vec<[u8; 32]>, KeyError>>()?;
        if keys.is_empty() {
            return Err(KeyError(
                "no signing key to derive the defence key from".into(),
            ));
        }
        Ok(Self { keys })
    }

    /// Fixed keys (tests and benches).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self { keys: vec![secret] }
    }

    /// The lowercase hex MAC of `message` under the signing key.
    pub fn sign(&self, message: &str) -> String {
        // `derive` refuses an empty list, so the last key exists.
        let key = self.keys.last().copied().unwrap_or_default();
        hex::encode(mac(&key, message))
    }

    /// Whether `tag` (hex) is the MAC of `message` under any key, compared in constant time.
    pub fn verify(&self, message: &str, tag: &str) -> bool {
        let Ok(tag) = hex::decode(tag) else {
            return false;
        };
        self.keys
            .iter()
            .any(|key| bool::from(mac(key, message).as_slice().ct_eq(&tag)))
    }
}

fn mac(key: &[u8; 32], message: &str) -> [u8; 32] {
    // A key shorter than SHA-256's 64-byte block is zero-padded by HMAC itself: padding it here
    // gives the same MAC through the constructor that cannot fail.
    let mut block = [0_u8; 64];
    block[..32].copy_from_slice(key);
    let mut mac = <HmacSha256 as KeyInit>::new(&block.into());
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_verifies_its_message_only() {
        let keys = DefenceKeys::from_secret([7; 32]);
        let tag = keys.sign("hello");
        assert_eq!(tag.len(), 64);
        assert!(keys.verify("hello", &tag));
        assert!(!keys.verify("hellO", &tag));
        assert!(!keys.verify("hello", "zz"));
        assert!(!DefenceKeys::from_secret([8; 32]).verify("hello", &tag));
    }

    #[test]
    fn instances_sharing_a_signing_key_derive_the_same_secret() {
        let pem = SigningKeys::generate_pem().unwrap();
        let one = DefenceKeys::derive(&SigningKeys::from_pem(&pem).unwrap()).unwrap();
        let two = DefenceKeys::derive(&SigningKeys::from_pem(&pem).unwrap()).unwrap();
        assert!(two.verify("m", &one.sign("m")));
        let other = DefenceKeys::derive(&SigningKeys::generate().unwrap()).unwrap();
        assert!(!other.verify("m", &one.sign("m")));
    }
}
