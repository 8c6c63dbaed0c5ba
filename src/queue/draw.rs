//! The pre-queue lottery: fair, and verifiable by anyone.
//!
//! Before the sale the operator publishes `seed_hash`, the lowercase hex SHA-256 of the seed's
//! text. At the start every pre-queue entrant gets a lottery key, the lowercase hex SHA-1 of
//! `seed + ":" + ticket_id` (the ticket id hyphenated and lowercase), and entrants take places
//! `1..=P` in ascending key order. After the draw the seed is published: with it and the ticket
//! ids, [`verify_draw`] recomputes the order. Arriving early buys nothing, and nobody, the
//! operator included, can place a ticket without knowing the seed before publishing its hash.

use rand::RngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::domain::TicketId;

/// A fresh secret seed and its published hash: `(seed_hex, sha256_hex_of_seed)`.
///
/// The seed is 32 random bytes as lowercase hex; the hash is taken over that hex text.
pub fn new_seed() -> (String, String) {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let seed = hex::encode(bytes);
    let hash = seed_hash(&seed);
    (seed, hash)
}

/// The lowercase hex SHA-256 of a seed's text: what is published before the draw.
pub fn seed_hash(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

/// An entrant's lottery key: lowercase hex SHA-1 of `seed + ":" + ticket_id`.
pub fn lottery_key(seed: &str, ticket: TicketId) -> String {
    let mut hasher = Sha1::new();
    hasher.update(seed.as_bytes());
    hasher.update(b":");
    hasher.update(ticket.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// The entrants in draw order (first place first): ascending lottery key.
///
/// Equal keys (a SHA-1 collision, or a ticket listed twice) fall back to the ticket id, so the
/// order is total and the same everywhere.
pub fn draw_order(seed: &str, tickets: impl IntoIterator<Item = TicketId>) -> Vec<TicketId> {
    let mut keyed: Vec<(String, TicketId)> = tickets
        .into_iter()
        .map(|ticket| (lottery_key(seed, ticket), ticket))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, ticket)| ticket).collect()
}

/// The published seed hash does not match the seed: the draw cannot be verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the seed does not hash to the published seed hash {published}")]
pub struct DrawMismatch {
    /// The hash that was published.
    pub published: String,
}

/// Recomputes a draw from its published seed, seed hash and entrants.
///
/// Checks that `seed` hashes to `seed_hash` (hex, any case), then returns the entrants in the
/// order the draw gave them places.
pub fn verify_draw(
    seed: &str,
    published_hash: &str,
    tickets: impl IntoIterator<Item = TicketId>,
) -> Result<Vec<TicketId>, DrawMismatch> {
    if !seed_hash(seed).eq_ignore_ascii_case(published_hash.trim()) {
        return Err(DrawMismatch {
            published: published_hash.to_owned(),
        });
    }
    Ok(draw_order(seed, tickets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(text: &str) -> TicketId {
        TicketId::parse(text).unwrap()
    }

    #[test]
    fn the_lottery_key_is_sha1_of_seed_colon_ticket() {
        let t = ticket("123e4567-e89b-12d3-a456-426614174000");
        // printf 'abc:123e4567-e89b-12d3-a456-426614174000' | sha1sum
        assert_eq!(
            lottery_key("abc", t),
            "0b2600aa750fb76fda17b4449ed4b3b076cc848a"
        );
    }

    #[test]
    fn the_seed_hash_is_sha256_of_the_seed_text() {
        // printf 'abc' | sha256sum
        assert_eq!(
            seed_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_new_seed_is_64_hex_characters_with_its_hash() {
        let (seed, hash) = new_seed();
        assert_eq!(seed.len(), 64);
        assert!(seed.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(hash, seed_hash(&seed));
        assert_ne!(new_seed().0, seed);
    }

    #[test]
    fn the_order_ascends_by_key_and_ignores_arrival_order() {
        let tickets: Vec<TicketId> = (0..50).map(|_| TicketId::random()).collect();
        let order = draw_order("s33d", tickets.iter().copied());
        let keys: Vec<String> = order.iter().map(|t| lottery_key("s33d", *t)).collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
        let reversed = draw_order("s33d", tickets.iter().rev().copied());
        assert_eq!(order, reversed);
    }

    #[test]
    fn another_seed_gives_another_order() {
        let tickets: Vec<TicketId> = (0..20).map(|_| TicketId::random()).collect();
        assert_ne!(
            draw_order("one", tickets.iter().copied()),
            draw_order("two", tickets.iter().copied())
        );
    }

    #[test]
    fn verification_refuses_a_seed_that_does_not_match_its_hash() {
        let (seed, hash) = new_seed();
        let tickets = vec![TicketId::random(), TicketId::random()];
        assert_eq!(
            verify_draw(&seed, &hash.to_uppercase(), tickets.clone()),
            Ok(draw_order(&seed, tickets.clone()))
        );
        assert!(verify_draw("forged", &hash, tickets).is_err());
    }
}
