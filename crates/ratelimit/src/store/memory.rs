//! Rate-limit state in this process: sharded maps under short locks, swept of expired entries.
//!
//! A client's bucket, penalty and permits sit in one shard (chosen by the client key, as Redis
//! chooses a slot by the hash tag), so one decision takes one lock. Every entry knows when it
//! stops mattering; a shard is swept whenever it has doubled since its last sweep, so memory stays
//! proportional to the clients active within their keys' lifetimes, however many pass by.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use async_trait::async_trait;

use super::stored_rules::{AlertClaims, RulesCell, StoredRules};
use super::{BanRecord, BucketKey, Permit, RateLimitStore, VIOLATIONS_REASON};
use crate::client_key::ClientKey;
use crate::clock::{Clock, UnixMillis};
use crate::decision::{BucketState, DecisionInput, decide};
use crate::outcome::Decision;
use crate::penalty::PenaltyState;
use crate::scope::{BanScope, Liability};
use crate::short_bytes;
use crate::store_error::StoreError;

const SHARDS: usize = 64;
/// The room for a client key inside its map entry: most keys (`ip:203.0.113.7`, `user:42`) fit,
/// so a lookup compares bytes already in the entry's cache line instead of following a pointer.
const STORED_INLINE: usize = 22;
const MIN_SWEEP_SIZE: usize = 1024;

/// Rate-limit state in memory, for one instance (and as the fallback when Redis is down).
pub struct MemoryRateLimitStore {
    shards: Box<[Mutex<Shard>]>,
    /// The latest end of any ban this store has started: once it is past no client is banned,
    /// and a request's other identities need no lookup.
    latest_ban_ms: AtomicI64,
    hasher: RandomState,
    clock: Arc<dyn Clock>,
    /// The rules stored through the admin API (this process is every instance).
    rules: RulesCell,
    /// Cluster-wide alerts sent (this process is the cluster).
    alert_claims: AlertClaims,
}

/// One shard's clients, found by the hash of their key's bytes (the store's hasher, computed
/// once per request: part of it picks the shard, and the table takes it whole).
#[derive(Default)]
struct Shard {
    clients: HashTable<Entry>,
    sweep_at: usize,
}

/// A client in its shard's table: its key and state in one cache line. A decision's lookup
/// reads the key and then the first bucket; when both share one aligned line, that is one miss
/// on a client not seen lately instead of two (an entry of 88 bytes straddled two lines).
#[repr(align(64))]
struct Entry {
    key: ClientKey<STORED_INLINE>,
    state: ClientState,
}

// The reason for `Entry`'s layout: a key and state that outgrow one line cost a second miss.
const _: () = assert!(std::mem::size_of::<Entry>() == 64);

type Bucket = (Arc<str>, BucketState, i64);

/// One client's state, kept small so that many fit in the cache: its first GCRA bucket sits in
/// the entry itself; penalties, sliding windows (three words of counters, which would push the
/// entry past a cache line), further buckets (a client charges a handful, one per rule or
/// endpoint, faster to scan than to hash) and permits, which most clients never have, sit behind
/// one pointer.
#[derive(Default)]
struct ClientState {
    first: Option<FirstBucket>,
    cold: Option<Box<Cold>>,
}

/// A GCRA bucket kept in the entry: its name, theoretical arrival time (µs) and expiry (ms).
struct FirstBucket {
    name: Arc<str>,
    tat_us: i64,
    expires_ms: i64,
}

#[derive(Default)]
struct Cold {
    penalty: PenaltyState,
    penalty_expires_ms: i64,
    reason: String,
    buckets: Vec<Bucket>,
    permits: HashMap<Arc<str>, Vec<(u64, i64)>>,
}

impl ClientState {
    /// The bucket `name`'s state and expiry, wherever it is kept.
    fn bucket(&self, name: &Arc<str>) -> Option<(BucketState, i64)> {
        if let Some(first) = self.first.as_ref().filter(|first| same(&first.name, name)) {
            return Some((BucketState::Gcra(first.tat_us), first.expires_ms));
        }
        let cold = self.cold.as_ref()?;
        cold.buckets
            .iter()
            .find(|(own, _, _)| same(own, name))
            .map(|(_, state, expires)| (*state, *expires))
    }

