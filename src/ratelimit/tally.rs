//! Refusals across instances, for the dashboard.
//!
//! Each limiter keeps its own tally ([`LimitedClients`]: refusals per rule, the clients it refused
//! most). Every second it publishes the tally through the limiter's store and reads back every
//! live instance's; their sum is what the dashboard shows, so an operator sees the whole fleet
//! from any instance. On the memory store there is one instance, and the sum is its own tally.
//! An instance that stops drops out of the sum [`STALE_AFTER_MS`] after its last publication.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::limiter::RateLimiter;
use crate::telemetry::limited_clients::{LimitedClient, sort_most_refused_first};

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
