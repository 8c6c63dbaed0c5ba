//! When the last ban in force anywhere ends, as this instance last saw it.
//!
//! Checking a request's other identities against the shared ban index costs a round trip, and
//! nearly always finds nothing: most of a sale passes with no ban in force at all. So each
//! instance looks at the index's latest end at most once a second, and checks identities only
//! while some ban may be in force. A ban started here moves the horizon at once; one started on
//! another instance is seen within a second (the identity a rule charges is always checked
//! exactly, inside the decision).

use std::sync::atomic::{AtomicI64, Ordering};

/// How long a look at the index stands.
const LOOK_EVERY_MS: i64 = 1_000;

/// The latest ban end known here, and when the index was last read.
#[derive(Debug, Default)]
pub struct BanHorizon {
    latest_end_ms: AtomicI64,
    looked_at_ms: AtomicI64,
}

impl BanHorizon {
    /// Whether the index should be read again at `now_ms`; `true` for one caller per second.
    pub fn claim_look(&self, now_ms: i64) -> bool {
        let looked = self.looked_at_ms.load(Ordering::Relaxed);
        now_ms - looked >= LOOK_EVERY_MS
            && self
                .looked_at_ms
                .compare_exchange(looked, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// What a look at the index found: the latest end of the bans in it (0 when none).
    pub fn looked(&self, latest_end_ms: i64) {
        self.latest_end_ms.store(latest_end_ms, Ordering::Relaxed);
    }

    /// A look that failed: the next caller tries again.
    pub fn look_failed(&self) {
        self.looked_at_ms.store(0, Ordering::Relaxed);
    }

    /// A ban started here, ending at `until_ms`.
    pub fn banned(&self, until_ms: i64) {
        self.latest_end_ms.fetch_max(until_ms, Ordering::Relaxed);
    }

    /// Whether some ban may be in force at `now_ms`.
    pub fn any_ban_at(&self, now_ms: i64) -> bool {
        self.latest_end_ms.load(Ordering::Relaxed) > now_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_look_a_second_and_bans_started_here_count_at_once() {
        let horizon = BanHorizon::default();
        assert!(horizon.claim_look(10_000));
        assert!(!horizon.claim_look(10_999), "looked less than a second ago");
        horizon.looked(0);
        assert!(!horizon.any_ban_at(10_500));
        horizon.banned(70_000);
        assert!(horizon.any_ban_at(10_500));
        assert!(!horizon.any_ban_at(70_000), "the ban has ended");
        assert!(horizon.claim_look(11_000));
        horizon.look_failed();
        assert!(horizon.claim_look(11_001), "a failed look is tried again");
    }
}
