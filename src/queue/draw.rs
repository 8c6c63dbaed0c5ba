//! The pre-queue lottery: fair, and checkable by anyone from public data alone.
//!
//! Before the sale the operator publishes `seed_hash`, the lowercase hex SHA-256 of the seed's
//! text. When the pre-queue closes (at the start) the entrant set is fixed and committed to:
//! `entrants_commitment` is the lowercase hex SHA-256 of the entrants' ticket ids (hyphenated,
//! lowercase) sorted ascending, each followed by `"\n"`. Every entrant's lottery key is the
//! lowercase hex SHA-256 of `seed + ":" + entrants_commitment + ":" + ticket_id`, and entrants
//! take places `1..=P` in ascending key order. After the draw the seed and the entrants are
//! published: with them, [`verify_draw`] recomputes the commitment and the order.
//!
//! What this prevents: arriving early buys nothing; nobody can predict a key before the seed is
//! revealed; and because every key depends on the whole entrant set, adding, removing or
//! choosing one ticket id after the fact re-randomises everyone's place, so the operator cannot
//! slip one favoured ticket into a good place without the commitment (and every place) changing.
//! What it does not prevent: the operator knows the seed, so before the close they could try many
//! sets of invented entrants until one set favours a chosen ticket; the commitment makes such a
//! set visible afterwards (every published entrant is a ticket someone can be asked about) but
//! does not make the grinding impossible.

use rand::RngCore;
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

