//! Honest wait estimates: how long until a place in the queue is let through.
//!
//! The outflow admits `outflow_per_second` shoppers a second from the head, so a shopper at
//! position `p` waits about `p / rate` seconds after the start. Before the draw nobody knows their
//! place; the expected place of a lottery among `n` entrants is `(n + 1) / 2`.

use crate::clock::UnixMillis;

/// Seconds until a shopper at `position` (1 = next) is admitted, or `None` when the outflow is
/// zero (no honest estimate exists).
pub fn eta_seconds(
    position: u64,
    outflow_per_second: f64,
    starts_at: UnixMillis,
    now: UnixMillis,
) -> Option<u64> {
    if outflow_per_second <= 0.0 || !outflow_per_second.is_finite() {
        return None;
    }
    let until_start = (starts_at - now).max(0) as f64 / 1000.0;
    let draining = position as f64 / outflow_per_second;
    Some((until_start + draining).ceil() as u64)
}

/// The expected place of a pre-queue entrant among `entrants` before the draw.
pub fn expected_prequeue_position(entrants: u64) -> u64 {
    entrants.div_ceil(2).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_the_place_over_the_rate_after_the_start() {
        assert_eq!(eta_seconds(10, 2.0, 0, 5_000), Some(5));
        assert_eq!(eta_seconds(10, 2.0, 5_000, 0), Some(10));
        assert_eq!(eta_seconds(1, 3.0, 0, 0), Some(1));
    }

    #[test]
    fn no_outflow_means_no_estimate() {
        assert_eq!(eta_seconds(10, 0.0, 0, 0), None);
    }

    #[test]
    fn a_lottery_place_is_expected_in_the_middle() {
        assert_eq!(expected_prequeue_position(0), 1);
        assert_eq!(expected_prequeue_position(9), 5);
        assert_eq!(expected_prequeue_position(10), 5);
    }
}