    /// Stores the bucket `name`'s new state, where it already is or else in the entry when it
    /// is a GCRA bucket and the entry has room.
    fn set_bucket(&mut self, name: &Arc<str>, state: BucketState, expires_ms: i64) {
        if let Some(first) = self.first.as_mut().filter(|first| same(&first.name, name)) {
            match state {
                BucketState::Gcra(tat_us) => {
                    (first.tat_us, first.expires_ms) = (tat_us, expires_ms);
                    return;
                }
                // A rule reloaded as a sliding window under the same name: its counters do not
                // fit in the entry, so the bucket moves out (one bucket per name stays true).
                BucketState::Window(_) => self.first = None,
            }
        }
        if let Some(slot) = self
            .cold
            .as_mut()
            .and_then(|cold| cold.buckets.iter_mut().find(|(own, _, _)| same(own, name)))
        {
            (slot.1, slot.2) = (state, expires_ms);
            return;
        }
        match (state, &self.first) {
            (BucketState::Gcra(tat_us), None) => {
                self.first = Some(FirstBucket {
                    name: name.clone(),
                    tat_us,
                    expires_ms,
                });
            }
            _ => self.cold().buckets.push((name.clone(), state, expires_ms)),
        }
    }

    fn cold(&mut self) -> &mut Cold {
        self.cold.get_or_insert_with(Box::default)
    }

    /// The stored penalty state while it matters, else a clean one.
    fn penalty(&self, now_ms: i64) -> PenaltyState {
        match &self.cold {
            Some(cold) if cold.penalty_expires_ms > now_ms => cold.penalty,
            _ => PenaltyState::default(),
        }
    }

    fn banned(&self, now_ms: i64) -> bool {
        self.penalty(now_ms).ban_until_ms > now_ms
    }

    /// Drops what expired; `true` when nothing is left.
    fn prune(&mut self, now_ms: i64) -> bool {
        if let Some(cold) = &mut self.cold {
            cold.buckets.retain(|(_, _, expires)| *expires > now_ms);
            cold.permits.retain(|_, permits| {
                permits.retain(|(_, expires)| *expires > now_ms);
                !permits.is_empty()
            });
            if cold.penalty_expires_ms <= now_ms {
                cold.penalty = PenaltyState::default();
                cold.reason.clear();
            }
        }
        if self
            .first
            .as_ref()
            .is_some_and(|first| first.expires_ms <= now_ms)
        {
            self.first = self.cold.as_mut().and_then(|cold| cold.take_gcra());
        }
        let cold_empty = self.cold.as_ref().is_none_or(|cold| {
            cold.buckets.is_empty() && cold.permits.is_empty() && cold.penalty_expires_ms <= now_ms
        });
        if cold_empty {
            self.cold = None;
        }
        self.first.is_none() && cold_empty
    }
}

impl Cold {
    /// Takes out a GCRA bucket, to move into the entry when its place there is free.
    fn take_gcra(&mut self) -> Option<FirstBucket> {
        let (at, tat_us) = self
            .buckets
            .iter()
            .enumerate()
            .find_map(|(at, (_, state, _))| match state {
                BucketState::Gcra(tat_us) => Some((at, *tat_us)),
                BucketState::Window(_) => None,
            })?;
        let (name, _, expires_ms) = self.buckets.swap_remove(at);
        Some(FirstBucket {
            name,
            tat_us,
            expires_ms,
        })
    }
}

/// Whether two bucket names are the same: the limiter passes the rule's own `Arc`, so the
/// pointers usually answer without reading the text.
fn same(own: &Arc<str>, name: &Arc<str>) -> bool {
    Arc::ptr_eq(own, name) || **own == **name
}

