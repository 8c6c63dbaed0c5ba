//! Proof of work at join: a challenge the server signs, a nonce the shopper's browser finds.
//!
//! A challenge is `p1.<event>.<expires_ms>.<difficulty>.<id>.<mac>`: the event, when it stops
//! being accepted, how many leading zero bits the proof needs, a random id (what makes it
//! single-use) and the HMAC of all of these with the shopper's identity. The identity is in the
//! MAC and not in the text, so a challenge fetched by one account proves nothing for another,
//! and the text reveals nobody. A proof is a decimal `nonce` such that SHA-256 of
//! `challenge + ":" + nonce` starts with `difficulty` zero bits: finding one takes about
//! `2^difficulty` hashes, checking it takes one HMAC and one hash (about a microsecond).

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::mac::DefenceKeys;
use crate::clock::UnixMillis;
use crate::domain::{EventId, Identity};

/// How long a challenge may be answered: enough to solve it on a slow phone, too short to
/// stockpile proofs before a sale.
pub const CHALLENGE_TTL_MS: UnixMillis = 120_000;

/// The hardest difficulty the server asks for or accepts (2^40 hashes is days of a CPU).
pub const MAX_DIFFICULTY: u8 = 40;

/// Longest nonce accepted: `u64::MAX` has 20 digits.
const MAX_NONCE_DIGITS: usize = 20;

/// A challenge as the server hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The text the shopper hashes.
    pub text: String,
    /// Leading zero bits the proof needs.
    pub difficulty: u8,
    /// When it stops being accepted.
    pub expires_at: UnixMillis,
}

/// A proof that passed every check but single use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The challenge's random id: the store spends it once.
    pub id: String,
    /// When the challenge expires (the store may forget the id then).
    pub expires_at: UnixMillis,
}

/// Why a proof is refused (each is a `403 proof_invalid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the challenge is not one this server issued")]
    Malformed,
    #[error("the challenge was issued for another event")]
    OtherEvent,
    #[error("the challenge was not issued to this shopper, or was altered")]
    Forged,
    #[error("the challenge has expired: fetch a new one")]
    Expired,
    #[error("the challenge is easier than the event now asks: fetch a new one")]
    TooEasy,
    #[error("the nonce must be a decimal number of at most 20 digits")]
    BadNonce,
    #[error("SHA-256 of challenge:nonce does not start with enough zero bits")]
    NotEnoughWork,
    #[error("this challenge has been used already: fetch a new one")]
    Spent,
}

impl Challenge {
    /// A new challenge for `identity` on `event`, valid for [`CHALLENGE_TTL_MS`] from `now`.
    pub fn issue(
        keys: &DefenceKeys,
        event: &EventId,
        identity: &Identity,
        difficulty: u8,
        now: UnixMillis,
    ) -> Self {
        let mut id = [0_u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let id = hex::encode(id);
        let difficulty = difficulty.min(MAX_DIFFICULTY);
        let expires_at = now + CHALLENGE_TTL_MS;
        let tag = keys.sign(&signed_text(event, identity, expires_at, difficulty, &id));
        Self {
            text: format!("p1.{event}.{expires_at}.{difficulty}.{id}.{tag}"),
            difficulty,
            expires_at,
        }
    }
}

/// Checks a proof for `identity` joining `event` at `now`, where the event asks for at least
/// `required` bits. Everything but single use is checked here; the cheap checks go first, so a
/// flood of junk costs a parse each.
pub fn verify(
    keys: &DefenceKeys,
    event: &EventId,
    identity: &Identity,
    required: u8,
    challenge: &str,
    nonce: &str,
    now: UnixMillis,
) -> Result<VerifiedProof, ProofError> {
    let parts = Parts::parse(challenge).ok_or(ProofError::Malformed)?;
    if parts.event != event.as_str() {
        return Err(ProofError::OtherEvent);
    }
    if now >= parts.expires_at {
        return Err(ProofError::Expired);
    }
    if parts.difficulty < required {
        return Err(ProofError::TooEasy);
    }
    let text = signed_text(
        event,
        identity,
        parts.expires_at,
        parts.difficulty,
        parts.id,
    );
    if !keys.verify(&text, parts.tag) {
        return Err(ProofError::Forged);
    }
    if nonce.is_empty()
        || nonce.len() > MAX_NONCE_DIGITS
        || !nonce.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ProofError::BadNonce);
    }
    if leading_zero_bits(&proof_hash(challenge, nonce)) < u32::from(parts.difficulty) {
        return Err(ProofError::NotEnoughWork);
    }
    Ok(VerifiedProof {
        id: parts.id.to_owned(),
        expires_at: parts.expires_at,
    })
}

/// SHA-256 of `challenge + ":" + nonce`.
pub fn proof_hash(challenge: &str, nonce: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(challenge.as_bytes());
    hasher.update(b":");
    hasher.update(nonce.as_bytes());
    hasher.finalize().into()
}

/// How many zero bits `hash` starts with.
pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        if *byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// The smallest nonce (from 0 up) that proves `challenge` at `difficulty`: what the page's
/// worker does, for the simulator's and tests' shoppers.
pub fn solve(challenge: &str, difficulty: u8) -> String {
    let mut nonce: u64 = 0;
    loop {
        let text = nonce.to_string();
        if leading_zero_bits(&proof_hash(challenge, &text)) >= u32::from(difficulty) {
            return text;
        }
        nonce = nonce.wrapping_add(1);
    }
}

