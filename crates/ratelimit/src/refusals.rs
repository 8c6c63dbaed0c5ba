//! Everything the limiter counts of its refusals, in one place.
//!
//! * Per decision: its outcome per rule (`waitroom_ratelimit_decisions_total`), the penalty stage
//!   it entered, and the client it refused.
//! * Per instance: the clients it refused most, and its refusals per rule ([`LimitedClients`]).
//!   Client keys are unbounded, so they cannot be metric labels; this keeps a small tally
//!   instead, of at most [`CAPACITY`] clients: when full, the one with the fewest refusals makes
//!   room.
//! * Across instances ([`ClusterTally`]): every second each limiter publishes its tally through
//!   its store and reads back every live instance's; their sum is what the dashboard shows, so an
//!   operator sees the whole fleet from any instance. On the memory store there is one instance,
//!   and the sum is its own tally. An instance that stops drops out of the sum
//!   [`STALE_AFTER_MS`] after its last publication.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::Counter;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::client_key::ClientKey;
use super::compile::CompiledRule;
use super::limiter::{RateLimiter, Verdict};
use super::outcome::Decision;
use super::penalty::PenaltyPolicy;
use crate::metric_names::{RATELIMIT_DECISIONS, RATELIMIT_PENALTIES};

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
                RATELIMIT_DECISIONS,
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

/// Counts the verdict in `waitroom_ratelimit_decisions_total{rule, outcome}` (by reference: a
/// verdict is large, and passing it through would copy it).
pub(super) fn count(rule: Option<&CompiledRule>, verdict: &Verdict) {
    static ACCESS: std::sync::OnceLock<OutcomeCounters> = std::sync::OnceLock::new();
    let counters = match rule {
        Some(rule) => rule
            .counters
            .get_or_init(|| OutcomeCounters::new(&rule.name)),
        None => ACCESS.get_or_init(|| OutcomeCounters::new("access")),
    };
    counters.count(verdict);
}
/// Counts one client entering the penalty `stage` (`delay`, `reduced` or `ban`).
fn count_penalty(stage: &'static str) {
    metrics::counter!(RATELIMIT_PENALTIES, "stage" => stage).increment(1);
}

/// Counts the penalty stage a decision entered, and remembers limited clients for the dashboard.
pub(super) fn record_penalty(
    decision: &Decision,
    client: &ClientKey,
    rule: &str,
    policy: &PenaltyPolicy,
    limited: &LimitedClients,
) {
    match decision {
        Decision::Allowed { .. } => {}
        Decision::Limited {
            ban, violations, ..
        } => {
            if ban.is_some() {
                count_penalty("ban");
            } else {
                // One violation at a time: the stage whose threshold this one reached is entered.
                if policy.delay_after > 0 && *violations == policy.delay_after {
                    count_penalty("delay");
                }
                if policy.reduce_after > 0 && *violations == policy.reduce_after {
                    count_penalty("reduced");
                }
            }
            limited.record(client, rule);
        }
        Decision::Banned { .. } => limited.record(client, rule),
    }
}

/// Most clients remembered.
pub const CAPACITY: usize = 512;

/// One client's refusals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitedClient {
    /// The client key (`ip:…`, `user:…`, `key:…`).
    pub key: String,
    /// Requests refused (limited or banned).
    pub refused: u64,
    /// The rule that refused it last.
    pub rule: String,
}

/// Refusals per rule and per client since the limiter started.
#[derive(Debug, Default)]
pub struct LimitedClients {
    per_rule: Mutex<BTreeMap<String, u64>>,
    clients: Mutex<HashMap<String, LimitedClient>>,
}

impl LimitedClients {
    /// Counts one refusal of `client` by `rule`.
    pub fn record(&self, client: &str, rule: &str) {
        if let Ok(mut rules) = self.per_rule.lock() {
            *rules.entry(rule.to_owned()).or_default() += 1;
        }
        let Ok(mut clients) = self.clients.lock() else {
            return;
        };
        if let Some(known) = clients.get_mut(client) {
            known.refused += 1;
            rule.clone_into(&mut known.rule);
            return;
        }
        if clients.len() >= CAPACITY {
            let least = clients
                .values()
                .min_by_key(|c| c.refused)
                .map(|c| c.key.clone());
            if let Some(least) = least {
                clients.remove(&least);
            }
        }
        clients.insert(
            client.to_owned(),
            LimitedClient {
                key: client.to_owned(),
                refused: 1,
                rule: rule.to_owned(),
            },
        );
    }

    /// Requests refused so far, per rule.
    pub fn refusals_per_rule(&self) -> BTreeMap<String, u64> {
        self.per_rule
            .lock()
            .map(|rules| rules.clone())
            .unwrap_or_default()
    }

    /// The `n` clients refused most, most first.
    pub fn top(&self, n: usize) -> Vec<LimitedClient> {
        let Ok(clients) = self.clients.lock() else {
            return Vec::new();
        };
        let mut all: Vec<LimitedClient> = clients.values().cloned().collect();
        sort_most_refused_first(&mut all);
        all.truncate(n);
        all
    }
}

/// Most refused first; ties by key, so the order is stable.
pub fn sort_most_refused_first(clients: &mut [LimitedClient]) {
    clients.sort_by(|a, b| b.refused.cmp(&a.refused).then_with(|| a.key.cmp(&b.key)));
}

/// How many of its most refused clients an instance publishes.
pub const PUBLISHED_CLIENTS: usize = 50;
/// A tally older than this belongs to an instance that stopped.
pub const STALE_AFTER_MS: i64 = 10_000;
/// Between publications.
pub const EXCHANGE_EVERY: Duration = Duration::from_secs(1);
/// The most refused clients the sum keeps.
pub const TOP_CLIENTS: usize = 10;

