//! Rate-limit state in Redis, shared by every instance: one Lua script per decision.
//!
//! A decision is `lua/ratelimit_penalty.lua` followed by the algorithm's script, touching the
//! bucket and the client's penalty hash, both under the client's hash tag
//! (`wr:rl:{<client>}:…`), so it is one round trip, atomic, and cluster-safe. Decisions made
//! together go as one call ([`GroupedDecisions`]). Every key is
//! written with a TTL. Time comes from the Redis server (`TIME` inside the script), so instances
//! never disagree, unless a clock is injected (the conformance suite drives a manual one).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use redis::aio::ConnectionLike;
use redis::{Script, ScriptInvocation};

use super::grouped_decisions::{Algorithm, DecisionScripts, GroupedDecisions, Shape};
use super::{BanRecord, BucketKey, Permit, RateLimitStore, StoredRules, VIOLATIONS_REASON};
use crate::client_key::ClientKey;
use crate::clock::{Clock, UnixMillis};
use crate::decision::{DecisionInput, Limit};
use crate::outcome::{BanStarted, Decision, Quota};
use crate::redis_connection::Connection;
use crate::refusals::{STALE_AFTER_MS, Tally};
use crate::scope::{BanScope, Liability};
use crate::script_source::lua;
use crate::store_error::StoreError;

/// The instances' refusal tallies: a hash of instance id → tally (JSON), for the dashboard.
const TALLY_KEY: &str = "wr:rl:tallies";
/// The rules stored for every instance: a hash of `version` (grows with every change), `rules`
/// (the rule set's JSON, absent when dropped), `author` and `at` (unix ms). Configuration, not
/// client state: it never expires.
pub const RULES_KEY: &str = "wr:rl:rules";
/// The sorted set of current bans (client key scored by the ban's end), for listing.
const BAN_INDEX_KEY: &str = "wr:rl:bans";
/// The same for the bans of scope everyone, which refuse verified users too. Its hash tag puts
/// it in the slot of [`BAN_INDEX_KEY`] (whose whole name is hashed), so one script writes both.
const EVERYONE_BAN_INDEX_KEY: &str = "{wr:rl:bans}:everyone";

struct Scripts {
    acquire: Script,
    ban: Script,
    lift: Script,
    ban_index: Script,
    banned: Script,
}

/// Rate-limit state in one Redis or a Redis Cluster (any connection the `redis` crate offers).
#[derive(Clone)]
pub struct RedisRateLimitStore<C = Connection> {
    connection: C,
    scripts: Arc<Scripts>,
    clock: Option<Arc<dyn Clock>>,
    /// Whether any ban may be in force, so identities are looked up only then.
    horizon: Arc<BanHorizon>,
    grouped: GroupedDecisions,
    /// Whether one call may carry several clients' decisions (one Redis, not a cluster).
    one_node: bool,
}

impl RedisRateLimitStore<Connection> {
    /// Connects to `urls` (one `redis://` URL, or a comma-separated list of cluster nodes)
    /// exactly as the queue's store does. How long a request may wait is the limiter's business
    /// (its `store_timeout` and fail modes); the connection's own timeouts are only a backstop.
    pub async fn connect(urls: &str) -> Result<Self, StoreError> {
        let connection = Connection::open(urls).await?;
        let one_node = matches!(connection, Connection::Single(_));
        let mut store = Self::new(connection);
        store.one_node = one_node;
        Ok(store)
    }

    /// Connects to a Redis Cluster through any of its `nodes`.
    pub async fn connect_cluster(nodes: &[String]) -> Result<Self, StoreError> {
        Self::connect(&nodes.join(",")).await
    }
}