impl MemoryRateLimitStore {
    /// An empty store reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            latest_ban_ms: AtomicI64::new(0),
            hasher: RandomState::default(),
            clock,
            rules: RulesCell::default(),
            alert_claims: AlertClaims::default(),
        }
    }

    /// How many clients hold state (expired ones included until their shard is swept).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(shard).clients.len())
            .sum()
    }

    /// Whether no client holds state.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired entry now (the store also does this by itself as it grows).
    pub fn evict_expired(&self) {
        let now = self.clock.now_ms();
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            shard.clients.retain(|entry| !entry.state.prune(now));
            shard.sweep_at = (shard.clients.len() * 2).max(MIN_SWEEP_SIZE);
        }
    }

    fn hash<const N: usize>(&self, client: &ClientKey<N>) -> u64 {
        self.hasher.hash_one(client.as_bytes())
    }

    /// The shard of a client's `hash`. Its table finds buckets by the hash's low bits and tells
    /// entries apart by its top seven, so the shard is picked by bits of neither.
    fn shard(&self, hash: u64) -> MutexGuard<'_, Shard> {
        let index = (hash >> 32) as usize % SHARDS;
        lock(&self.shards[index])
    }

    /// Runs `f` on the client's state, creating it if needed, sweeping the shard when it grew.
    fn with_client<T>(
        &self,
        client: &ClientKey,
        now_ms: i64,
        f: impl FnOnce(&mut ClientState) -> T,
    ) -> T {
        let hash = self.hash(client);
        let mut shard = self.shard(hash);
        let own = |entry: &Entry| short_bytes::equal(entry.key.as_bytes(), client.as_bytes());
        if let Some(entry) = shard.clients.find_mut(hash, own) {
            return f(&mut entry.state);
        }
        if shard.clients.len() >= shard.sweep_at {
            shard.clients.retain(|entry| !entry.state.prune(now_ms));
            shard.sweep_at = (shard.clients.len() * 2).max(MIN_SWEEP_SIZE);
        }
        let entry = Entry {
            key: ClientKey::from(client.as_str()),
            state: ClientState::default(),
        };
        let rehash = |entry: &Entry| self.hash(&entry.key);
        let entry = shard.clients.insert_unique(hash, entry, rehash).into_mut();
        f(&mut entry.state)
    }

    /// The decision, synchronously: the memory store never waits.
    pub fn decide_now(&self, key: &BucketKey, input: &DecisionInput<'_>) -> Decision {
        self.decide_at(key, input, self.clock.now_ms())
    }

    /// The decision at `now_ms` (the caller's reading of this store's clock, so that one
    /// request reads the clock once).
    pub fn decide_at(&self, key: &BucketKey, input: &DecisionInput<'_>, now_ms: i64) -> Decision {
        self.decide_on(&key.client, &key.bucket, input, now_ms)
    }

    /// [`MemoryRateLimitStore::decide_at`] on a client's bucket given by reference: the limiter
    /// borrows the rule's name, and the store clones it only into a bucket it creates.
    pub fn decide_on(
        &self,
        client_key: &ClientKey,
        bucket_name: &Arc<str>,
        input: &DecisionInput<'_>,
        now_ms: i64,
    ) -> Decision {
        self.with_client(client_key, now_ms, |client| {
            let bucket = client
                .bucket(bucket_name)
                .filter(|(_, expires)| *expires > now_ms)
                .map(|(state, _)| state);
            let penalty = client.penalty(now_ms);
            let step = decide(bucket, penalty, now_ms * 1000, input);
            if let Some((state, expires)) = step.bucket {
                client.set_bucket(bucket_name, state, expires);
            }
            if let Some((state, expires)) = step.penalty {
                let cold = client.cold();
                cold.penalty = state;
                cold.penalty_expires_ms = expires;
                if state.ban_until_ms > now_ms {
                    cold.reason = VIOLATIONS_REASON.to_owned();
                    self.latest_ban_ms
                        .fetch_max(state.ban_until_ms, Ordering::Relaxed);
                }
            }
            step.decision
        })
    }
}

impl MemoryRateLimitStore {
    /// [`RateLimitStore::banned_until`] at `now_ms`, synchronously.
    pub fn banned_until_at(
        &self,
        clients: &[ClientKey],
        liability: Liability,
        now_ms: i64,
    ) -> Option<i64> {
        if self.latest_ban_ms.load(Ordering::Relaxed) <= now_ms {
            return None;
        }
        clients
            .iter()
            .filter_map(|client| {
                let hash = self.hash(client);
                let shard = self.shard(hash);
                let entry = shard.clients.find(hash, |entry| {
                    short_bytes::equal(entry.key.as_bytes(), client.as_bytes())
                })?;
                let penalty = entry.state.penalty(now_ms);
                let until = penalty.ban_until_ms;
                (until > now_ms && liability.refused_by(penalty.ban_scope)).then_some(until)
            })
            .max()
    }

