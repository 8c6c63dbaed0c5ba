//! Shoppers' bearer tokens (user JWTs), issued by the shop's identity provider.
//!
//! Verified with an HS256 secret or with the public keys of a JWKS file. Each key is pinned to one
//! algorithm (the secret to HS256, a JWKS key to its `alg` or its key type), so a token never
//! chooses how it is checked. `exp` and `sub` are required, `iss` and `aud` checked when set.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::AuthError;
use crate::admission::KeyError;
use crate::clock::UnixMillis;
use crate::domain::Tier;

/// Clock skew tolerated on `exp` and `nbf` of user tokens.
const LEEWAY_SECONDS: i64 = 30;

/// The claims waitroom reads from a user token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserClaims {
    /// The user id.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The client tier (`anonymous`, `new`, `regular`, `trusted`, `premium`, `admin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// A verified user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUser {
    /// The `sub`.
    pub user_id: String,
    /// The `tier` claim; `Regular` when absent or unknown.
    pub tier: Tier,
}

enum Keys {
    /// HS256 with a shared secret: can also issue (dev login).
    Secret {
        encoding: EncodingKey,
        decoding: DecodingKey,
        validation: Box<Validation>,
    },
    /// Public keys by `kid`, each with its one algorithm (and its checks, built once).
    Jwks(HashMap<String, (DecodingKey, Validation)>),
    /// No user tokens are accepted.
    None,
}

/// Verifies (and, with a secret, issues) user tokens.
pub struct UserTokens {
    keys: Keys,
    issuer: Option<String>,
    audience: Option<String>,
}

impl UserTokens {
    /// HS256 with `secret`.
    pub fn with_secret(secret: &[u8], issuer: Option<String>, audience: Option<String>) -> Self {
        Self {
            keys: Keys::Secret {
                encoding: EncodingKey::from_secret(secret),
                decoding: DecodingKey::from_secret(secret),
                validation: Box::new(validation(
                    Algorithm::HS256,
                    issuer.as_deref(),
                    audience.as_deref(),
                )),
            },
            issuer,
            audience,
        }
    }

    /// Accepts no user token at all.
    pub fn none() -> Self {
        Self {
            keys: Keys::None,
            issuer: None,
            audience: None,
        }
    }

    /// The public keys of a JWKS file.
    pub fn from_jwks_file(
        path: &Path,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            KeyError(format!(
                "cannot read user JWKS file {}: {error}",
                path.display()
            ))
        })?;
        let set: JwkSet = serde_json::from_str(&text)
            .map_err(|error| KeyError(format!("user JWKS file {}: {error}", path.display())))?;
        let mut keys = HashMap::new();
        for (index, jwk) in set.keys.iter().enumerate() {
            let kid = jwk
                .common
                .key_id
                .clone()
                .unwrap_or_else(|| index.to_string());
            let algorithm = match jwk.common.key_algorithm {
                Some(alg) => Algorithm::from_str(&alg.to_string()).ok(),
                None => match &jwk.algorithm {
                    AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
                    AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                        EllipticCurve::P256 => Some(Algorithm::ES256),
                        EllipticCurve::P384 => Some(Algorithm::ES384),
                        _ => None,
                    },
                    AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
                    _ => None,
                },
            };
            let algorithm = algorithm
                .filter(|alg| {
                    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
                })
                .ok_or_else(|| {
                    KeyError(format!(
                        "user JWKS file {}: key {kid} has no usable public-key algorithm",
                        path.display()
                    ))
                })?;
            let key = DecodingKey::from_jwk(jwk).map_err(|error| {
                KeyError(format!(
                    "user JWKS file {}: key {kid}: {error}",
                    path.display()
                ))
            })?;
            let checks = validation(algorithm, issuer.as_deref(), audience.as_deref());
            keys.insert(kid, (key, checks));
        }
        if keys.is_empty() {
            return Err(KeyError(format!(
                "user JWKS file {} holds no key",
                path.display()
            )));
        }
        Ok(Self {
            keys: Keys::Jwks(keys),
            issuer,
            audience,
        })
    }

    /// Verifies a user token at `now`.
    pub fn verify(&self, token: &str, now: UnixMillis) -> Result<VerifiedUser, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        let (user, times) = self.prove(token, &header)?;
        times.judge(now)?;
        Ok(user)
    }

    /// What a user token proves whatever the time (its `header` already decoded): the user, and
    /// the times it holds between, to be judged at the caller's `now`.
    pub(super) fn prove(
        &self,
        token: &str,
        header: &Header,
    ) -> Result<(VerifiedUser, TokenTimes), AuthError> {
        let (key, validation) = match &self.keys {
            Keys::Secret {
                decoding,
                validation,
                ..
            } => (decoding, validation.as_ref()),
            Keys::Jwks(keys) => {
                let entry = match &header.kid {
                    Some(kid) => keys.get(kid),
                    None if keys.len() == 1 => keys.values().next(),
                    None => None,
                };
                let (key, validation) = entry.ok_or(AuthError::Invalid)?;
                (key, validation)
            }
            Keys::None => return Err(AuthError::Invalid),
        };
        if !validation.algorithms.contains(&header.alg) {
            return Err(AuthError::Invalid);
        }
        let claims = jsonwebtoken::decode::<UserClaims>(token, key, validation)
            .map_err(|_| AuthError::Invalid)?
            .claims;
        let times = TokenTimes {
            valid_from: claims.nbf.map(|nbf| nbf.saturating_sub(LEEWAY_SECONDS)),
            expired_from: claims.exp.saturating_add(LEEWAY_SECONDS),
        };
        let user = VerifiedUser {
            tier: claims
                .tier
                .as_deref()
                .and_then(Tier::parse)
                .unwrap_or(Tier::Regular),
            user_id: claims.sub,
        };
        Ok((user, times))
    }

    /// Issues a token for `user_id` valid for `ttl_seconds` (dev login). `None` unless the tokens
    /// are HS256 with a secret we hold.
    pub fn issue(
        &self,
        user_id: &str,
        tier: Tier,
        now: UnixMillis,
        ttl_seconds: i64,
    ) -> Option<String> {
        let Keys::Secret { encoding, .. } = &self.keys else {
            return None;
        };
        let iat = now.div_euclid(1000);
        let claims = UserClaims {
            sub: user_id.to_owned(),
            exp: iat + ttl_seconds,
            nbf: None,
            iat: Some(iat),
            tier: Some(tier.as_str().to_owned()),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, encoding).ok()
    }
}