impl<C> RedisRateLimitStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// A store over an open connection, taking time from the Redis server; each call carries one
    /// client's decisions (safe on a cluster). Inside a Tokio runtime: it starts the task that
    /// sends the decisions.
    pub fn new(connection: C) -> Self {
        // A decision is the penalty script followed by the algorithm's; every script that reads
        // the time starts with the one clock of `lua/lib/time.lua`.
        let decisions = Arc::new(DecisionScripts {
            gcra: Script::new(lua!(
                "lib/time",
                "ratelimit_penalty",
                "ratelimit_gcra",
                "ratelimit_each"
            )),
            window: Script::new(lua!(
                "lib/time",
                "ratelimit_penalty",
                "ratelimit_sliding_window",
                "ratelimit_each"
            )),
        });
        Self {
            grouped: GroupedDecisions::start(connection.clone(), decisions),
            one_node: false,
            connection,
            scripts: Arc::new(Scripts {
                acquire: Script::new(lua!("lib/time", "ratelimit_acquire")),
                ban: Script::new(lua!("lib/time", "ratelimit_ban")),
                lift: Script::new(lua!("lib/time", "ratelimit_lift")),
                ban_index: Script::new(lua!("ratelimit_ban_index")),
                banned: Script::new(lua!("lib/time", "ratelimit_banned")),
            }),
            clock: None,
            horizon: Arc::default(),
        }
    }

    /// Takes time from `clock` instead of the server (tests with a manual clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The first script argument: the injected time, or '' for the server's `TIME`.
    fn now_arg(&self) -> String {
        self.clock
            .as_ref()
            .map(|clock| clock.now_ms().to_string())
            .unwrap_or_default()
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        invocation
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)
    }

    /// Now by this instance's clock (or the injected one), for the ban horizon.
    fn local_now_ms(&self) -> i64 {
        match &self.clock {
            Some(clock) => clock.now_ms(),
            None => crate::clock::SystemClock.now_ms(),
        }
    }

    /// Whether some ban may be in force: the ban index's latest end, read at most once a second.
    async fn any_ban(&self) -> bool {
        let now = self.local_now_ms();
        if self.horizon.claim_look(now) {
            let mut connection = self.connection.clone();
            let latest: Result<Vec<(String, i64)>, _> = redis::cmd("ZRANGE")
                .arg(BAN_INDEX_KEY)
                .arg(-1)
                .arg(-1)
                .arg("WITHSCORES")
                .query_async(&mut connection)
                .await;
            match latest {
                Ok(latest) => self
                    .horizon
                    .looked(latest.first().map_or(0, |(_, until_ms)| *until_ms)),
                // Not knowing, check the identities: the check meets the same store.
                Err(_) => {
                    self.horizon.look_failed();
                    return true;
                }
            }
        }
        self.horizon.any_ban_at(now)
    }

    async fn index_ban(
        &self,
        client: &str,
        until_ms: i64,
        scope: BanScope,
    ) -> Result<(), StoreError> {
        self.horizon.banned(until_ms);
        let now = RateLimitStore::now_ms(self).await?;
        let mut invocation = self.scripts.ban_index.key(BAN_INDEX_KEY);
        invocation
            .key(EVERYONE_BAN_INDEX_KEY)
            .arg(now)
            .arg(client)
            .arg(until_ms)
            .arg(scope.code());
        self.run::<i64>(&invocation).await.map(|_| ())
    }
}

/// The key of the client's penalty hash.
pub fn penalty_key(client: &str) -> String {
    format!("wr:rl:{{{client}}}:p")
}

/// The key of one bucket of the client.
pub fn bucket_key(key: &BucketKey) -> String {
    format!("wr:rl:{{{}}}:b:{}", key.client, key.bucket)
}

/// The key of one bucket's in-flight permits.
pub fn permits_key(key: &BucketKey) -> String {
    format!("wr:rl:{{{}}}:c:{}", key.client, key.bucket)
}

fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn corrupt(reply: &[i64]) -> StoreError {
    StoreError::Corrupt(format!("unexpected rate-limit reply {reply:?}"))
}

