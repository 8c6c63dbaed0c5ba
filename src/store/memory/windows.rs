//! Arrival windows in the memory store: each window entered reserves its range of scores, an
//! entrant takes the score its slot gives, and every window keeps its entrants by slot for the
//! draw's record (see [`crate::queue::window`]; `lua/window.lua` and `lua/window_page.lua` are
//! the same for Redis).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use super::state::EventState;
use crate::clock::UnixMillis;
use crate::domain::{DrawPageRequest, TicketId, WindowPage};
use crate::queue::WINDOW_SLOTS;
use crate::queue::window::{next_free_candidate, window_score, window_seed, window_slot};

/// The windows entered so far.
#[derive(Debug, Default)]
pub(super) struct WindowRanges {
    /// The latest window entered and the score below its range.
    current: Option<(u64, u64)>,
    /// Every join each window took, in window order: (slot, ticket id). About 40 bytes an
    /// entrant, kept for the event's life so the order can be published once the window closes.
    entrants: BTreeMap<u64, BTreeSet<(u64, TicketId)>>,
}

impl WindowRanges {
    /// Entrants per window entered.
    pub(super) fn counts(&self) -> BTreeMap<u64, u64> {
        self.entrants
            .iter()
            .map(|(index, entrants)| (*index, entrants.len() as u64))
            .collect()
    }

    /// A page of window `index`'s entrants after `request.after`; `None` when the cursor is not
    /// an entrant of the window. `seed` is the window's seed (it gives the cursor's slot).
    pub(super) fn page(
        &self,
        index: u64,
        seed: &str,
        request: DrawPageRequest,
    ) -> Option<WindowPage> {
        let none = BTreeSet::new();
        let entrants = self.entrants.get(&index).unwrap_or(&none);
        let from = match request.after {
            None => Bound::Unbounded,
            Some(after) => {
                let key = (window_slot(seed, after), after);
                if !entrants.contains(&key) {
                    return None;
                }
                Bound::Excluded(key)
            }
        };
        let mut rest = entrants.range((from, Bound::Unbounded));
        let page: Vec<TicketId> = rest
            .by_ref()
            .take(request.limit as usize)
            .map(|(_, ticket)| *ticket)
            .collect();
        let next = rest.next().and(page.last().copied());
        Some(WindowPage {
            entrants_total: entrants.len() as u64,
            entrants: page,
            next,
        })
    }
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
        let seed = window_seed(&self.config.arrival_windows.seed, window.index);
        let slot = window_slot(&seed, ticket_id);
        self.windows
            .entrants
            .entry(window.index)
            .or_default()
            .insert((slot, ticket_id));
        let mut score = window_score(base, slot);
        while self.queue.contains_key(&score) {
            score = next_free_candidate(base, score);
        }
        self.ranks.insert(score);
        Some(score)
    }

    /// The score above which the drain admits nobody at `now`: those shoppers joined in the
    /// window still open, and are drawn among themselves by slot, so none may go through before
    /// the window has closed and everyone in it is placed. `None` when no window is open or
    /// nobody joined the open one yet.
    pub(super) fn window_hold(&self, now: UnixMillis) -> Option<u64> {
        let window = self.config.arrival_window_at(now)?;
        match self.windows.current {
            Some((index, base)) if index == window.index => Some(base),
            _ => None,
        }
    }

    /// A page of window `index`'s entrants (see [`WindowRanges::page`]).
    pub(super) fn window_page(&self, index: u64, request: DrawPageRequest) -> Option<WindowPage> {
        let seed = window_seed(&self.config.arrival_windows.seed, index);
        self.windows.page(index, &seed, request)
    }
}
