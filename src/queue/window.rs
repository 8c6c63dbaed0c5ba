//! Arrival windows: speed is not merit.
//!
//! At an opening, the first arrivals are the fastest scripts, not the keenest shoppers: ordered
//! by the millisecond, a bot farm joining in the opening second takes the head of the queue.
//! Inside an arrival window, arrivals are instead ordered by a secret-seeded hash, and windows
//! keep their order among themselves (every arrival of a window waits behind every earlier
//! arrival of an earlier window, and of the pre-queue).
//!
//! * The **opening window** covers the first `opening_seconds` after the start (0: none). With
//!   `every_seconds` = N, every later span of N seconds is a window too (window 1 starts where the
//!   opening window ends): first in, first out by window of arrival.
//! * A window's entrants take scores in a range of [`WINDOW_SLOTS`] scores of their own, above
//!   every score handed out before the window's first arrival: an entrant's **slot** is the first
//!   32 bits of the lowercase hex SHA-1 of `window_seed + ":" + ticket_id`, and its score
//!   `base + 1 + slot`. Nobody above the open window's base is let through until the window has
//!   closed (the stores' `window_hold`); then its entrants go by slot, lowest first. So a
//!   shopper's place does not depend on when in the window they arrived: arriving first buys
//!   nothing. (Letting the lowest slot present through while the window fills would draw the
//!   first arrivals only against each other.)
//! * **Window seeds** come from one secret per event: window `k`'s seed is the lowercase hex
//!   SHA-1 of `secret + ":" + k`. The SHA-256 of the secret is published before the start; each
//!   window's seed is published [`PUBLISH_AFTER_CLOSE_MS`] after the window has closed, with
//!   its entrants in window order (ascending slot, then ascending ticket id), and the secret
//!   itself once no window can open any more, so anyone can recompute every window's order and
//!   check the seeds against the published hash (`GET /v1/events/{event}/draw`,
//!   `load/verify_draw.py`). What this does not prevent: the operator knows the secret, so it
//!   could pick ticket ids with good slots for entrants of its own; like the draw's entrants,
//!   every published entrant is a ticket someone can be asked about.
//! * Two entrants with the same slot (about one pair in 2^32 / n) keep their order of arrival:
//!   the later one takes the next free score.
//!
//! `lua/window.lua` mirrors these functions for the Redis store.

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::clock::UnixMillis;
use crate::domain::TicketId;
use crate::queue::draw::{new_seed, seed_hash};

/// How many scores each arrival window reserves for its entrants (2^32, one per possible slot).
pub const WINDOW_SLOTS: u64 = 1 << 32;

/// An event's arrival windows and their secret, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ArrivalWindows {
    /// Length of the opening window, from the start; 0 means none.
    pub opening_seconds: u32,
    /// Length of every later window; 0 means none (plain first in, first out after the opening).
    pub every_seconds: u32,
    /// The secret window seeds are derived from (lowercase hex); empty when windows are off.
    pub seed: String,
    /// Lowercase hex SHA-256 of `seed`, published before the start.
    pub seed_hash: String,
}

/// One arrival window: its number and the times it covers, `[opens_at, closes_at)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrivalWindow {
    /// 0 for the opening window, then 1, 2, ...
    pub index: u64,
    pub opens_at: UnixMillis,
    pub closes_at: UnixMillis,
}

impl ArrivalWindows {
    /// Windows of these lengths with a fresh secret (no secret when both are 0).
    pub fn new(opening_seconds: u32, every_seconds: u32) -> Self {
        let mut windows = Self {
            opening_seconds,
            every_seconds,
            ..Self::default()
        };
        if windows.is_on() {
            (windows.seed, windows.seed_hash) = new_seed();
        }
        windows
    }

    /// These lengths, keeping the secret already drawn (one is drawn if there is none yet).
    pub fn with_lengths(&self, opening_seconds: u32, every_seconds: u32) -> Self {
        if self.seed.is_empty() {
            return Self::new(opening_seconds, every_seconds);
        }
        Self {
            opening_seconds,
            every_seconds,
            ..self.clone()
        }
    }

    /// Whether any arrival is ordered by a window.
    pub fn is_on(&self) -> bool {
        self.opening_seconds > 0 || self.every_seconds > 0
    }