/// Reads a decision script's reply (see `lua/ratelimit_penalty.lua`).
fn decision_from_reply(reply: &[i64]) -> Result<Decision, StoreError> {
    match reply {
        [1, limit, remaining, reset_ms, delay_ms] => Ok(Decision::Allowed {
            quota: Quota {
                limit: *limit,
                remaining: *remaining,
                reset_ms: *reset_ms,
            },
            delay_ms: *delay_ms,
        }),
        [
            0,
            limit,
            remaining,
            reset_ms,
            retry_after_ms,
            ban_until,
            strikes,
            violations,
        ] => Ok(Decision::Limited {
            quota: Quota {
                limit: *limit,
                remaining: *remaining,
                reset_ms: *reset_ms,
            },
            retry_after_ms: *retry_after_ms,
            ban: (*ban_until > 0).then_some(BanStarted {
                until_ms: *ban_until,
                strikes: *strikes,
            }),
            violations: *violations,
        }),
        [2, until_ms] => Ok(Decision::Banned {
            until_ms: *until_ms,
        }),
        other => Err(corrupt(other)),
    }
}

#[async_trait]
impl<C> RateLimitStore for RedisRateLimitStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn decide(
        &self,
        key: &BucketKey,
        input: &DecisionInput<'_>,
    ) -> Result<Decision, StoreError> {
        let (algorithm, a, b) = match input.limit {
            Limit::Gcra(limit) => (Algorithm::Gcra, limit.interval_us, limit.burst),
            Limit::SlidingWindow(limit) => (Algorithm::SlidingWindow, limit.window_ms, limit.limit),
        };
        let policy = &input.penalty;
        let lengths = policy
            .ban_lengths_ms
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let penalty = penalty_key(&key.client);
        let shape = Shape {
            algorithm,
            args: vec![
                self.now_arg(),
                input.cost.to_string(),
                policy.decay_ms.to_string(),
                policy.delay_after.to_string(),
                policy.delay_step_ms.to_string(),
                policy.max_delay_ms.to_string(),
                policy.reduce_after.to_string(),
                policy.reduce_permille.to_string(),
                policy.ban_after.to_string(),
                policy.strike_memory_ms.to_string(),
                lengths,
                a.to_string(),
                b.to_string(),
                input.liability.code().to_string(),
                input.ban_scope.code().to_string(),
            ],
            only_client: (!self.one_node).then(|| penalty.clone()),
        };
        let reply = self.grouped.decide(shape, bucket_key(key), penalty).await?;
        let decision = decision_from_reply(&reply)?;
        if let Decision::Limited { ban: Some(ban), .. } = &decision {
            self.index_ban(&key.client, ban.until_ms, input.ban_scope)
                .await?;
        }
        Ok(decision)
    }

    async fn acquire(
        &self,
        key: &BucketKey,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Option<Permit>, StoreError> {
        let id = rand::random::<u64>();
        let mut invocation = self.scripts.acquire.key(permits_key(key));
        invocation
            .arg(self.now_arg())
            .arg(limit)
            .arg(lease_ms.max(1))
            .arg(id);
        let taken: i64 = self.run(&invocation).await?;
        Ok((taken == 1).then(|| Permit {
            key: key.clone(),
            id,
        }))
    }

    async fn release(&self, permit: &Permit) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        redis::cmd("ZREM")
            .arg(permits_key(&permit.key))
            .arg(permit.id)
            .query_async::<i64>(&mut connection)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn ban(
        &self,
        client: &str,
        length_ms: i64,
        reason: &str,
        strike_memory_ms: i64,
        scope: BanScope,
    ) -> Result<BanRecord, StoreError> {
        let mut invocation = self.scripts.ban.key(penalty_key(client));
        invocation
            .arg(self.now_arg())
            .arg(length_ms)
            .arg(reason)
            .arg(strike_memory_ms)
            .arg(scope.code());
        let reply: Vec<i64> = self.run(&invocation).await?;
        let [until_ms, count] = reply[..] else {
            return Err(corrupt(&reply));
        };
        self.index_ban(client, until_ms, scope).await?;
        Ok(BanRecord {
            key: client.to_owned(),
            reason: reason.to_owned(),
            count,
            until_ms,
            scope,
        })
    }

    async fn lift_ban(&self, client: &str) -> Result<bool, StoreError> {
        let mut invocation = self.scripts.lift.key(penalty_key(client));
        invocation.arg(self.now_arg());
        let lifted: i64 = self.run(&invocation).await?;
        let mut connection = self.connection.clone();
        for index in [BAN_INDEX_KEY, EVERYONE_BAN_INDEX_KEY] {
            redis::cmd("ZREM")
                .arg(index)
                .arg(client)
                .query_async::<i64>(&mut connection)
                .await
                .map_err(unavailable)?;
        }
        Ok(lifted == 1)
    }

    async fn bans(&self) -> Result<Vec<BanRecord>, StoreError> {
        let now = RateLimitStore::now_ms(self).await?;
        let mut connection = self.connection.clone();
        let clients: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(BAN_INDEX_KEY)
            .arg(format!("({now}"))
            .arg("+inf")
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        let mut bans = Vec::with_capacity(clients.len());
        for client in clients {
            let (reason, count, until_ms, scope): (
                Option<String>,
                Option<i64>,
                Option<i64>,
                Option<String>,
            ) = redis::cmd("HMGET")
                .arg(penalty_key(&client))
                .arg("r")
                .arg("k")
                .arg("b")
                .arg("sc")
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            let until_ms = until_ms.unwrap_or(0);
            if until_ms > now {
                bans.push(BanRecord {
                    key: client,
                    reason: reason.unwrap_or_else(|| VIOLATIONS_REASON.to_owned()),
                    count: count.unwrap_or(1),
                    until_ms,
                    scope: BanScope::from_code(scope.as_deref()),
                });
            }
        }
        bans.sort_by_key(|ban| (ban.until_ms, ban.key.clone()));
        Ok(bans)
    }

    async fn banned_until(
        &self,
        clients: &[ClientKey],
        liability: Liability,
    ) -> Result<Option<UnixMillis>, StoreError> {
        if clients.is_empty() || liability == Liability::Exempt || !self.any_ban().await {
            return Ok(None);
        }
        let index = match liability {
            Liability::Shared => EVERYONE_BAN_INDEX_KEY,
            _ => BAN_INDEX_KEY,
        };
        let mut invocation = self.scripts.banned.key(index);
        invocation.arg(self.now_arg());
        for client in clients {
            invocation.arg(client.as_str());
        }
        let latest: i64 = self.run(&invocation).await?;
        Ok((latest > 0).then_some(latest))
    }

    async fn exchange_tally(&self, mine: &Tally) -> Result<Vec<Tally>, StoreError> {
        let text =
            serde_json::to_string(mine).map_err(|error| StoreError::Corrupt(error.to_string()))?;
        let mut connection = self.connection.clone();
        let (all,): (HashMap<String, String>,) = redis::pipe()
            .atomic()
            .hset(TALLY_KEY, &mine.instance, text)
            .ignore()
            .pexpire(TALLY_KEY, STALE_AFTER_MS * 6)
            .ignore()
            .hgetall(TALLY_KEY)
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        let mut live = Vec::with_capacity(all.len());
        let mut stopped = Vec::new();
        for (instance, text) in all {
            match serde_json::from_str::<Tally>(&text) {
                Ok(tally) if tally.at_ms >= mine.at_ms - STALE_AFTER_MS => live.push(tally),
                _ => stopped.push(instance),
            }
        }
        if !stopped.is_empty() {
            redis::cmd("HDEL")
                .arg(TALLY_KEY)
                .arg(&stopped)
                .query_async::<i64>(&mut connection)
                .await
                .map_err(unavailable)?;
        }
        Ok(live)
    }

    async fn claim_alert(&self, fact: &str, hold_ms: i64) -> Result<bool, StoreError> {
        let mut connection = self.connection.clone();
        let claimed: Option<String> = redis::cmd("SET")
            .arg(format!("wr:rl:alert:{fact}"))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(hold_ms.max(1))
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(claimed.is_some())
    }

    async fn rules_version(&self) -> Result<u64, StoreError> {
        let mut connection = self.connection.clone();
        let version: Option<u64> = redis::cmd("HGET")
            .arg(RULES_KEY)
            .arg("version")
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(version.unwrap_or(0))
    }

    async fn stored_rules(&self) -> Result<StoredRules, StoreError> {
        let mut connection = self.connection.clone();
        let (version, rules, author, at_ms): (
            Option<u64>,
            Option<String>,
            Option<String>,
            Option<i64>,
        ) = redis::cmd("HMGET")
            .arg(RULES_KEY)
            .arg(&["version", "rules", "author", "at"])
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(StoredRules {
            version: version.unwrap_or(0),
            rules,
            author,
            at_ms,
        })
    }

    async fn put_stored_rules(
        &self,
        rules: Option<&str>,
        author: &str,
        at_ms: UnixMillis,
    ) -> Result<u64, StoreError> {
        let mut connection = self.connection.clone();
        // One key, one MULTI: the version and the text it numbers change together.
        let mut pipe = redis::pipe();
        pipe.atomic().hincr(RULES_KEY, "version", 1);
        match rules {
            Some(text) => pipe.hset(RULES_KEY, "rules", text).ignore(),
            None => pipe.hdel(RULES_KEY, "rules").ignore(),
        };
        pipe.hset_multiple(RULES_KEY, &[("author", author), ("at", &at_ms.to_string())])
            .ignore();
        let (version,): (u64,) = pipe
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(version)
    }

    async fn now_ms(&self) -> Result<UnixMillis, StoreError> {
        if let Some(clock) = &self.clock {
            return Ok(clock.now_ms());
        }
        let mut connection = self.connection.clone();
        let (seconds, micros): (i64, i64) = redis::cmd("TIME")
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(seconds * 1000 + micros / 1000)
    }
}

