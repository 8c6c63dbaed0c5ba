//! The Ed25519 keys that sign admission (and visitor) tokens, and their JWKS.
//!
//! A key file holds one or more PKCS#8 PEM private keys: every key verifies and is published in
//! the JWKS; one signs, the key named by `WAITROOM_SIGNING_KID` (or, without it, the last one).
//! Naming the signing key lets a rotation go in three rolling restarts with no instance ever
//! refusing another's tokens: publish the new key (verify-only) everywhere, then switch signing
//! to it, then drop the old key once its tokens have expired. Instances sharing a Redis share the
//! file. Without a file a key is generated at start, which only works for a single instance
//! (another instance could not verify its tokens).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A key file that cannot be used. The message is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// One Ed25519 key pair, ready to sign and verify JWTs.
#[derive(Clone)]
pub struct KeyPair {
    /// The key id: the RFC 7638 thumbprint of its public JWK.
    pub kid: String,
    /// The public key as the JWK's `x` (base64url, no padding).
    pub x: String,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
}

impl KeyPair {
    fn from_signing_key(key: &SigningKey) -> Result<Self, KeyError> {
        let der = key
            .to_pkcs8_der()
            .map_err(|error| KeyError(format!("cannot encode an Ed25519 key: {error}")))?;
        let x = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
        let thumbprint_input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes()));
        Ok(Self {
            kid,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(key.verifying_key().as_bytes()),
            x,
        })
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
            "x": self.x,
        })
    }
}

/// The signing keys: every one verifies, one of them signs.
#[derive(Clone)]
pub struct SigningKeys {
    keys: Vec<KeyPair>,
    /// Index in `keys` of the key that signs.
    signing: usize,
}

