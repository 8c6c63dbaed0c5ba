//! Who a shopper is: a signed-in user (bearer user JWT) or an anonymous visitor (signed visitor
//! token), and their tier.
//!
//! The HTTP layer extracts credentials from the request; this module only judges them, so the
//! WebSocket route (token in `?access_token=`) and the REST routes share one judgement.

mod proof;
mod socket_ticket;
mod user_token;
mod visitor;

use crate::admission::{AdmissionVerifier, KeyError, SigningKeys};
use crate::clock::UnixMillis;
use crate::domain::{EventId, Identity, TicketId, Tier};
use proof::{Proof, Proofs};
use socket_ticket::SpentSocketTickets;

pub use socket_ticket::{RedeemedSocketTicket, SOCKET_TICKET_AUDIENCE, SOCKET_TICKET_TTL_SECONDS};
pub use user_token::{UserClaims, UserTokens, VerifiedUser};
pub use visitor::{VISITOR_AUDIENCE, VISITOR_COOKIE, VISITOR_TTL_SECONDS};

/// Why credentials were refused. Each answers `401`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials: send Authorization: Bearer <token>")]
    Missing,
    #[error("the token is not valid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
}

/// An authenticated shopper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shopper {
    /// Their place-holding identity (`u:<sub>` or `v:<visitor id>`).
    pub identity: Identity,
    /// Their tier: from the user token, `Anonymous` for visitors.
    pub tier: Tier,
}

/// Judges shoppers' credentials.
pub struct Authenticator {
    users: UserTokens,
    keys: SigningKeys,
    verifier: AdmissionVerifier,
    /// Bearer tokens proved lately (the keys above never change, so neither do their proofs).
    proofs: Proofs,
    /// Socket tickets already used here.
    spent_socket_tickets: SpentSocketTickets,
}

impl Authenticator {
    /// Users verified by `users`; visitors by our own signing keys.
    pub fn new(users: UserTokens, keys: &SigningKeys) -> Self {
        Self {
            users,
            verifier: AdmissionVerifier::from_keys(keys),
            keys: keys.clone(),
            proofs: Proofs::new(),
            spent_socket_tickets: SpentSocketTickets::default(),
        }
    }

    /// A socket ticket opening `shopper`'s socket of `event`'s `ticket`, and when it expires.
    pub fn issue_socket_ticket(
        &self,
        shopper: &Shopper,
        event: &EventId,
        ticket: TicketId,
        now: UnixMillis,
    ) -> Result<(String, UnixMillis), KeyError> {
        socket_ticket::issue_socket_ticket(&self.keys, shopper, event, ticket, now)
    }

    /// The shopper a socket ticket names, if it opens `event`'s `ticket` at `now`; it is spent on
    /// this instance (the caller records the use in the store for the others).
    pub fn redeem_socket_ticket(
        &self,
        token: &str,
        event: &EventId,
        ticket: TicketId,
        now: UnixMillis,
    ) -> Result<RedeemedSocketTicket, AuthError> {
        self.spent_socket_tickets
            .redeem(&self.verifier, token, event, ticket, now)
    }

    /// A bearer token: a visitor token of ours, or a user token.
    pub fn bearer(&self, token: &str, now: UnixMillis) -> Result<Shopper, AuthError> {
        self.proofs.judge(token, now, || self.prove_bearer(token))
    }

    /// A visitor token (from the cookie or the join answer).
    pub fn visitor(&self, token: &str, now: UnixMillis) -> Result<Shopper, AuthError> {
        self.prove_visitor(token).at(now)
    }

    /// What a bearer token proves whatever the time.
    fn prove_bearer(&self, token: &str) -> Proof {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Proof::Refused(AuthError::Invalid);
        };
        if self.is_visitor_token(&header, token) {
            return self.prove_visitor(token);
        }
        match self.users.prove(token, &header) {
            Ok((user, times)) => Proof::Signed {
                shopper: Identity::user(&user.user_id)
                    .map(|identity| Shopper {
                        identity,
                        tier: user.tier,
                    })
                    .map_err(|_| AuthError::Invalid),
                times,
            },
            Err(error) => Proof::Refused(error),
        }
    }

    fn prove_visitor(&self, token: &str) -> Proof {
        match visitor::prove_visitor(&self.verifier, token) {
            Ok((visitor_id, times)) => Proof::Signed {
                shopper: Identity::visitor(&visitor_id)
                    .map(|identity| Shopper {
                        identity,
                        tier: Tier::Anonymous,
                    })
                    .map_err(|_| AuthError::Invalid),
                times,
            },
            Err(error) => Proof::Refused(error),
        }
    }

    /// A new anonymous visitor and their token.
    pub fn new_visitor(&self, now: UnixMillis) -> Result<(Shopper, String), KeyError> {
        let (visitor_id, token) = visitor::issue_visitor(&self.keys, now)?;
        let identity = Identity::visitor(&visitor_id)
            .map_err(|error| KeyError(format!("visitor id: {error}")))?;
        let shopper = Shopper {
            identity,
            tier: Tier::Anonymous,
        };
        Ok((shopper, token))
    }

    /// A renewed token for a visitor (`None` for a signed-in user).
    pub fn renew_visitor(
        &self,
        shopper: &Shopper,
        now: UnixMillis,
    ) -> Result<Option<String>, KeyError> {
        if !shopper.identity.is_visitor() {
            return Ok(None);
        }
        visitor::visitor_token(&self.keys, shopper.identity.subject(), now).map(Some)
    }

    /// The user tokens (dev login issues through them).
    pub fn users(&self) -> &UserTokens {
        &self.users
    }

    /// Whether the token (its `header` decoded) names one of our keys and the visitor audience,
    /// without verifying it.
    fn is_visitor_token(&self, header: &jsonwebtoken::Header, token: &str) -> bool {
        let ours = header
            .kid
            .as_deref()
            .is_some_and(|kid| self.keys.find(kid).is_some());
        ours && jsonwebtoken::dangerous::insecure_decode_claims::<serde_json::Value>(token)
            .is_ok_and(|claims| claims["aud"] == VISITOR_AUDIENCE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = 1_800_000_000_000;

    fn authenticator() -> Authenticator {
        let users = UserTokens::with_secret(b"secret-secret-secret-secret-1234", None, None);
        Authenticator::new(users, &SigningKeys::generate().unwrap())
    }

    #[test]
    fn a_visitor_token_is_accepted_as_a_bearer_and_names_a_visitor() {
        let auth = authenticator();
        let (shopper, token) = auth.new_visitor(NOW).unwrap();
        let again = auth.bearer(&token, NOW + 1000).unwrap();
        assert_eq!(again, shopper);
        assert!(again.identity.is_visitor());
        assert_eq!(again.tier, Tier::Anonymous);
    }

    #[test]
    fn a_user_token_names_a_user() {
        let auth = authenticator();
        let token = auth.users().issue("alice", Tier::New, NOW, 60).unwrap();
        let shopper = auth.bearer(&token, NOW).unwrap();
        assert_eq!(shopper.identity.as_str(), "u:alice");
        assert_eq!(shopper.tier, Tier::New);
    }

    #[test]
    fn another_instances_visitor_token_is_refused() {
        let (_, token) = authenticator().new_visitor(NOW).unwrap();
        assert_eq!(authenticator().bearer(&token, NOW), Err(AuthError::Invalid));
    }
}
