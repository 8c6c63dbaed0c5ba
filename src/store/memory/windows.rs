//! Arrival windows in the memory store: each window entered reserves its range of scores, and an
//! entrant takes the score its slot gives (see [`crate::queue::window`]; `lua/window.lua` is the
//! same for Redis).

use std::collections::BTreeMap;

use super::state::EventState;
use crate::clock::UnixMillis;
use crate::domain::TicketId;
use crate::queue::WINDOW_SLOTS;
use crate::queue::window::{next_free_candidate, window_score, window_seed, window_slot};

/// The windows entered so far.
#[derive(Debug, Default)]
pub(super) struct WindowRanges {
    /// The latest window entered and the score below its range.
    current: Option<(u64, u64)>,
    /// Entrants per window entered.
    pub(super) entrants: BTreeMap<u64, u64>,
}

impl EventState {
    /// The score of a join at `now` inside an arrival window, or `None` outside every window
    /// (the join then takes the tail). The first join of a window reserves the window's range
    /// above every score handed out so far.
    pub(super) fn window_score(&mut self, ticket_id: TicketId, now: UnixMillis) -> Option<u64> {
        let window = self.config.arrival_window_at(now)?;
        let base = match self.windows.current {
            Some((index, base)) if index == window.index => base,
            _ => {
                let base = self.ranks.reserve(WINDOW_SLOTS);
                self.windows.current = Some((window.index, base));
                base
            }
        };
        *self.windows.entrants.entry(window.index).or_insert(0) += 1;
        let seed = window_seed(&self.config.arrival_windows.seed, window.index);
        let mut score = window_score(base, window_slot(&seed, ticket_id));
        while self.queue.contains_key(&score) {
            score = next_free_candidate(base, score);
        }
        self.ranks.insert(score);
        Some(score)
    }
}