    /// [`RateLimitStore::acquire`], synchronously.
    pub fn acquire_now(&self, key: &BucketKey, limit: i64, lease_ms: i64) -> Option<Permit> {
        let now_ms = self.clock.now_ms();
        let id = rand::random::<u64>();
        let taken = self.with_client(&key.client, now_ms, |client| {
            let permits = client.cold().permits.entry(key.bucket.clone()).or_default();
            permits.retain(|(_, expires)| *expires > now_ms);
            if i64::try_from(permits.len()).unwrap_or(i64::MAX) >= limit {
                return false;
            }
            permits.push((id, now_ms + lease_ms));
            true
        });
        taken.then(|| Permit {
            key: key.clone(),
            id,
        })
    }

    /// Gives an in-flight slot back, synchronously.
    pub fn release_now(&self, permit: &Permit) {
        let now_ms = self.clock.now_ms();
        self.with_client(&permit.key.client, now_ms, |client| {
            if let Some(permits) = client
                .cold
                .as_mut()
                .and_then(|cold| cold.permits.get_mut(&permit.key.bucket))
            {
                permits.retain(|(id, _)| *id != permit.id);
            }
        });
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panic while holding a shard cannot leave it half-written (every write is one assignment),
    // so a poisoned lock is still safe to use.
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn ban_record(client: &str, state: &ClientState) -> BanRecord {
    BanRecord {
        key: client.to_owned(),
        reason: state
            .cold
            .as_ref()
            .map_or_else(String::new, |cold| cold.reason.clone()),
        count: state.cold.as_ref().map_or(0, |cold| cold.penalty.strikes),
        until_ms: state
            .cold
            .as_ref()
            .map_or(0, |cold| cold.penalty.ban_until_ms),
        scope: state
            .cold
            .as_ref()
            .map_or(BanScope::default(), |cold| cold.penalty.ban_scope),
    }
}

#[async_trait]
impl RateLimitStore for MemoryRateLimitStore {
    async fn decide(
        &self,
        key: &BucketKey,
        input: &DecisionInput<'_>,
    ) -> Result<Decision, StoreError> {
        Ok(self.decide_now(key, input))
    }

    async fn acquire(
        &self,
        key: &BucketKey,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Option<Permit>, StoreError> {
        Ok(self.acquire_now(key, limit, lease_ms))
    }

    async fn release(&self, permit: &Permit) -> Result<(), StoreError> {
        self.release_now(permit);
        Ok(())
    }

    async fn claim_alert(&self, fact: &str, hold_ms: i64) -> Result<bool, StoreError> {
        Ok(self.alert_claims.claim(fact, self.clock.now_ms(), hold_ms))
    }

    async fn rules_version(&self) -> Result<u64, StoreError> {
        Ok(self.rules.read().version)
    }

    async fn stored_rules(&self) -> Result<StoredRules, StoreError> {
        Ok(self.rules.read())
    }

    async fn put_stored_rules(
        &self,
        rules: Option<&str>,
        author: &str,
        at_ms: UnixMillis,
    ) -> Result<u64, StoreError> {
        Ok(self.rules.put(rules, author, at_ms))
    }

    async fn ban(
        &self,
        client: &str,
        length_ms: i64,
        reason: &str,
        strike_memory_ms: i64,
        scope: BanScope,
    ) -> Result<BanRecord, StoreError> {
        let now_ms = self.clock.now_ms();
        Ok(self.with_client(&ClientKey::from(client), now_ms, |state| {
            let current = state.penalty(now_ms);
            let until = (now_ms + length_ms).max(current.ban_until_ms);
            let cold = state.cold();
            cold.penalty = PenaltyState {
                score_milli: 0,
                updated_ms: now_ms,
                strikes: if now_ms < current.strikes_until_ms {
                    current.strikes + 1
                } else {
                    1
                },
                strikes_until_ms: until + strike_memory_ms,
                ban_until_ms: until,
                ban_scope: scope,
            };
            cold.penalty_expires_ms = until + strike_memory_ms;
            cold.reason = reason.to_owned();
            self.latest_ban_ms.fetch_max(until, Ordering::Relaxed);
            ban_record(client, state)
        }))
    }

    async fn lift_ban(&self, client: &str) -> Result<bool, StoreError> {
        let now_ms = self.clock.now_ms();
        Ok(self.with_client(&ClientKey::from(client), now_ms, |state| {
            let banned = state.banned(now_ms);
            if let Some(cold) = &mut state.cold {
                cold.penalty.ban_until_ms = 0;
                cold.penalty.score_milli = 0;
            }
            banned
        }))
    }

    async fn bans(&self) -> Result<Vec<BanRecord>, StoreError> {
        let now_ms = self.clock.now_ms();
        let mut bans: Vec<BanRecord> = self
            .shards
            .iter()
            .flat_map(|shard| {
                lock(shard)
                    .clients
                    .iter()
                    .filter(|entry| entry.state.banned(now_ms))
                    .map(|entry| ban_record(entry.key.as_str(), &entry.state))
                    .collect::<Vec<_>>()
            })
            .collect();
        bans.sort_by_key(|ban| (ban.until_ms, ban.key.clone()));
        Ok(bans)
    }

    async fn banned_until(
        &self,
        clients: &[ClientKey],
        liability: Liability,
    ) -> Result<Option<UnixMillis>, StoreError> {
        Ok(self.banned_until_at(clients, liability, self.clock.now_ms()))
    }

    async fn now_ms(&self) -> Result<UnixMillis, StoreError> {
        Ok(self.clock.now_ms())
    }

    fn in_process(&self) -> Option<&MemoryRateLimitStore> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sliding_window::WindowState;

    fn window(current: i64) -> BucketState {
        BucketState::Window(WindowState {
            start_ms: 0,
            current,
            previous: 0,
        })
    }

    #[test]
    fn a_bucket_keeps_one_place_whatever_its_algorithm_becomes() {
        let (name, other): (Arc<str>, Arc<str>) = (Arc::from("reads"), Arc::from("writes"));
        let mut client = ClientState::default();
        client.set_bucket(&name, BucketState::Gcra(5), 10);
        assert!(
            client.cold.is_none(),
            "a first GCRA bucket stays in the entry"
        );
        assert_eq!(client.bucket(&name), Some((BucketState::Gcra(5), 10)));

        // The same name reloaded as a sliding window, then as GCRA again: one bucket throughout.
        client.set_bucket(&name, window(3), 20);
        assert!(client.first.is_none());
        assert_eq!(client.bucket(&name), Some((window(3), 20)));
        client.set_bucket(&name, BucketState::Gcra(7), 30);
        assert_eq!(client.bucket(&name), Some((BucketState::Gcra(7), 30)));
        let cold = client.cold.as_ref().map_or(0, |cold| cold.buckets.len());
        assert_eq!(cold, 1);

        // A name given as another `Arc` of the same text finds the same bucket.
        client.set_bucket(&Arc::from("reads"), BucketState::Gcra(8), 40);
        assert_eq!(client.bucket(&name), Some((BucketState::Gcra(8), 40)));
        client.set_bucket(&other, window(1), 50);
        assert_eq!(client.bucket(&other), Some((window(1), 50)));
        assert_eq!(client.bucket(&Arc::from("none")), None);
    }

    #[test]
    fn pruning_moves_a_live_gcra_bucket_into_the_entry_and_keeps_windows_out() {
        let names: [Arc<str>; 3] = [Arc::from("a"), Arc::from("b"), Arc::from("c")];
        let mut client = ClientState::default();
        client.set_bucket(&names[0], BucketState::Gcra(1), 100);
        client.set_bucket(&names[1], window(2), 300);
        client.set_bucket(&names[2], BucketState::Gcra(3), 300);
        assert!(!client.prune(200));
        assert_eq!(client.bucket(&names[0]), None);
        let first = client.first.as_ref().map(|first| first.name.clone());
        assert_eq!(first.as_deref(), Some("c"));
        assert_eq!(client.bucket(&names[1]), Some((window(2), 300)));
        assert_eq!(client.bucket(&names[2]), Some((BucketState::Gcra(3), 300)));
        assert!(
            client.prune(300),
            "nothing is left once every bucket expired"
        );
    }
}