impl std::fmt::Debug for SigningKeys {
    /// Key ids only: private keys never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("signing", &self.current().kid)
            .field(
                "kids",
                &self.keys.iter().map(|key| &key.kid).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SigningKeys {
    /// A single fresh key (single instance only: nobody else can verify its tokens).
    pub fn generate() -> Result<Self, KeyError> {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        Ok(Self {
            keys: vec![KeyPair::from_signing_key(&key)?],
            signing: 0,
        })
    }

    /// Reads every `PRIVATE KEY` block of a PEM file; the key `signing_kid` signs (the last key
    /// when `None`), the others only verify.
    pub fn from_file_signing_with(
        path: &Path,
        signing_kid: Option<&str>,
    ) -> Result<Self, KeyError> {
        let keys = Self::from_file(path)?;
        match signing_kid {
            Some(kid) => keys.signing_with(kid).map_err(|KeyError(message)| {
                KeyError(format!("signing key file {}: {message}", path.display()))
            }),
            None => Ok(keys),
        }
    }

    /// The same keys, with the key whose id is `kid` signing.
    pub fn signing_with(self, kid: &str) -> Result<Self, KeyError> {
        let Some(signing) = self.keys.iter().position(|key| key.kid == kid) else {
            let kids: Vec<&str> = self.keys.iter().map(|key| key.kid.as_str()).collect();
            return Err(KeyError(format!(
                "holds no key with the id {kid:?} named by signing_kid (WAITROOM_SIGNING_KID); \
                 its keys are {}",
                kids.join(", ")
            )));
        };
        Ok(Self { signing, ..self })
    }

    /// Reads every `PRIVATE KEY` block of a PEM file; the last key signs.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            KeyError(format!(
                "cannot read signing key file {}: {error}",
                path.display()
            ))
        })?;
        Self::from_pem(&text).map_err(|KeyError(message)| {
            KeyError(format!("signing key file {}: {message}", path.display()))
        })
    }

    /// Parses one or more PKCS#8 PEM Ed25519 private keys.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        const END: &str = "-----END PRIVATE KEY-----";
        let mut keys = Vec::new();
        for (index, block) in text.split_inclusive(END).enumerate() {
            if !block.contains(END) {
                if block.trim().is_empty() || keys.is_empty() {
                    continue;
                }
                return Err(KeyError(format!(
                    "the text after key {index} is not a PEM private key"
                )));
            }
            let pem = block.trim();
            let key = SigningKey::from_pkcs8_pem(pem).map_err(|_| {
                KeyError(format!(
                    "key {} is not a PKCS#8 PEM Ed25519 private key (make one with `waitroom keygen`)",
                    index + 1
                ))
            })?;
            keys.push(KeyPair::from_signing_key(&key)?);
        }
        if keys.is_empty() {
            return Err(KeyError(
                "holds no PEM private key (make one with `waitroom keygen`)".to_owned(),
            ));
        }
        let signing = keys.len() - 1;
        Ok(Self { keys, signing })
    }

    /// A new key as PKCS#8 PEM, for `waitroom keygen`.
    pub fn generate_pem() -> Result<String, KeyError> {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        key.to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|error| KeyError(format!("cannot encode an Ed25519 key: {error}")))
    }

    /// The key that signs new tokens.
    pub fn current(&self) -> &KeyPair {
        // Construction guarantees that `signing` indexes a key.
        &self.keys[self.signing]
    }

    /// The key with this id, if it is one of ours.
    pub fn find(&self, kid: &str) -> Option<&KeyPair> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    /// Every key, oldest first.
    pub fn all(&self) -> &[KeyPair] {
        &self.keys
    }

    /// The JWKS document served at `/.well-known/jwks.json`: the signing key first, then every
    /// verify-only key, newest first.
    pub fn jwks(&self) -> Value {
        let verify_only = self
            .keys
            .iter()
            .enumerate()
            .rev()
            .filter(|(index, _)| *index != self.signing)
            .map(|(_, key)| key);
        let keys: Vec<Value> = std::iter::once(self.current())
            .chain(verify_only)
            .map(KeyPair::jwk)
            .collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_with_two_keys_signs_with_the_last() {
        let first = SigningKeys::generate_pem().unwrap();
        let second = SigningKeys::generate_pem().unwrap();
        let keys = SigningKeys::from_pem(&format!("{first}\n{second}")).unwrap();
        let only_second = SigningKeys::from_pem(&second).unwrap();
        assert_eq!(keys.all().len(), 2);
        assert_eq!(keys.current().kid, only_second.current().kid);
        assert_eq!(keys.jwks()["keys"][0]["kid"], only_second.current().kid);
    }

    #[test]
    fn the_named_key_signs_and_every_key_is_published() {
        let first = SigningKeys::generate_pem().unwrap();
        let second = SigningKeys::generate_pem().unwrap();
        let old_kid = SigningKeys::from_pem(&first).unwrap().current().kid.clone();
        let new_kid = SigningKeys::from_pem(&second)
            .unwrap()
            .current()
            .kid
            .clone();
        let keys = SigningKeys::from_pem(&format!("{first}\n{second}"))
            .unwrap()
            .signing_with(&old_kid)
            .unwrap();
        assert_eq!(keys.current().kid, old_kid);
        let jwks = keys.jwks();
        let published: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap())
            .collect();
        assert_eq!(published, [old_kid.as_str(), new_kid.as_str()]);
    }

    #[test]
    fn a_signing_kid_that_is_not_in_the_file_is_refused_naming_the_file_s_keys() {
        let pem = SigningKeys::generate_pem().unwrap();
        let kid = SigningKeys::from_pem(&pem).unwrap().current().kid.clone();
        let error = SigningKeys::from_pem(&pem)
            .unwrap()
            .signing_with("no-such-key")
            .unwrap_err();
        assert!(
            error.0.contains("no-such-key") && error.0.contains(&kid),
            "{error}"
        );
    }

    #[test]
    fn garbage_is_refused_with_a_clear_message() {
        let error = SigningKeys::from_pem("hello").unwrap_err();
        assert!(error.0.contains("no PEM private key"), "{error}");
        let broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let error = SigningKeys::from_pem(broken).unwrap_err();
        assert!(error.0.contains("key 1"), "{error}");
    }

    #[test]
    fn the_jwks_describes_an_ed25519_signing_key() {
        let keys = SigningKeys::generate().unwrap();
        let jwk = &keys.jwks()["keys"][0];
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["alg"], "EdDSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
    }
}
