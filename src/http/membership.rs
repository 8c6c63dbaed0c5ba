//! Members-only events: an event that does not allow anonymous visitors refuses visitor
//! identities wherever a shopper acts on it (join, position socket, checkout), not only callers
//! who send no credentials. Visitor tokens are valid in every event, so one minted where visitors
//! are welcome must not open a place or a purchase where they are not.

use axum::http::StatusCode;

use crate::domain::EventConfig;
use crate::error::ApiError;
use crate::identity::Shopper;

/// `Ok` when `shopper` may act on the event of `config`: a signed-in user always, a visitor only
/// where the event allows anonymous visitors. Otherwise `403 members_only`.
pub fn require_member(config: &EventConfig, shopper: &Shopper) -> Result<(), ApiError> {
    if config.allow_anonymous || !shopper.identity.is_visitor() {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "members_only",
        "This event is for signed-in shoppers",
    )
    .detail(
        "a visitor identity cannot take part in this event: sign in and send \
         Authorization: Bearer <token>",
    ))
}
