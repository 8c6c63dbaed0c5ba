//! The clients this instance refused most, and its refusals per rule, for the dashboard.
//!
//! Client keys are unbounded, so they cannot be metric labels; this keeps a small tally instead,
//! in this process only (each instance shows what it refused). The tally holds at most
//! [`CAPACITY`] clients: when full, the one with the fewest refusals makes room.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

use serde::Serialize;

/// Most clients remembered.
pub const CAPACITY: usize = 512;

/// One client's refusals on this instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitedClient {
    /// The client key (`ip:…`, `user:…`, `key:…`).
    pub key: String,
    /// Requests refused (limited or banned).
    pub refused: u64,
    /// The rule that refused it last.
    pub rule: String,
}

fn per_rule() -> &'static Mutex<BTreeMap<String, u64>> {
    static PER_RULE: OnceLock<Mutex<BTreeMap<String, u64>>> = OnceLock::new();
    PER_RULE.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// Requests refused on this instance so far, per rule.
pub fn refusals_per_rule() -> BTreeMap<String, u64> {
    per_rule()
        .lock()
        .map(|rules| rules.clone())
        .unwrap_or_default()
}

fn tally() -> &'static Mutex<HashMap<String, LimitedClient>> {
    static TALLY: OnceLock<Mutex<HashMap<String, LimitedClient>>> = OnceLock::new();
    TALLY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Counts one refusal of `client` by `rule`.
pub fn record(client: &str, rule: &str) {
    if let Ok(mut rules) = per_rule().lock() {
        *rules.entry(rule.to_owned()).or_default() += 1;
    }
    let Ok(mut clients) = tally().lock() else {
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

/// The `n` clients refused most, most first.
pub fn top(n: usize) -> Vec<LimitedClient> {
    let Ok(clients) = tally().lock() else {
        return Vec::new();
    };
    let mut all: Vec<LimitedClient> = clients.values().cloned().collect();
    all.sort_by(|a, b| b.refused.cmp(&a.refused).then_with(|| a.key.cmp(&b.key)));
    all.truncate(n);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_refused_client_comes_first() {
        for _ in 0..3 {
            record("ip:198.51.100.7", "api");
        }
        record("ip:198.51.100.8", "join");
        let top = top(CAPACITY);
        let first = top.iter().position(|c| c.key == "ip:198.51.100.7");
        let second = top.iter().position(|c| c.key == "ip:198.51.100.8");
        assert!(first < second, "{top:?}");
        assert!(
            top.iter()
                .any(|c| c.key == "ip:198.51.100.7" && c.refused >= 3)
        );
        assert!(refusals_per_rule().get("api").is_some_and(|n| *n >= 3));
    }
}
