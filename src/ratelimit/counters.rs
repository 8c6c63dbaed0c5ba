//! The limiter's decision counters.

use metrics::Counter;

use super::limiter::Verdict;

/// `waitroom_ratelimit_decisions_total` of one rule, one counter per outcome, registered once so
/// that counting a decision costs an atomic add.
#[derive(Debug)]
pub struct OutcomeCounters {
    allowed: Counter,
    limited: Counter,
    banned: Counter,
    denied: Counter,
    unavailable: Counter,
}

impl OutcomeCounters {
    /// Registers the counters of `rule`.
    pub fn new(rule: &str) -> Self {
        let counter = |outcome: &'static str| {
            metrics::counter!(
                "waitroom_ratelimit_decisions_total",
                "rule" => rule.to_owned(),
                "outcome" => outcome
            )
        };
        Self {
            allowed: counter("allowed"),
            limited: counter("limited"),
            banned: counter("banned"),
            denied: counter("denied"),
            unavailable: counter("unavailable"),
        }
    }

    /// Counts one verdict (unlimited requests are not counted).
    pub fn count(&self, verdict: &Verdict) {
        let counter = match verdict {
            Verdict::Unlimited => return,
            Verdict::Allowed { .. } => &self.allowed,
            Verdict::Limited { .. } => &self.limited,
            Verdict::Banned { .. } => &self.banned,
            Verdict::Denied => &self.denied,
            Verdict::Unavailable => &self.unavailable,
        };
        counter.increment(1);
    }
}
