//! The clients a limiter refused most, and its refusals per rule, for the dashboard.
//!
//! Client keys are unbounded, so they cannot be metric labels; this keeps a small tally instead,
//! per limiter (one per instance; [`crate::ratelimit::tally`] adds the instances up). The tally
//! holds at most [`CAPACITY`] clients: when full, the one with the fewest refusals makes room.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

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
}