    /// Window `index` of a sale starting at `starts_at`, if the settings have one.
    pub fn window(&self, starts_at: UnixMillis, index: u64) -> Option<ArrivalWindow> {
        let opening = i64::from(self.opening_seconds) * 1_000;
        let every = i64::from(self.every_seconds) * 1_000;
        if index == 0 {
            return (opening > 0).then_some(ArrivalWindow {
                index,
                opens_at: starts_at,
                closes_at: starts_at + opening,
            });
        }
        if every == 0 {
            return None;
        }
        let opens_at = starts_at + opening + (index as i64 - 1) * every;
        Some(ArrivalWindow {
            index,
            opens_at,
            closes_at: opens_at + every,
        })
    }

    /// The window an arrival at `now` falls in, if any.
    pub fn window_at(&self, starts_at: UnixMillis, now: UnixMillis) -> Option<ArrivalWindow> {
        let elapsed = now.checked_sub(starts_at).filter(|e| *e >= 0)?;
        let opening = i64::from(self.opening_seconds) * 1_000;
        if elapsed < opening {
            return self.window(starts_at, 0);
        }
        let every = i64::from(self.every_seconds) * 1_000;
        if every == 0 {
            return None;
        }
        self.window(starts_at, 1 + ((elapsed - opening) / every) as u64)
    }

    /// Whether no window can open at or after `now` (then the secret may be published).
    pub fn all_closed(&self, starts_at: UnixMillis, now: UnixMillis) -> bool {
        self.every_seconds == 0 && now >= starts_at + i64::from(self.opening_seconds) * 1_000
    }

    /// Window `index`'s seed: lowercase hex SHA-1 of `secret + ":" + index`.
    pub fn window_seed(&self, index: u64) -> String {
        window_seed(&self.seed, index)
    }

    /// Window `index` of a sale starting at `starts_at` if its seed and order may be published
    /// at `now`: [`PUBLISH_AFTER_CLOSE_MS`] after it closed.
    pub fn published_window(
        &self,
        starts_at: UnixMillis,
        index: u64,
        now: UnixMillis,
    ) -> Option<ArrivalWindow> {
        self.window(starts_at, index)
            .filter(|w| now >= w.closes_at.saturating_add(PUBLISH_AFTER_CLOSE_MS))
    }

    /// Whether the secret may be published at `now`: there is one, and no window has opened
    /// since [`PUBLISH_AFTER_CLOSE_MS`] ago or can open later.
    pub fn secret_published(&self, starts_at: UnixMillis, now: UnixMillis) -> bool {
        !self.seed.is_empty()
            && self.all_closed(starts_at, now.saturating_sub(PUBLISH_AFTER_CLOSE_MS))
    }
}

/// How long after a window closes its seed is published. Instances' clocks and the store's
/// differ by a little: an instance running ahead must not reveal a seed while the store may
/// still place joins in the window (a seed known in time would let a script keep only joins
/// with a good slot, leaving and joining again until it gets one).
pub const PUBLISH_AFTER_CLOSE_MS: i64 = 2_000;

/// Window `index`'s seed derived from the event's window secret.
pub fn window_seed(secret: &str, index: u64) -> String {
    let mut hasher = Sha1::new();
    hasher.update(secret.as_bytes());
    hasher.update(b":");
    hasher.update(index.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// An entrant's slot in its window: the first 32 bits of SHA-1 of `window_seed + ":" +
/// ticket_id`. SHA-1 because Redis's scripts have it built in (`redis.sha1hex`), so a join's
/// slot is computed where the join is placed; it only has to spread arrivals evenly, which a
/// seed secret until the window closes makes unpredictable.
pub fn window_slot(window_seed: &str, ticket: TicketId) -> u64 {
    let mut hasher = Sha1::new();
    hasher.update(window_seed.as_bytes());
    hasher.update(b":");
    hasher.update(ticket.to_string().as_bytes());
    let digest = hasher.finalize();
    u64::from(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]))
}

/// Whether `secret` is the one whose hash was published.
pub fn secret_matches(secret: &str, published_hash: &str) -> bool {
    seed_hash(secret).eq_ignore_ascii_case(published_hash)
}

/// A window's entrants in window order (first admitted first): ascending slot, arrival order
/// among equal slots. `arrivals` are the window's ticket ids in order of arrival.
pub fn window_order(window_seed: &str, arrivals: &[TicketId]) -> Vec<TicketId> {
    let mut keyed: Vec<(u64, usize, TicketId)> = arrivals
        .iter()
        .enumerate()
        .map(|(arrived, ticket)| (window_slot(window_seed, *ticket), arrived, *ticket))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, ticket)| ticket).collect()
}

