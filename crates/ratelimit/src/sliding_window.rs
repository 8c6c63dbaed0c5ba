//! The sliding-window counter, as a pure function of (state, now).
//!
//! Two fixed windows are kept, the current one and the one before; the previous count is weighed
//! by how much of it still overlaps the sliding window that ends now. A client that spends its
//! whole budget at the end of one window therefore cannot spend it again at the start of the next:
//! there is no double burst across the boundary. All arithmetic is in integers (counts times
//! milliseconds), so `lua/ratelimit_sliding_window.lua` reaches the same answer to the unit.

use super::outcome::RateOutcome;

/// A sliding-window limit: at most `limit` cost units in any `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimit {
    /// The window's length in milliseconds (at least 1).
    pub window_ms: i64,
    /// The cost allowed in one window (at least 1).
    pub limit: i64,
}

impl WindowLimit {
    /// The limit scaled by `permille` / 1000.
    pub fn scaled(self, permille: i64) -> WindowLimit {
        WindowLimit {
            window_ms: self.window_ms,
            limit: (self.limit * permille.max(1) / 1000).max(1),
        }
    }
}

/// The stored counters of one window pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowState {
    /// Start of the current fixed window (a multiple of the window length).
    pub start_ms: i64,
    /// Cost counted in the current window.
    pub current: i64,
    /// Cost counted in the window before it.
    pub previous: i64,
}

/// The result of one step: the state to store (when allowed) and the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowStep {
    /// The counters to store; `None` when the request was refused and nothing changes.
    pub new_state: Option<WindowState>,
    /// What the caller is told.
    pub outcome: RateOutcome,
}

/// The state rolled forward to the window holding `now_ms`.
fn roll(state: WindowState, now_ms: i64, window: i64) -> WindowState {
    let start = now_ms - now_ms.rem_euclid(window);
    if start == state.start_ms {
        state
    } else if start == state.start_ms + window {
        WindowState {
            start_ms: start,
            current: 0,
            previous: state.current,
        }
    } else {
        WindowState {
            start_ms: start,
            current: 0,
            previous: 0,
        }
    }
}

/// Decides one request of `cost` against the stored counters (`WindowState::default()` if none).
pub fn sliding_window(
    state: WindowState,
    now_ms: i64,
    limit: WindowLimit,
    cost: i64,
) -> WindowStep {
    let window = limit.window_ms.max(1);
    let budget = limit.limit.max(1) * window;
    let s = roll(state, now_ms, window);
    let elapsed = now_ms - s.start_ms;
    let overlap = window - elapsed;
    let used = s.previous * overlap + s.current * window;
    if used + cost * window <= budget {
        let after = used + cost * window;
        WindowStep {
            new_state: Some(WindowState {
                current: s.current + cost,
                ..s
            }),
            outcome: RateOutcome {
                allowed: true,
                limit: limit.limit,
                remaining: (budget - after) / window,
                reset_ms: 2 * window - elapsed,
                retry_after_ms: 0,
            },
        }
    } else {
        WindowStep {
            new_state: None,
            outcome: RateOutcome {
                allowed: false,
                limit: limit.limit,
                remaining: ((budget - used) / window).max(0),
                reset_ms: reset_after(s, elapsed, window),
                retry_after_ms: wait_ms(s, elapsed, limit.limit, cost, window),
            },
        }
    }
}

/// Milliseconds until nothing is counted any more: the current count still weighs on the next
/// window, the previous one only until this window ends.
fn reset_after(s: WindowState, elapsed: i64, window: i64) -> i64 {
    if s.current > 0 {
        2 * window - elapsed
    } else if s.previous > 0 {
        window - elapsed
    } else {
        0
    }
}

/// Milliseconds until a request of `cost` would fit, from `elapsed` into the current window.
fn wait_ms(s: WindowState, elapsed: i64, limit: i64, cost: i64, window: i64) -> i64 {
    if s.current + cost <= limit && s.previous > 0 {
        // Within this window, once enough of the previous one has slid out of view:
        // previous * (window - e) <= (limit - current - cost) * window.
        let keep = (limit - s.current - cost) * window / s.previous;
        if keep > 0 {
            return (window - keep - elapsed).max(1);
        }
    }
    // In the next window, the current count becomes the previous one:
    // current * (window - e) <= (limit - cost) * window.
    let room = (limit - cost).max(0) * window;
    let needed = if s.current == 0 {
        0
    } else {
        window - room / s.current
    };
    (window - elapsed + needed.max(0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    fn run(limit: WindowLimit, times: &[i64]) -> usize {
        let mut state = WindowState::default();
        times
            .iter()
            .filter(|&&now| {
                let step = sliding_window(state, now, limit, 1);
                state = step.new_state.unwrap_or(state);
                step.outcome.allowed
            })
            .count()
    }

    #[test]
    fn exactly_the_limit_passes_inside_one_window() {
        let limit = WindowLimit {
            window_ms: MINUTE,
            limit: 60,
        };
        let times: Vec<i64> = (0..100).map(|i| 100 * MINUTE + i).collect();
        assert_eq!(run(limit, &times), 60);
    }

    #[test]
    fn spending_the_budget_at_a_window_end_leaves_nothing_just_after_it() {
        let limit = WindowLimit {
            window_ms: MINUTE,
            limit: 60,
        };
        let end_of_window = 101 * MINUTE - 10;
        let mut times: Vec<i64> = (0..60).map(|_| end_of_window).collect();
        times.extend((0..60).map(|_| 101 * MINUTE + 10));
        assert_eq!(run(limit, &times), 60);
    }

    #[test]
    fn the_retry_after_is_exactly_when_the_request_would_pass() {
        let limit = WindowLimit {
            window_ms: MINUTE,
            limit: 10,
        };
        let mut state = WindowState::default();
        let start = 100 * MINUTE + 30_000;
        for _ in 0..10 {
            state = sliding_window(state, start, limit, 1)
                .new_state
                .unwrap_or(state);
        }
        let refused = sliding_window(state, start, limit, 1);
        let wait = refused.outcome.retry_after_ms;
        assert!(
            !sliding_window(state, start + wait - 1, limit, 1)
                .outcome
                .allowed
        );
        assert!(
            sliding_window(state, start + wait, limit, 1)
                .outcome
                .allowed
        );
    }
}