/// The commitment to an entrant set: lowercase hex SHA-256 of the ticket ids (hyphenated,
/// lowercase) sorted ascending, each followed by `"\n"`. The order they are given in does not
/// matter.
pub fn entrants_commitment(tickets: impl IntoIterator<Item = TicketId>) -> String {
    let mut ids: Vec<String> = tickets.into_iter().map(|t| t.to_string()).collect();
    ids.sort_unstable();
    let mut hasher = Sha256::new();
    for id in &ids {
        hasher.update(id.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// An entrant's lottery key: lowercase hex SHA-256 of `seed + ":" + commitment + ":" +
/// ticket_id`.
pub fn lottery_key(seed: &str, commitment: &str, ticket: TicketId) -> String {
    let mut hasher = Sha256::new();
    hasher.update(seed.as_bytes());
    hasher.update(b":");
    hasher.update(commitment.as_bytes());
    hasher.update(b":");
    hasher.update(ticket.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// The outcome of a draw: the commitment to its entrants and their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draw {
    /// See [`entrants_commitment`].
    pub commitment: String,
    /// The entrants, first place first.
    pub order: Vec<TicketId>,
}

/// Draws `tickets` with `seed`: commits to the set, then orders it by ascending lottery key.
///
/// Equal keys (a SHA-256 collision, or a ticket listed twice) fall back to the ticket id, so the
/// order is total and the same everywhere.
pub fn draw_order(seed: &str, tickets: impl IntoIterator<Item = TicketId>) -> Draw {
    let tickets: Vec<TicketId> = tickets.into_iter().collect();
    let commitment = entrants_commitment(tickets.iter().copied());
    let mut keyed: Vec<(String, String, TicketId)> = tickets
        .into_iter()
        .map(|ticket| {
            let key = lottery_key(seed, &commitment, ticket);
            (key, ticket.to_string(), ticket)
        })
        .collect();
    keyed.sort_unstable();
    Draw {
        commitment,
        order: keyed.into_iter().map(|(_, _, ticket)| ticket).collect(),
    }
}

/// Published draw data that does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawMismatch {
    /// The seed does not hash to the published seed hash.
    #[error("the seed does not hash to the published seed hash {published}")]
    Seed {
        /// The hash that was published.
        published: String,
    },
    /// The entrants do not hash to the published commitment.
    #[error("the entrants hash to {computed}, not to the published commitment {published}")]
    Commitment {
        /// The commitment that was published.
        published: String,
        /// The commitment of the entrants given.
        computed: String,
    },
}

/// Recomputes a draw from its published seed, seed hash, commitment and entrants.
///
/// Checks that `seed` hashes to `published_hash` and the entrants to `published_commitment`
/// (hex, any case), then returns the entrants in the order the draw gave them places.
pub fn verify_draw(
    seed: &str,
    published_hash: &str,
    published_commitment: &str,
    tickets: impl IntoIterator<Item = TicketId>,
) -> Result<Vec<TicketId>, DrawMismatch> {
    if !seed_hash(seed).eq_ignore_ascii_case(published_hash.trim()) {
        return Err(DrawMismatch::Seed {
            published: published_hash.to_owned(),
        });
    }
    let draw = draw_order(seed, tickets);
    if !draw
        .commitment
        .eq_ignore_ascii_case(published_commitment.trim())
    {
        return Err(DrawMismatch::Commitment {
            published: published_commitment.to_owned(),
            computed: draw.commitment,
        });
    }
    Ok(draw.order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(text: &str) -> TicketId {
        TicketId::parse(text).unwrap()
    }

    const A: &str = "123e4567-e89b-12d3-a456-426614174000";
    const B: &str = "00000000-0000-4000-8000-000000000001";

    #[test]
    fn the_commitment_is_sha256_of_the_sorted_ids_one_per_line() {
        // printf '00000000-0000-4000-8000-000000000001\n123e4567-e89b-12d3-a456-426614174000\n' | sha256sum
        let expected = "36d62e4890f1ab06b8f7541a14c051658598b8f03dbf8f91614f75f2ee005a1d";
        assert_eq!(entrants_commitment([ticket(A), ticket(B)]), expected);
        assert_eq!(entrants_commitment([ticket(B), ticket(A)]), expected);
    }

    #[test]
    fn the_lottery_key_is_sha256_of_seed_commitment_and_ticket() {
        // printf 'abc:c0ffee:123e4567-e89b-12d3-a456-426614174000' | sha256sum
        assert_eq!(
            lottery_key("abc", "c0ffee", ticket(A)),
            hex::encode(Sha256::digest(format!("abc:c0ffee:{A}")))
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
        let draw = draw_order("s33d", tickets.iter().copied());
        let keys: Vec<String> = draw
            .order
            .iter()
            .map(|t| lottery_key("s33d", &draw.commitment, *t))
            .collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
        let reversed = draw_order("s33d", tickets.iter().rev().copied());
        assert_eq!(draw, reversed);
    }

    #[test]
    fn another_seed_gives_another_order() {
        let tickets: Vec<TicketId> = (0..20).map(|_| TicketId::random()).collect();
        assert_ne!(
            draw_order("one", tickets.iter().copied()).order,
            draw_order("two", tickets.iter().copied()).order
        );
    }

    #[test]
    fn one_more_entrant_reorders_everyone_else() {
        let tickets: Vec<TicketId> = (0..20).map(|_| TicketId::random()).collect();
        let before = draw_order("s33d", tickets.iter().copied());
        let with_one_more = draw_order("s33d", tickets.iter().copied().chain([TicketId::random()]));
        let others: Vec<TicketId> = with_one_more
            .order
            .iter()
            .copied()
            .filter(|t| tickets.contains(t))
            .collect();
        assert_ne!(before.commitment, with_one_more.commitment);
        assert_ne!(before.order, others);
    }

    #[test]
    fn verification_refuses_a_wrong_seed_or_a_wrong_entrant_set() {
        let (seed, hash) = new_seed();
        let tickets = vec![TicketId::random(), TicketId::random()];
        let draw = draw_order(&seed, tickets.clone());
        assert_eq!(
            verify_draw(
                &seed,
                &hash.to_uppercase(),
                &draw.commitment,
                tickets.clone()
            ),
            Ok(draw.order.clone())
        );
        assert!(matches!(
            verify_draw("forged", &hash, &draw.commitment, tickets.clone()),
            Err(DrawMismatch::Seed { .. })
        ));
        assert!(matches!(
            verify_draw(&seed, &hash, &draw.commitment, tickets[..1].to_vec()),
            Err(DrawMismatch::Commitment { .. })
        ));
    }
}