fn signed_text(
    event: &EventId,
    identity: &Identity,
    expires_at: UnixMillis,
    difficulty: u8,
    id: &str,
) -> String {
    format!(
        "pow|{event}|{}|{expires_at}|{difficulty}|{id}",
        identity.as_str()
    )
}

/// A challenge's fields, borrowed from its text.
struct Parts<'a> {
    event: &'a str,
    expires_at: UnixMillis,
    difficulty: u8,
    id: &'a str,
    tag: &'a str,
}

impl<'a> Parts<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        if text.len() > 256 {
            return None;
        }
        let mut fields = text.split('.');
        let (
            Some("p1"),
            Some(event),
            Some(expires_at),
            Some(difficulty),
            Some(id),
            Some(tag),
            None,
        ) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        )
        else {
            return None;
        };
        let difficulty: u8 = difficulty.parse().ok()?;
        let id_ok = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
        (id_ok && difficulty <= MAX_DIFFICULTY).then_some(())?;
        Some(Self {
            event,
            expires_at: expires_at.parse().ok()?,
            difficulty,
            id,
            tag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = 1_800_000_000_000;

    fn keys() -> DefenceKeys {
        DefenceKeys::from_secret([3; 32])
    }

    fn event() -> EventId {
        EventId::parse("drop").unwrap()
    }

    fn alice() -> Identity {
        Identity::user("alice").unwrap()
    }

    fn proved(difficulty: u8) -> (Challenge, String) {
        let challenge = Challenge::issue(&keys(), &event(), &alice(), difficulty, NOW);
        let nonce = solve(&challenge.text, difficulty);
        (challenge, nonce)
    }

    #[test]
    fn leading_zero_bits_counts_across_bytes() {
        assert_eq!(leading_zero_bits(&[0xff]), 0);
        assert_eq!(leading_zero_bits(&[0x01]), 7);
        assert_eq!(leading_zero_bits(&[0x00, 0x20]), 10);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }

    #[test]
    fn the_proof_hash_is_sha256_of_challenge_colon_nonce() {
        // printf 'abc:42' | sha256sum
        assert_eq!(
            hex::encode(proof_hash("abc", "42")),
            hex::encode(Sha256::digest(b"abc:42"))
        );
    }

    #[test]
    fn a_solved_challenge_verifies_for_its_shopper_and_event() {
        let (challenge, nonce) = proved(12);
        let verified = verify(
            &keys(),
            &event(),
            &alice(),
            12,
            &challenge.text,
            &nonce,
            NOW + 1,
        );
        assert_eq!(verified.map(|v| v.expires_at), Ok(NOW + CHALLENGE_TTL_MS));
        let hash = proof_hash(&challenge.text, &nonce);
        assert!(leading_zero_bits(&hash) >= 12);
    }

    #[test]
    fn a_proof_is_refused_for_another_shopper_event_time_or_nonce() {
        let (challenge, nonce) = proved(10);
        let text = challenge.text.as_str();
        let bob = Identity::user("bob").unwrap();
        let check = |event: &EventId, who: &Identity, required, nonce: &str, now| {
            verify(&keys(), event, who, required, text, nonce, now)
        };
        assert_eq!(
            check(&event(), &bob, 10, &nonce, NOW),
            Err(ProofError::Forged)
        );
        let other = EventId::parse("other").unwrap();
        assert_eq!(
            check(&other, &alice(), 10, &nonce, NOW),
            Err(ProofError::OtherEvent)
        );
        let late = NOW + CHALLENGE_TTL_MS;
        assert_eq!(
            check(&event(), &alice(), 10, &nonce, late),
            Err(ProofError::Expired)
        );
        assert_eq!(
            check(&event(), &alice(), 11, &nonce, NOW),
            Err(ProofError::TooEasy)
        );
        assert_eq!(
            check(&event(), &alice(), 10, "-1", NOW),
            Err(ProofError::BadNonce)
        );
        assert_eq!(
            check(&event(), &alice(), 10, "", NOW),
            Err(ProofError::BadNonce)
        );
        let wrong = (0..)
            .map(|n: u64| n.to_string())
            .find(|n| leading_zero_bits(&proof_hash(text, n)) < 10)
            .unwrap();
        assert_eq!(
            check(&event(), &alice(), 10, &wrong, NOW),
            Err(ProofError::NotEnoughWork)
        );
    }

    #[test]
    fn an_altered_challenge_is_refused() {
        let (challenge, _) = proved(4);
        let easier = challenge.text.replacen(".4.", ".0.", 1);
        let nonce = solve(&easier, 0);
        assert_eq!(
            verify(&keys(), &event(), &alice(), 0, &easier, &nonce, NOW),
            Err(ProofError::Forged)
        );
        for junk in [
            "",
            "p1",
            "p1.drop.x.4.00.ff",
            "p2.drop.1.1.1.1",
            &"p1.".repeat(100),
        ] {
            assert_eq!(
                verify(&keys(), &event(), &alice(), 0, junk, "1", NOW),
                Err(ProofError::Malformed)
            );
        }
    }
}
