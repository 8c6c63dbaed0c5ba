//! Socket tickets: a short-lived, single-use pass that opens one ticket's position socket.
//!
//! Browsers cannot set headers on a WebSocket, and whatever goes in its URL lands in every
//! proxy's access log. So the page asks for a socket ticket by an authenticated `POST` and puts
//! that in the URL instead: it names one event's ticket, holds for [`SOCKET_TICKET_TTL_SECONDS`],
//! and opens one socket. A logged one is spent or about to expire.
//!
//! The ticket is an EdDSA JWT of our own keys (audience `waitroom-socket`), so every instance
//! sharing the key file accepts it. The instance that accepts it remembers it (a replay to the
//! same instance is refused without a store call), and the socket's route records its one use in
//! the store, so that no other instance accepts it again.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AuthError, Shopper};
use crate::admission::token::{ISSUER, NOT_BEFORE_LEEWAY_SECONDS, sign};
use crate::admission::{AdmissionError, AdmissionVerifier, KeyError, SigningKeys};
use crate::clock::UnixMillis;
use crate::domain::{EventId, Identity, TicketId, Tier};

/// The audience of socket tickets: accepted by the position socket only.
pub const SOCKET_TICKET_AUDIENCE: &str = "waitroom-socket";
/// How long a socket ticket holds: long enough for a slow network's handshake.
pub const SOCKET_TICKET_TTL_SECONDS: i64 = 30;

#[derive(Debug, Serialize, Deserialize)]
struct SocketTicketClaims {
    iss: String,
    aud: String,
    /// The shopper's identity (`u:…` or `v:…`).
    sub: String,
    tier: Tier,
    evt: String,
    /// The queue ticket whose socket this opens.
    tkt: String,
    /// This socket ticket's own id, remembered once used.
    jti: String,
    iat: i64,
    nbf: i64,
    exp: i64,
}

/// A new socket ticket for `shopper`'s socket of `ticket`, and when it expires.
pub fn issue_socket_ticket(
    keys: &SigningKeys,
    shopper: &Shopper,
    event: &EventId,
    ticket: TicketId,
    now: UnixMillis,
) -> Result<(String, UnixMillis), KeyError> {
    let iat = now.div_euclid(1000);
    let exp = iat + SOCKET_TICKET_TTL_SECONDS;
    let claims = SocketTicketClaims {
        iss: ISSUER.to_owned(),
        aud: SOCKET_TICKET_AUDIENCE.to_owned(),
        sub: shopper.identity.as_str().to_owned(),
        tier: shopper.tier,
        evt: event.as_str().to_owned(),
        tkt: ticket.to_string(),
        jti: Uuid::new_v4().simple().to_string(),
        iat,
        nbf: iat,
        exp,
    };
    Ok((sign(keys, &claims)?, exp * 1000))
}

/// A socket ticket this instance accepted: whose it is, and its id and end, under which the
/// store records its one use for every instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemedSocketTicket {
    /// The shopper it names.
    pub shopper: Shopper,
    /// The ticket's own id (`jti`).
    pub id: String,
    /// When it stops being accepted.
    pub expires_at: UnixMillis,
}

/// The socket tickets this instance has accepted and that have not expired yet.
#[derive(Debug, Default)]
pub struct SpentSocketTickets {
    /// Ticket id → its expiry in seconds; expired entries are dropped as new ones come.
    spent: Mutex<HashMap<String, i64>>,
}

impl SpentSocketTickets {
    /// Checks a socket ticket for the socket of `event`'s `ticket` at `now`, and spends it.
    pub(super) fn redeem(
        &self,
        verifier: &AdmissionVerifier,
        token: &str,
        event: &EventId,
        ticket: TicketId,
        now: UnixMillis,
    ) -> Result<RedeemedSocketTicket, AuthError> {
        let claims: SocketTicketClaims =
            verifier
                .decode(token, SOCKET_TICKET_AUDIENCE)
                .map_err(|error| match error {
                    AdmissionError::Expired => AuthError::Expired,
                    _ => AuthError::Invalid,
                })?;
        let now_seconds = now.div_euclid(1000);
        if now_seconds >= claims.exp {
            return Err(AuthError::Expired);
        }
        // Signed by whichever instance the page asked, spent on whichever its socket reaches:
        // the same skew between instances is tolerated as for admission tokens.
        if now_seconds + NOT_BEFORE_LEEWAY_SECONDS < claims.nbf
            || claims.evt != event.as_str()
            || claims.tkt != ticket.to_string()
        {
            return Err(AuthError::Invalid);
        }
        let identity: Identity = claims.sub.parse().map_err(|_| AuthError::Invalid)?;
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        spent.retain(|_, expires| *expires > now_seconds);
        if spent.insert(claims.jti.clone(), claims.exp).is_some() {
            return Err(AuthError::Invalid);
        }
        Ok(RedeemedSocketTicket {
            shopper: Shopper {
                identity,
                tier: claims.tier,
            },
            id: claims.jti,
            expires_at: claims.exp * 1000,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = 1_800_000_000_000;

    struct Setup {
        keys: SigningKeys,
        verifier: AdmissionVerifier,
        spent: SpentSocketTickets,
        event: EventId,
        ticket: TicketId,
        alice: Shopper,
    }

    fn setup() -> Setup {
        let keys = SigningKeys::generate().unwrap();
        Setup {
            verifier: AdmissionVerifier::from_keys(&keys),
            keys,
            spent: SpentSocketTickets::default(),
            event: EventId::parse("sale").unwrap(),
            ticket: TicketId::random(),
            alice: Shopper {
                identity: Identity::user("alice").unwrap(),
                tier: Tier::Regular,
            },
        }
    }

    impl Setup {
        fn issue(&self) -> String {
            issue_socket_ticket(&self.keys, &self.alice, &self.event, self.ticket, NOW)
                .unwrap()
                .0
        }

        fn redeem(
            &self,
            token: &str,
            ticket: TicketId,
            at: UnixMillis,
        ) -> Result<Shopper, AuthError> {
            self.spent
                .redeem(&self.verifier, token, &self.event, ticket, at)
                .map(|redeemed| redeemed.shopper)
        }
    }

    #[test]
    fn a_socket_ticket_names_its_shopper_once() {
        let s = setup();
        let token = s.issue();
        assert_eq!(s.redeem(&token, s.ticket, NOW + 1000), Ok(s.alice.clone()));
        assert_eq!(
            s.redeem(&token, s.ticket, NOW + 2000),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn a_socket_ticket_expires() {
        let s = setup();
        let token = s.issue();
        let late = NOW + SOCKET_TICKET_TTL_SECONDS * 1000;
        assert_eq!(s.redeem(&token, s.ticket, late), Err(AuthError::Expired));
    }

    #[test]
    fn a_socket_ticket_opens_only_its_own_tickets_socket() {
        let s = setup();
        let token = s.issue();
        assert_eq!(
            s.redeem(&token, TicketId::random(), NOW),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn other_tokens_are_not_socket_tickets() {
        let s = setup();
        let (_, visitor) = super::super::visitor::issue_visitor(&s.keys, NOW).unwrap();
        assert_eq!(s.redeem(&visitor, s.ticket, NOW), Err(AuthError::Invalid));
    }
}