/// When a verified user token holds, in seconds since the epoch, leeway included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TokenTimes {
    /// Not before (absent: from any time).
    pub valid_from: Option<i64>,
    /// Expired from this second on.
    pub expired_from: i64,
}

impl TokenTimes {
    /// Whether the token holds at `now`: expiry first, then not-before.
    pub fn judge(&self, now: UnixMillis) -> Result<(), AuthError> {
        let now_seconds = now.div_euclid(1000);
        if now_seconds >= self.expired_from {
            return Err(AuthError::Expired);
        }
        if self.valid_from.is_some_and(|from| now_seconds < from) {
            return Err(AuthError::Invalid);
        }
        Ok(())
    }
}

/// The checks of one key's tokens: its one algorithm, `exp` and `sub` required, `iss` and `aud`
/// when set. Times are judged by the caller, who owns the clock.
fn validation(algorithm: Algorithm, issuer: Option<&str>, audience: Option<&str>) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = audience.is_some();
    if let Some(issuer) = issuer {
        validation.set_issuer(&[issuer]);
        validation.required_spec_claims.insert("iss".to_owned());
    }
    if let Some(audience) = audience {
        validation.set_audience(&[audience]);
        validation.required_spec_claims.insert("aud".to_owned());
    }
    validation
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = 1_800_000_000_000;

    #[test]
    fn an_issued_token_verifies_with_its_tier() {
        let tokens = UserTokens::with_secret(b"0123456789abcdef0123456789abcdef", None, None);
        let token = tokens.issue("alice", Tier::Premium, NOW, 3600).unwrap();
        let user = tokens.verify(&token, NOW + 1000).unwrap();
        assert_eq!(user.user_id, "alice");
        assert_eq!(user.tier, Tier::Premium);
    }

    #[test]
    fn an_expired_token_is_refused() {
        let tokens = UserTokens::with_secret(b"secret-secret-secret-secret-1234", None, None);
        let token = tokens.issue("alice", Tier::Regular, NOW, 60).unwrap();
        assert_eq!(
            tokens.verify(&token, NOW + 60_000 + LEEWAY_SECONDS * 1000),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn issuer_and_audience_are_checked_when_set() {
        let strict = UserTokens::with_secret(
            b"secret-secret-secret-secret-1234",
            Some("https://id.shop".into()),
            Some("waitroom".into()),
        );
        let lax = UserTokens::with_secret(b"secret-secret-secret-secret-1234", None, None);
        let token = lax.issue("alice", Tier::Regular, NOW, 60).unwrap();
        assert_eq!(strict.verify(&token, NOW), Err(AuthError::Invalid));
        let token = strict.issue("alice", Tier::Regular, NOW, 60).unwrap();
        assert!(strict.verify(&token, NOW).is_ok());
    }

    /// A JWKS file holding one of our Ed25519 keys as an identity provider's key.
    fn jwks_file(keys: &crate::admission::SigningKeys) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("users-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&path, keys.jwks().to_string()).unwrap();
        path
    }

    fn idp_token(keys: &crate::admission::SigningKeys, header: Header, exp: i64) -> String {
        let key = keys.current();
        let claims = serde_json::json!({ "sub": "carol", "exp": exp, "tier": "trusted" });
        let mut header = header;
        header.kid = Some(key.kid.clone());
        match header.alg {
            Algorithm::HS256 => {
                use base64::Engine as _;
                let public = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(&key.x)
                    .unwrap();
                jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&public)).unwrap()
            }
            _ => jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap(),
        }
    }

    #[test]
    fn a_jwks_key_verifies_its_own_algorithm_only() {
        let idp = crate::admission::SigningKeys::generate().unwrap();
        let path = jwks_file(&idp);
        let tokens = UserTokens::from_jwks_file(&path, None, None).unwrap();
        let exp = NOW / 1000 + 60;
        let good = idp_token(&idp, Header::new(Algorithm::EdDSA), exp);
        let user = tokens.verify(&good, NOW).unwrap();
        assert_eq!(user.user_id, "carol");
        assert_eq!(user.tier, Tier::Trusted);
        let confused = idp_token(&idp, Header::new(Algorithm::HS256), exp);
        assert_eq!(tokens.verify(&confused, NOW), Err(AuthError::Invalid));
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let ours = UserTokens::with_secret(b"secret-secret-secret-secret-1234", None, None);
        let theirs = UserTokens::with_secret(b"another-secret-another-secret-12", None, None);
        let token = theirs.issue("alice", Tier::Admin, NOW, 60).unwrap();
        assert_eq!(ours.verify(&token, NOW), Err(AuthError::Invalid));
    }
}
