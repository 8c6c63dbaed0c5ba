//! Signing a crowd in: through the server's dev login, or by minting HS256 user tokens with the
//! secret the server verifies them with (no request at all, for crowds of 100,000).

use std::sync::Arc;

use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::api::{Api, Identity};
use crate::recorder::Actor;

/// How user tokens are obtained.
#[derive(Clone)]
pub enum SignIn {
    /// `POST /v1/dev/login` per identity.
    DevLogin,
    /// Tokens minted locally with the server's `WAITROOM_USER_JWT_SECRET`.
    Secret(Arc<EncodingKey>),
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::DevLogin => "DevLogin",
            Self::Secret(_) => "Secret(..)",
        })
    }
}

/// The claims of a user token.
#[derive(Debug, Serialize)]
struct UserClaims<'a> {
    sub: &'a str,
    exp: i64,
    iat: i64,
    tier: &'a str,
}

/// Why a crowd could not sign in.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("dev login answered {status} for {user}: is WAITROOM_DEV_LOGIN=true on the server?")]
    Refused { user: String, status: u16 },
    #[error("dev login failed: {0}")]
    Transport(String),
    #[error("cannot mint a user token: {0}")]
    Mint(String),
}

/// Mints an HS256 user token valid for two hours from `now_seconds`.
pub fn mint_user_token(
    key: &EncodingKey,
    user_id: &str,
    now_seconds: i64,
) -> Result<String, SignInError> {
    let claims = UserClaims {
        sub: user_id,
        exp: now_seconds + 7_200,
        iat: now_seconds,
        tier: "regular",
    };
    jsonwebtoken::encode(&Header::default(), &claims, key)
        .map_err(|e| SignInError::Mint(e.to_string()))
}

/// A planned identity before it has a token.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The user id.
    pub user_id: String,
    /// Its `X-Forwarded-For`, if any.
    pub forwarded_for: Option<String>,
    /// Its crowd.
    pub actor: Actor,
}

/// Signs every pending identity in, keeping their order. Dev logins run concurrently, bounded by
/// the client's in-flight limit; `on_done` is called once per identity.
pub async fn sign_in_all(
    how: &SignIn,
    api: &Api,
    pending: Vec<Pending>,
    now_seconds: i64,
    on_done: impl Fn() + Send + Sync + 'static,
) -> Result<Vec<Identity>, SignInError> {
    let on_done = Arc::new(on_done);
    let key = match how {
        SignIn::Secret(key) => key.clone(),
        SignIn::DevLogin => return dev_login_all(api, pending, on_done).await,
    };
    let mut identities = Vec::with_capacity(pending.len());
    for plan in pending {
        let token = mint_user_token(&key, &plan.user_id, now_seconds)?;
        on_done();
        identities.push(into_identity(plan, token));
    }
    Ok(identities)
}

async fn dev_login_all(
    api: &Api,
    pending: Vec<Pending>,
    on_done: Arc<dyn Fn() + Send + Sync>,
) -> Result<Vec<Identity>, SignInError> {
    let count = pending.len();
    let mut tasks = JoinSet::new();
    for (index, plan) in pending.into_iter().enumerate() {
        let api = api.clone();
        let on_done = on_done.clone();
        tasks.spawn(async move {
            let reply = login_patiently(&api, &plan).await?;
            let token = match reply.text("access_token") {
                Some(token) if reply.is_success() => token.to_owned(),
                _ => {
                    return Err(SignInError::Refused {
                        user: plan.user_id,
                        status: reply.status,
                    });
                }
            };
            on_done();
            Ok((index, into_identity(plan, token)))
        });
    }
    let mut slots: Vec<Option<Identity>> = vec![None; count];
    while let Some(joined) = tasks.join_next().await {
        let (index, identity) = joined.map_err(|e| SignInError::Transport(e.to_string()))??;
        slots[index] = Some(identity);
    }
    Ok(slots.into_iter().flatten().collect())
}

/// Dev login, waiting out rate limits (a crowd signing in at once may well meet them).
async fn login_patiently(api: &Api, plan: &Pending) -> Result<crate::api::Reply, SignInError> {
    const TRIES: u32 = 20;
    let mut tries = 0;
    loop {
        let reply = api
            .login(plan.actor, &plan.user_id)
            .await
            .map_err(|e| SignInError::Transport(e.0))?;
        tries += 1;
        if !matches!(reply.status, 429 | 503) || tries >= TRIES {
            return Ok(reply);
        }
        let wait = reply
            .retry_after
            .unwrap_or(std::time::Duration::from_secs(1));
        tokio::time::sleep(wait.clamp(
            std::time::Duration::from_millis(50),
            std::time::Duration::from_secs(10),
        ))
        .await;
    }
}

fn into_identity(plan: Pending, token: String) -> Identity {
    Identity {
        user_id: plan.user_id,
        token,
        forwarded_for: plan.forwarded_for,
        actor: plan.actor,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn a_minted_token_verifies_with_the_same_secret_and_names_the_user() {
        let key = EncodingKey::from_secret(b"s3cret");
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let token = mint_user_token(&key, "shopper-7", now).unwrap();
        let decoded = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &DecodingKey::from_secret(b"s3cret"),
            &Validation::default(),
        )
        .unwrap();
        assert_eq!(decoded.claims["sub"], "shopper-7");
    }
}
