//! Invitations (enqueue tokens): what an invitation-only event asks of a join.
//!
//! An invitation is `i1.<event>.<id>.<uses>.<expires_ms>.<mac>`, signed like a challenge
//! ([`DefenceKeys`]). It names how many identities may use it: one per shopper (`uses` 1), or one
//! for a mailing list (`uses` its size). The text alone proves it was issued; the store counts
//! the identities that used it ([`crate::store::QueueStore::claim`]), so an invitation forwarded
//! beyond its uses is refused while the identities it already served may join again.

use rand::RngCore;

use super::mac::DefenceKeys;
use crate::clock::UnixMillis;
use crate::domain::EventId;

/// An invitation that passed every check but its use count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Its random id: the store counts uses per id.
    pub id: String,
    /// How many identities may use it.
    pub uses: u32,
    /// When it stops being accepted.
    pub expires_at: UnixMillis,
}

/// Why an invitation is refused (each is a `403 invitation_required`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvitationError {
    #[error("this event admits invited shoppers only: send the invitation in the join body")]
    Missing,
    #[error("the invitation is not one this event issued")]
    Invalid,
    #[error("the invitation has expired")]
    Expired,
    #[error("the invitation has been used by as many shoppers as it allows")]
    UsedUp,
}

impl Invitation {
    /// A new invitation to `event` for `uses` identities until `expires_at`, as its text.
    pub fn issue(keys: &DefenceKeys, event: &EventId, uses: u32, expires_at: UnixMillis) -> String {
        let mut id = [0_u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let id = hex::encode(id);
        let tag = keys.sign(&signed_text(event, &id, uses, expires_at));
        format!("i1.{event}.{id}.{uses}.{expires_at}.{tag}")
    }

    /// Checks `text` for a join of `event` at `now` (everything but the use count).
    pub fn verify(
        keys: &DefenceKeys,
        event: &EventId,
        text: &str,
        now: UnixMillis,
    ) -> Result<Self, InvitationError> {
        let invitation = parse(keys, event, text).ok_or(InvitationError::Invalid)?;
        if now >= invitation.expires_at {
            return Err(InvitationError::Expired);
        }
        Ok(invitation)
    }
}

fn parse(keys: &DefenceKeys, event: &EventId, text: &str) -> Option<Invitation> {
    if text.len() > 256 {
        return None;
    }
    let fields: Vec<&str> = text.split('.').collect();
    let ["i1", for_event, id, uses, expires_at, tag] = fields.as_slice() else {
        return None;
    };
    if *for_event != event.as_str() || id.len() != 32 {
        return None;
    }
    let uses: u32 = uses.parse().ok()?;
    let expires_at: UnixMillis = expires_at.parse().ok()?;
    keys.verify(&signed_text(event, id, uses, expires_at), tag)
        .then(|| Invitation {
            id: (*id).to_owned(),
            uses,
            expires_at,
        })
}

fn signed_text(event: &EventId, id: &str, uses: u32, expires_at: UnixMillis) -> String {
    format!("inv|{event}|{id}|{uses}|{expires_at}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = 1_800_000_000_000;

    fn keys() -> DefenceKeys {
        DefenceKeys::from_secret([5; 32])
    }

    fn event() -> EventId {
        EventId::parse("launch").unwrap()
    }

    #[test]
    fn an_issued_invitation_verifies_with_its_uses_and_expiry() {
        let text = Invitation::issue(&keys(), &event(), 3, NOW + 60_000);
        let invitation = Invitation::verify(&keys(), &event(), &text, NOW).unwrap();
        assert_eq!((invitation.uses, invitation.expires_at), (3, NOW + 60_000));
        assert_eq!(invitation.id.len(), 32);
        let again = Invitation::issue(&keys(), &event(), 3, NOW + 60_000);
        assert_ne!(
            Invitation::verify(&keys(), &event(), &again, NOW)
                .unwrap()
                .id,
            invitation.id
        );
    }

    #[test]
    fn an_altered_expired_or_foreign_invitation_is_refused() {
        let text = Invitation::issue(&keys(), &event(), 1, NOW + 60_000);
        let more_uses = text.replacen(".1.", ".1000.", 1);
        let other = EventId::parse("other").unwrap();
        let verify =
            |event: &EventId, text: &str, now| Invitation::verify(&keys(), event, text, now);
        assert_eq!(
            verify(&event(), &more_uses, NOW),
            Err(InvitationError::Invalid)
        );
        assert_eq!(verify(&other, &text, NOW), Err(InvitationError::Invalid));
        assert_eq!(
            verify(&event(), &text, NOW + 60_000),
            Err(InvitationError::Expired)
        );
        assert_eq!(
            verify(&event(), "i1.launch", NOW),
            Err(InvitationError::Invalid)
        );
        let forged = Invitation::issue(&DefenceKeys::from_secret([6; 32]), &event(), 1, NOW + 1);
        assert_eq!(
            verify(&event(), &forged, NOW),
            Err(InvitationError::Invalid)
        );
    }
}
