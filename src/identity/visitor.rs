//! Anonymous visitors: a random id, signed by waitroom so it cannot be guessed or forged.
//!
//! The visitor token is an EdDSA JWT with its own audience (`waitroom-visitor`), signed with the
//! admission keys so every instance sharing the key file recognises it. It is handed out at join
//! as `visitor_token` and as the cookie `waitroom_visitor`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AuthError;
use super::user_token::TokenTimes;
use crate::admission::token::{ISSUER, sign};
use crate::admission::{AdmissionError, AdmissionVerifier, KeyError, SigningKeys};
use crate::clock::UnixMillis;

/// The audience of visitor tokens: never accepted where an admission is expected.
pub const VISITOR_AUDIENCE: &str = "waitroom-visitor";
/// The cookie carrying the visitor token.
pub const VISITOR_COOKIE: &str = "waitroom_visitor";
/// How long a visitor keeps an identity.
pub const VISITOR_TTL_SECONDS: i64 = 7 * 24 * 3600;

#[derive(Debug, Serialize, Deserialize)]
struct VisitorClaims {
    iss: String,
    aud: String,
    sub: String,
    iat: i64,
    nbf: i64,
    exp: i64,
}

/// A fresh visitor id and its token.
pub fn issue_visitor(keys: &SigningKeys, now: UnixMillis) -> Result<(String, String), KeyError> {
    let visitor_id = Uuid::new_v4().simple().to_string();
    let token = visitor_token(keys, &visitor_id, now)?;
    Ok((visitor_id, token))
}

/// A token for an existing visitor id, valid from `now` (a renewal keeps the identity alive).
pub fn visitor_token(
    keys: &SigningKeys,
    visitor_id: &str,
    now: UnixMillis,
) -> Result<String, KeyError> {
    let iat = now.div_euclid(1000);
    let claims = VisitorClaims {
        iss: ISSUER.to_owned(),
        aud: VISITOR_AUDIENCE.to_owned(),
        sub: visitor_id.to_owned(),
        iat,
        nbf: iat,
        exp: iat + VISITOR_TTL_SECONDS,
    };
    sign(keys, &claims)
}

/// What a visitor token proves whatever the time: the visitor id, and until when it holds.
pub(super) fn prove_visitor(
    verifier: &AdmissionVerifier,
    token: &str,
) -> Result<(String, TokenTimes), AuthError> {
    let claims: VisitorClaims =
        verifier
            .decode(token, VISITOR_AUDIENCE)
            .map_err(|error| match error {
                AdmissionError::Expired => AuthError::Expired,
                _ => AuthError::Invalid,
            })?;
    let times = TokenTimes {
        valid_from: None,
        expired_from: claims.exp,
    };
    Ok((claims.sub, times))
}