// When the last ban in force anywhere ends, as this instance last saw it.
//
// Checking a request's other identities against the shared ban index costs a round trip, and
// nearly always finds nothing: most of a sale passes with no ban in force at all. So each
// instance looks at the index's latest end at most once a second, and checks identities only
// while some ban may be in force. A ban started here moves the horizon at once; one started on
// another instance is seen within a second (the identity a rule charges is always checked
// exactly, inside the decision).

/// How long a look at the index stands.
const LOOK_EVERY_MS: i64 = 1_000;

/// The latest ban end known here, and when the index was last read.
#[derive(Debug, Default)]
struct BanHorizon {
    latest_end_ms: AtomicI64,
    looked_at_ms: AtomicI64,
}

impl BanHorizon {
    /// Whether the index should be read again at `now_ms`; `true` for one caller per second.
    fn claim_look(&self, now_ms: i64) -> bool {
        let looked = self.looked_at_ms.load(Ordering::Relaxed);
        now_ms - looked >= LOOK_EVERY_MS
            && self
                .looked_at_ms
                .compare_exchange(looked, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// What a look at the index found: the latest end of the bans in it (0 when none).
    fn looked(&self, latest_end_ms: i64) {
        self.latest_end_ms.store(latest_end_ms, Ordering::Relaxed);
    }

    /// A look that failed: the next caller tries again.
    fn look_failed(&self) {
        self.looked_at_ms.store(0, Ordering::Relaxed);
    }

    /// A ban started here, ending at `until_ms`.
    fn banned(&self, until_ms: i64) {
        self.latest_end_ms.fetch_max(until_ms, Ordering::Relaxed);
    }

    /// Whether some ban may be in force at `now_ms`.
    fn any_ban_at(&self, now_ms: i64) -> bool {
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