/// One instance's tally, as it publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// The instance's id, drawn at start.
    pub instance: String,
    /// When it was published (ms since the epoch).
    pub at_ms: i64,
    /// Requests refused since the instance started, per rule.
    pub refusals_per_rule: BTreeMap<String, u64>,
    /// Its most refused clients.
    pub top: Vec<LimitedClient>,
}

/// The sum of the live instances' tallies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClusterTally {
    /// How many instances the sum covers.
    pub instances: usize,
    /// Requests refused, per rule.
    pub refusals_per_rule: BTreeMap<String, u64>,
    /// The clients refused most, most first; `rule` is the one that refused them most.
    pub top_limited_clients: Vec<LimitedClient>,
}

/// Adds up `tallies`, keeping the `top` clients refused most.
pub fn merge(tallies: &[Tally], top: usize) -> ClusterTally {
    let mut refusals_per_rule = BTreeMap::new();
    let mut clients: HashMap<&str, (LimitedClient, u64)> = HashMap::new();
    for tally in tallies {
        for (rule, refused) in &tally.refusals_per_rule {
            *refusals_per_rule.entry(rule.clone()).or_default() += refused;
        }
        for client in &tally.top {
            let (sum, most_here) = clients.entry(&client.key).or_insert_with(|| {
                (
                    LimitedClient {
                        refused: 0,
                        ..client.clone()
                    },
                    0,
                )
            });
            sum.refused += client.refused;
            if client.refused > *most_here {
                *most_here = client.refused;
                sum.rule.clone_from(&client.rule);
            }
        }
    }
    let mut top_limited_clients: Vec<LimitedClient> =
        clients.into_values().map(|(client, _)| client).collect();
    sort_most_refused_first(&mut top_limited_clients);
    top_limited_clients.truncate(top);
    ClusterTally {
        instances: tallies.len(),
        refusals_per_rule,
        top_limited_clients,
    }
}

impl RateLimiter {
    /// Publishes this instance's tally and takes the sum of every live instance's. When the
    /// store does not answer, the sum is this instance's own tally.
    pub async fn exchange_tally(&self) {
        let limited = self.limited_clients();
        let mine = Tally {
            instance: self.instance().to_owned(),
            at_ms: self.now_ms(),
            refusals_per_rule: limited.refusals_per_rule(),
            top: limited.top(PUBLISHED_CLIENTS),
        };
        let exchange = self.store().exchange_tally(&mine);
        let tallies = match tokio::time::timeout(EXCHANGE_EVERY, exchange).await {
            Ok(Ok(tallies)) => tallies,
            Ok(Err(error)) => {
                tracing::debug!(%error, "refusal tallies unavailable: showing this instance's");
                vec![mine]
            }
            Err(_) => vec![mine],
        };
        self.set_cluster_tally(merge(&tallies, TOP_CLIENTS));
    }

    /// Exchanges the tally every [`EXCHANGE_EVERY`] until `shutdown` turns true.
    pub async fn run_tally_exchange(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let mut beat = crate::clock::Every::new(EXCHANGE_EVERY, shutdown);
        while beat.tick().await {
            self.exchange_tally().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_refused_client_comes_first() {
        let tally = LimitedClients::default();
        for _ in 0..3 {
            tally.record("ip:198.51.100.7", "api");
        }
        tally.record("ip:198.51.100.8", "join");
        let top = tally.top(CAPACITY);
        assert_eq!(top[0].key, "ip:198.51.100.7");
        assert_eq!(top[0].refused, 3);
        assert_eq!(top[1].key, "ip:198.51.100.8");
        assert_eq!(tally.refusals_per_rule().get("api"), Some(&3));
        assert_eq!(tally.refusals_per_rule().get("join"), Some(&1));
    }

    #[test]
    fn a_full_tally_forgets_the_least_refused() {
        let tally = LimitedClients::default();
        tally.record("ip:198.51.100.1", "api");
        tally.record("ip:198.51.100.1", "api");
        for n in 0..CAPACITY {
            tally.record(&format!("user:{n}"), "api");
        }
        let top = tally.top(CAPACITY + 1);
        assert_eq!(top.len(), CAPACITY);
        assert_eq!(top[0].key, "ip:198.51.100.1", "the most refused stays");
    }

    fn client(key: &str, refused: u64, rule: &str) -> LimitedClient {
        LimitedClient {
            key: key.to_owned(),
            refused,
            rule: rule.to_owned(),
        }
    }

    #[test]
    fn instances_add_up_per_rule_and_per_client() {
        let tally = |instance: &str, rules: &[(&str, u64)], top: Vec<LimitedClient>| Tally {
            instance: instance.to_owned(),
            at_ms: 0,
            refusals_per_rule: rules.iter().map(|(r, n)| ((*r).to_owned(), *n)).collect(),
            top,
        };
        let a = tally(
            "a",
            &[("api", 5), ("login", 1)],
            vec![client("ip:1", 5, "api"), client("ip:2", 1, "login")],
        );
        let b = tally(
            "b",
            &[("login", 7)],
            vec![client("ip:2", 7, "login"), client("ip:3", 2, "login")],
        );
        let sum = merge(&[a, b], 2);
        assert_eq!(sum.instances, 2);
        assert_eq!(sum.refusals_per_rule["api"], 5);
        assert_eq!(sum.refusals_per_rule["login"], 8);
        assert_eq!(
            sum.top_limited_clients,
            vec![client("ip:2", 8, "login"), client("ip:1", 5, "api")]
        );
    }
}
