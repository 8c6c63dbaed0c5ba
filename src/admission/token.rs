//! Admission tokens: EdDSA JWTs that let one shopper check out once in one event.
//!
//! Claims: `iss` `waitroom`, `aud` `checkout`, `sub` (user or visitor id), `evt` (event id),
//! `jti` (ticket id), `iat`, `nbf`, `exp`; header `alg` `EdDSA` and `kid`. The token of an admitted
//! ticket is a pure function of the ticket and the key (Ed25519 signatures are deterministic), so
//! any instance re-signs the same token from the store's `admitted_at` and `expires_at`.
//!
//! Verification pins EdDSA and never takes the algorithm from the token: `alg: none` and tokens
//! HMAC-signed with the public key are refused before any key is used.

use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::keys::{KeyError, SigningKeys};
use crate::clock::UnixMillis;
use crate::domain::{EventId, TicketId};

/// The issuer of every token waitroom signs.
pub const ISSUER: &str = "waitroom";
/// The audience of admission tokens.
pub const ADMISSION_AUDIENCE: &str = "checkout";
/// Clock skew tolerated on `nbf` between instances: a token one instance signed is good at once
/// on another whose clock is up to this much behind. Never on `exp`: the store is the judge.
pub const NOT_BEFORE_LEEWAY_SECONDS: i64 = 5;

/// The claims of an admission token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionClaims {
    pub iss: String,
    pub aud: String,
    /// The user id or visitor id admitted.
    pub sub: String,
    /// The event id.
    pub evt: String,
    /// The ticket id.
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// What a verified admission token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The admitted user or visitor id (the `sub`).
    pub subject: String,
    /// The event it is valid for.
    pub event: EventId,
    /// The ticket it consumes.
    pub ticket_id: TicketId,
    /// When the shopper was admitted, to the second (the `iat`).
    pub admitted_at: UnixMillis,
    /// When it stops being valid.
    pub expires_at: UnixMillis,
}

/// What is wrong with an admission token. Every kind answers `403 not_admitted`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    #[error("no Admission-Token header")]
    Missing,
    #[error("the admission token is not a valid token signed by this waiting room")]
    Invalid,
    #[error("the admission token has expired")]
    Expired,
    #[error("the admission token is not valid yet")]
    NotYetValid,
    #[error("the admission token belongs to another shopper")]
    OtherSubject,
    #[error("the admission token is for another event")]
    OtherEvent,
}

/// What the verifier compares the token with, besides signature and time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expected<'a> {
    /// The caller's user or visitor id, when known.
    pub subject: Option<&'a str>,
    /// The event of the request, when known.
    pub event: Option<&'a EventId>,
}

/// Signs the admission token of `ticket_id` for `subject` in `event`.
pub fn sign_admission(
    keys: &SigningKeys,
    subject: &str,
    event: &EventId,
    ticket_id: TicketId,
    admitted_at: UnixMillis,
    expires_at: UnixMillis,
) -> Result<String, KeyError> {
    let claims = AdmissionClaims {
        iss: ISSUER.to_owned(),
        aud: ADMISSION_AUDIENCE.to_owned(),
        sub: subject.to_owned(),
        evt: event.as_str().to_owned(),
        jti: ticket_id.to_string(),
        iat: admitted_at.div_euclid(1000),
        nbf: admitted_at.div_euclid(1000),
        exp: expires_at.div_euclid(1000),
    };
    sign(keys, &claims)
}

/// Signs any claims with the current key (EdDSA, with its `kid`).
pub(crate) fn sign<T: Serialize>(keys: &SigningKeys, claims: &T) -> Result<String, KeyError> {
    let key = keys.current();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding)
        .map_err(|error| KeyError(format!("cannot sign a token: {error}")))
}

/// Verifies admission tokens against a set of public keys (ours, or a JWKS of ours).
#[derive(Clone)]
pub struct AdmissionVerifier {
    keys: Vec<(String, DecodingKey)>,
}

impl AdmissionVerifier {
    /// Verifies with the public halves of our signing keys.
    pub fn from_keys(keys: &SigningKeys) -> Self {
        Self {
            keys: keys
                .all()
                .iter()
                .map(|key| (key.kid.clone(), key.decoding.clone()))
                .collect(),
        }
    }

    /// Verifies with the Ed25519 keys of a JWKS document (as served at `/.well-known/jwks.json`).
    pub fn from_jwks(json: &str) -> Result<Self, KeyError> {
        #[derive(Deserialize)]
        struct Jwk {
            kty: String,
            crv: Option<String>,
            kid: Option<String>,
            x: Option<String>,
        }
        #[derive(Deserialize)]
        struct Jwks {
            keys: Vec<Jwk>,
        }
        let jwks: Jwks = serde_json::from_str(json)
            .map_err(|error| KeyError(format!("not a JWKS document: {error}")))?;
        let mut keys = Vec::new();
        for jwk in jwks.keys {
            if let (Some(kid), Some(x), "OKP", Some("Ed25519")) =
                (jwk.kid, jwk.x, jwk.kty.as_str(), jwk.crv.as_deref())
            {
                let key = DecodingKey::from_ed_components(&x)
                    .map_err(|error| KeyError(format!("key {kid}: {error}")))?;
                keys.push((kid, key));
            }
        }
        if keys.is_empty() {
            return Err(KeyError("the JWKS holds no Ed25519 key".to_owned()));
        }
        Ok(Self { keys })
    }

    /// Verifies an admission token at `now` and checks it against what is expected.
    pub fn verify(
        &self,
        token: &str,
        now: UnixMillis,
        expected: Expected<'_>,
    ) -> Result<Admission, AdmissionError> {
        let claims: AdmissionClaims = self.decode(token, ADMISSION_AUDIENCE)?;
        let now_seconds = now.div_euclid(1000);
        if claims.iss != ISSUER || claims.aud != ADMISSION_AUDIENCE {
            return Err(AdmissionError::Invalid);
        }
        if now_seconds >= claims.exp {
            return Err(AdmissionError::Expired);
        }
        if now_seconds + NOT_BEFORE_LEEWAY_SECONDS < claims.nbf {
            return Err(AdmissionError::NotYetValid);
        }
        let event = EventId::parse(&claims.evt).map_err(|_| AdmissionError::Invalid)?;
        let ticket_id = TicketId::parse(&claims.jti).map_err(|_| AdmissionError::Invalid)?;
        if expected
            .subject
            .is_some_and(|subject| subject != claims.sub)
        {
            return Err(AdmissionError::OtherSubject);
        }
        if expected.event.is_some_and(|expected| *expected != event) {
            return Err(AdmissionError::OtherEvent);
        }
        Ok(Admission {
            subject: claims.sub,
            event,
            ticket_id,
            admitted_at: claims.iat.saturating_mul(1000),
            expires_at: claims.exp.saturating_mul(1000),
        })
    }

    /// Checks the signature (EdDSA only, key chosen by `kid`), `iss` and `aud`, and that every
    /// registered claim is present. Times are left to the caller, who owns the clock.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<T, AdmissionError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AdmissionError::Invalid)?;
        if header.alg != Algorithm::EdDSA {
            return Err(AdmissionError::Invalid);
        }
        let kid = header.kid.ok_or(AdmissionError::Invalid)?;
        let (_, key) = self
            .keys
            .iter()
            .find(|(known, _)| *known == kid)
            .ok_or(AdmissionError::Invalid)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience]);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        jsonwebtoken::decode::<T>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| AdmissionError::Invalid)
    }
}

#[cfg(test)]
mod tests;
