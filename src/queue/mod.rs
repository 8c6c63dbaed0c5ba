//! The queue's algorithms as pure functions of their inputs.
//!
//! Every rule that decides who waits, who is drawn first and who is let through lives here, free
//! of storage and of the clock: the memory store runs these functions under an event's lock, and
//! the Redis scripts in `lua/` compute the same rules (each such Lua function names the Rust
//! function it mirrors). The conformance suite in `tests/store_suite` proves the two agree.
//!
//! * [`backoff`]: how the outflow backs off while the checkout is unhealthy and climbs back.
//! * [`bucket`]: the leaky bucket of the outflow, in integer millionths of a shopper.
//! * [`chance`]: the chance of success of a waiting shopper, from the sale's counters.
//! * [`checkout_lag`]: how long admitted shoppers take to reach the checkout, by channel.
//! * [`draw`]: the verifiable lottery that orders the pre-queue at the start.
//! * [`eta`]: the honest wait estimate of a place in the queue.
//! * [`outflow`]: how many more shoppers the caps allow, and when a waiting shopper (or the
//!   instance holding their page) was last seen and is abandoned.
//! * [`window`]: arrival windows, inside which arrivals are ordered by a seeded hash, not by
//!   the millisecond.

pub mod backoff;
pub mod bucket;
pub mod chance;
pub mod checkout_lag;
pub mod draw;
pub mod eta;
pub mod outflow;
pub mod window;

pub use bucket::{Bucket, Outflow, SHOPPER};
pub use draw::{
    Draw, DrawMismatch, draw_order, entrants_commitment, lottery_key, new_seed, seed_hash,
    verify_draw,
};
pub use outflow::{
    MOST_DROPPED_PER_DRAIN, PRESENCE_GAP_MS, PresenceClock, Room, is_abandoned, last_seen,
};
pub use window::{ArrivalWindow, ArrivalWindows, WINDOW_SLOTS};
