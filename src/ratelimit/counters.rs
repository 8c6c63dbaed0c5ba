//! What a decision counts: its outcome per rule, the penalty stage it entered, and the clients
//! it refused (for the dashboard).

use metrics::Counter;

use super::client_key::ClientKey;
use super::compile::CompiledRule;
use super::limiter::Verdict;
use super::outcome::Decision;
use super::penalty::PenaltyPolicy;
use crate::telemetry::limited_clients::LimitedClients;

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

/// Counts the verdict in `waitroom_ratelimit_decisions_total{rule, outcome}`.
pub(super) fn count(rule: Option<&CompiledRule>, verdict: Verdict) -> Verdict {
    static ACCESS: std::sync::OnceLock<OutcomeCounters> = std::sync::OnceLock::new();
    let counters = match rule {
        Some(rule) => rule
            .counters
            .get_or_init(|| OutcomeCounters::new(&rule.name)),
        None => ACCESS.get_or_init(|| OutcomeCounters::new("access")),
    };
    counters.count(&verdict);
    verdict
}
/// Counts the penalty stage a decision entered, and remembers limited clients for the dashboard.
pub(super) fn record_penalty(
    decision: &Decision,
    client: &ClientKey,
    rule: &str,
    policy: &PenaltyPolicy,
    limited: &LimitedClients,
) {
    use crate::telemetry::metrics;
    match decision {
        Decision::Allowed { .. } => {}
        Decision::Limited {
            ban, violations, ..
        } => {
            if ban.is_some() {
                metrics::penalty("ban");
            } else {
                // One violation at a time: the stage whose threshold this one reached is entered.
                if policy.delay_after > 0 && *violations == policy.delay_after {
                    metrics::penalty("delay");
                }
                if policy.reduce_after > 0 && *violations == policy.reduce_after {
                    metrics::penalty("reduced");
                }
            }
            limited.record(client, rule);
        }
        Decision::Banned { .. } => limited.record(client, rule),
    }
}
