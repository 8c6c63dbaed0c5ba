//! The join's defences as HTTP: the proof of work and the invitation a join body carries,
//! checked against the event's settings before the store is asked to join.
//!
//! Both texts are checked first (a MAC and a hash each, no store work), then their uses are
//! claimed in the store: a refused join costs the store nothing unless its proof was real.

use axum::http::StatusCode;
use serde::Deserialize;

use crate::clock::UnixMillis;
use crate::defences::proof_of_work::{self, ProofError, VerifiedProof};
use crate::defences::{Invitation, InvitationError};
use crate::domain::{Claim, ClaimOutcome, EventConfig, Identity};
use crate::error::ApiError;
use crate::http::state::AppState;

/// A proof of work: a challenge from `GET /v1/events/{event}/challenge` and the nonce found
/// for it.
#[derive(Debug, Clone, Deserialize, garde::Validate, utoipa::ToSchema)]
#[schema(as = ProofOfWork)]
pub struct ProofBody {
    /// The challenge text, as fetched.
    #[garde(skip)]
    pub challenge: String,
    /// A decimal number such that SHA-256 of `challenge + ":" + nonce` starts with the
    /// challenge's `difficulty` zero bits.
    #[garde(skip)]
    #[schema(pattern = "^[0-9]{1,20}$", example = "48213")]
    pub nonce: String,
}

/// What a join carries for the event's defences.
pub struct Presented<'a> {
    pub proof: Option<&'a ProofBody>,
    pub invitation: Option<&'a str>,
}

/// Checks what `identity` presents to join the event at `now`; `Ok` when the event asks for
/// nothing more or everything it asks is there, valid and not used up.
pub async fn check(
    state: &AppState,
    config: &EventConfig,
    identity: &Identity,
    presented: Presented<'_>,
    now: UnixMillis,
) -> Result<(), ApiError> {
    let defences = config.defences;
    let invitation = if defences.invitation_only {
        let text = presented.invitation.ok_or(InvitationError::Missing)?;
        Some(Invitation::verify(
            &state.defence_keys,
            &config.id,
            text,
            now,
        )?)
    } else {
        None
    };
    let proof = match (defences.proof_difficulty, presented.proof) {
        (0, _) => None,
        (_, None) => return Err(proof_required()),
        (required, Some(proof)) => Some(proof_of_work::verify(
            &state.defence_keys,
            &config.id,
            identity,
            required,
            &proof.challenge,
            &proof.nonce,
            now,
        )?),
    };
    if let Some(proof) = proof {
        spend(state, config, identity, &proof).await?;
    }
    if let Some(invitation) = invitation {
        use_invitation(state, config, identity, &invitation).await?;
    }
    Ok(())
}

async fn spend(
    state: &AppState,
    config: &EventConfig,
    identity: &Identity,
    proof: &VerifiedProof,
) -> Result<(), ApiError> {
    let claim = Claim {
        name: format!("pow:{}", proof.id),
        holder: identity.as_str().to_owned(),
        limit: 1,
        until: proof.expires_at,
    };
    match state.store.claim(&config.id, &claim).await? {
        ClaimOutcome::Granted => Ok(()),
        ClaimOutcome::NoEvent => Err(ApiError::not_found(format!("no event {}", config.id))),
        ClaimOutcome::AlreadyHeld | ClaimOutcome::Refused => Err(ProofError::Spent.into()),
    }
}

async fn use_invitation(
    state: &AppState,
    config: &EventConfig,
    identity: &Identity,
    invitation: &Invitation,
) -> Result<(), ApiError> {
    let claim = Claim {
        name: format!("inv:{}", invitation.id),
        holder: identity.as_str().to_owned(),
        limit: invitation.uses,
        until: invitation.expires_at,
    };
    match state.store.claim(&config.id, &claim).await? {
        ClaimOutcome::Granted | ClaimOutcome::AlreadyHeld => Ok(()),
        ClaimOutcome::NoEvent => Err(ApiError::not_found(format!("no event {}", config.id))),
        ClaimOutcome::Refused => Err(InvitationError::UsedUp.into()),
    }
}

fn proof_required() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "proof_required",
        "A proof of work is required",
    )
    .detail(
        "this event asks for a proof of work: fetch GET /v1/events/{event}/challenge, find \
             a nonce, and join with {\"proof\":{\"challenge\":…,\"nonce\":…}}",
    )
}