/// The score of an entrant with `slot` in the window whose range starts above `base`.
pub fn window_score(base: u64, slot: u64) -> u64 {
    base + 1 + slot
}

/// The next score to try when `score` is taken in the window above `base`: the next one up,
/// wrapping round within the window's range.
pub fn next_free_candidate(base: u64, score: u64) -> u64 {
    if score >= base + WINDOW_SLOTS {
        base + 1
    } else {
        score + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(opening: u32, every: u32) -> ArrivalWindows {
        ArrivalWindows {
            opening_seconds: opening,
            every_seconds: every,
            seed: "secret".into(),
            seed_hash: seed_hash("secret"),
        }
    }

    #[test]
    fn the_opening_window_covers_the_first_seconds_after_the_start() {
        let w = windows(60, 0);
        assert_eq!(w.window_at(1_000, 999), None);
        assert_eq!(w.window_at(1_000, 1_000).map(|w| w.index), Some(0));
        assert_eq!(w.window_at(1_000, 60_999).map(|w| w.index), Some(0));
        assert_eq!(w.window_at(1_000, 61_000), None);
        assert!(w.all_closed(1_000, 61_000));
        assert!(!w.all_closed(1_000, 60_999));
    }

    #[test]
    fn later_windows_follow_the_opening_one_every_n_seconds() {
        let w = windows(60, 30);
        let at = |now| {
            w.window_at(0, now)
                .map(|w| (w.index, w.opens_at, w.closes_at))
        };
        assert_eq!(at(59_999), Some((0, 0, 60_000)));
        assert_eq!(at(60_000), Some((1, 60_000, 90_000)));
        assert_eq!(at(90_000), Some((2, 90_000, 120_000)));
        assert!(!w.all_closed(0, 10_000_000));
    }

    #[test]
    fn windows_of_n_seconds_without_an_opening_one_start_at_the_start() {
        let w = windows(0, 10);
        assert_eq!(w.window_at(0, 0).map(|w| w.index), Some(1));
        assert_eq!(w.window_at(0, 25_000).map(|w| w.index), Some(3));
    }

    #[test]
    fn no_window_when_both_lengths_are_zero() {
        let w = ArrivalWindows::new(0, 0);
        assert!(!w.is_on());
        assert!(w.seed.is_empty());
        assert_eq!(w.window_at(0, 0), None);
    }

    #[test]
    fn a_new_secret_is_drawn_once_and_kept_when_lengths_change() {
        let w = ArrivalWindows::new(60, 0);
        assert!(secret_matches(&w.seed, &w.seed_hash));
        let changed = w.with_lengths(30, 10);
        assert_eq!(
            (changed.seed.as_str(), changed.opening_seconds),
            (w.seed.as_str(), 30)
        );
    }

    #[test]
    fn the_window_seed_is_sha1_of_secret_colon_index() {
        // printf 'secret:0' | sha1sum
        assert_eq!(
            window_seed("secret", 0),
            "ac75a4140a40bd673dc7b0e530bc980f4e9197ff".to_owned()
        );
    }

    #[test]
    fn a_window_is_ordered_by_slot_not_by_arrival() {
        let tickets: Vec<TicketId> = (0..50).map(|_| TicketId::random()).collect();
        let order = window_order("s", &tickets);
        let slots: Vec<u64> = order.iter().map(|t| window_slot("s", *t)).collect();
        assert!(slots.windows(2).all(|p| p[0] <= p[1]));
        assert_ne!(order, tickets);
    }

    #[test]
    fn a_seed_is_published_two_seconds_after_its_window_closes_and_the_secret_after_the_last() {
        let w = windows(60, 0);
        assert_eq!(w.published_window(1_000, 0, 62_999), None);
        assert_eq!(
            w.published_window(1_000, 0, 63_000).map(|w| w.closes_at),
            Some(61_000)
        );
        assert!(!w.secret_published(1_000, 62_999));
        assert!(w.secret_published(1_000, 63_000));
        let repeating = windows(60, 30);
        assert!(repeating.published_window(0, 1, 92_000).is_some());
        assert!(!repeating.secret_published(0, i64::MAX));
        assert!(!ArrivalWindows::new(0, 0).secret_published(0, i64::MAX));
    }

    #[test]
    fn a_taken_score_moves_up_and_wraps_within_the_window() {
        assert_eq!(next_free_candidate(100, 105), 106);
        assert_eq!(next_free_candidate(100, 100 + WINDOW_SLOTS), 101);
    }
}
