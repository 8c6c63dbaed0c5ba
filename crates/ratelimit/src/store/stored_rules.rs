//! Rules an operator stored for every instance, as the store keeps them: the rule set's JSON,
//! a version that grows with every change (so instances notice one by reading a number), and
//! who made the change and when. Also the claims that send a cluster-wide alert once.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::UnixMillis;

/// The stored rules and their version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredRules {
    /// Grows by one with every store or drop; `0` while nobody ever stored rules.
    pub version: u64,
    /// The rule set as JSON (the rules file's shape); `None` when dropped or never stored,
    /// and then every instance follows its own rules file.
    pub rules: Option<String>,
    /// Who made the last change (the admin token's holder as the audit log names it).
    pub author: Option<String>,
    /// When the last change was made.
    pub at_ms: Option<UnixMillis>,
}

/// The stored rules of a store of one process.
#[derive(Debug, Default)]
pub(super) struct RulesCell(Mutex<StoredRules>);

impl RulesCell {
    pub(super) fn read(&self) -> StoredRules {
        self.0.lock().map(|rules| rules.clone()).unwrap_or_default()
    }

    /// Puts `rules` (or drops them, with `None`) and answers the new version.
    pub(super) fn put(&self, rules: Option<&str>, author: &str, at_ms: UnixMillis) -> u64 {
        let Ok(mut stored) = self.0.lock() else {
            return 0;
        };
        *stored = StoredRules {
            version: stored.version + 1,
            rules: rules.map(str::to_owned),
            author: Some(author.to_owned()),
            at_ms: Some(at_ms),
        };
        stored.version
    }
}

/// Claims of cluster-wide alerts in a store of one process: fact → when its claim ends.
#[derive(Debug, Default)]
pub(super) struct AlertClaims(Mutex<HashMap<String, UnixMillis>>);

impl AlertClaims {
    /// Claims `fact` until `now_ms + hold_ms`; `false` when a claim of it still holds.
    pub(super) fn claim(&self, fact: &str, now_ms: UnixMillis, hold_ms: i64) -> bool {
        let Ok(mut claims) = self.0.lock() else {
            return true;
        };
        claims.retain(|_, until| *until > now_ms);
        if claims.contains_key(fact) {
            return false;
        }
        claims.insert(fact.to_owned(), now_ms.saturating_add(hold_ms));
        true
    }
}
