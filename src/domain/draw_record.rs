//! What the store publishes about an event's draw, one page of entrants at a time.

use super::TicketId;

/// Which entrants a page holds: those after `after` in draw order (from the first when `None`),
/// at most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrawPageRequest {
    /// The last entrant of the previous page.
    pub after: Option<TicketId>,
    /// How many entrants at most (the caller bounds it).
    pub limit: u32,
}

/// The state of an event's draw and one page of its entrants in draw order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawPage {
    /// The commitment to the entrant set, once the pre-queue has closed.
    pub commitment: Option<String>,
    /// The seed the draw used, once it is done.
    pub seed: Option<String>,
    /// Whether every entrant has its place.
    pub drawn: bool,
    /// How many entrants the draw placed (0 before it).
    pub entrants_total: u64,
    /// The page's entrants, in draw order.
    pub entrants: Vec<TicketId>,
    /// The cursor of the next page; `None` on the last.
    pub next: Option<TicketId>,
}

/// The answer to a request for a page of the draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrawPageOutcome {
    /// The page.
    Page(DrawPage),
    /// `after` names no entrant of this draw.
    UnknownCursor,
    /// No such event.
    NoEvent,
}

impl DrawPage {
    /// A page of `order` (the whole draw order) after `request.after`; `None` when the cursor
    /// is not in it.
    pub fn of_order(
        order: &[TicketId],
        request: DrawPageRequest,
        commitment: String,
        seed: String,
    ) -> Option<DrawPage> {
        let start = match request.after {
            None => 0,
            Some(after) => order.iter().position(|t| *t == after)? + 1,
        };
        let end = start
            .saturating_add(request.limit as usize)
            .min(order.len());
        let entrants = order[start..end].to_vec();
        let next = (end < order.len())
            .then(|| entrants.last().copied())
            .flatten();
        Some(DrawPage {
            commitment: Some(commitment),
            seed: Some(seed),
            drawn: true,
            entrants_total: order.len() as u64,
            entrants,
            next,
        })
    }

    /// The answer before the draw: nothing committed, nothing published.
    pub fn not_drawn() -> DrawPage {
        DrawPage {
            commitment: None,
            seed: None,
            drawn: false,
            entrants_total: 0,
            entrants: Vec::new(),
            next: None,
        }
    }
}

/// One page of a closed arrival window's entrants in window order: ascending slot, then
/// ascending ticket id (see [`crate::queue::window`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowPage {
    /// How many joined in the window (those who left or were admitted since included).
    pub entrants_total: u64,
    /// The page's entrants, in window order.
    pub entrants: Vec<TicketId>,
    /// The cursor of the next page; `None` on the last.
    pub next: Option<TicketId>,
}
