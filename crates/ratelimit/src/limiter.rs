//! The limiter: from a request to a verdict.
//!
//! In order: identify the client, consult the allow and deny lists, find the first rule that
//! matches, scale its limit (tier × adaptation × sale relaxations), and ask the store, which
//! applies the client's ban and penalties and the algorithm in one atomic step. A store that does
//! not answer in time is handled as the rule's fail mode says. The rules are read from an
//! [`ArcSwap`]: replacing them never blocks a request.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::http::{HeaderMap, Method};

use super::access::Access;
use super::alerts::{Alert, Alerter, BanAlert};
use super::client_key::ClientKey;
use super::compile::{CompiledRule, RuleSet};
use super::decision::DecisionInput;
use super::identity::{
    Client, NoUsers, TrustedProxies, UserVerifier, bearer_token, client_ip, forwarded_for,
};
use super::outcome::{Decision, Quota};
pub use super::outcome::{PermitGuard, Policy, Verdict};
use super::pattern::{MethodBit, SplitPath};
use super::refusals::{ClusterTally, LimitedClients, count, record_penalty};
use super::rules::FailMode;
use super::sale::OpenEvents;
use super::scope::{BanScope, Liability};
use super::shared_rules::RulesSources;
use super::store::{
    BanRecord, BucketKey, MemoryRateLimitStore, Permit, RateLimitStore, VIOLATIONS_REASON,
};
use crate::clock::Clock;
use crate::metric_names::RATELIMIT_STORE_ERRORS;
use crate::store_error::StoreError;
use crate::tier::Tier;

/// What the limiter needs to know about a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The method.
    pub method: &'a Method,
    /// The path, without the query.
    pub path: &'a str,
    /// The query string, if any (a WebSocket may carry `access_token` there).
    pub query: Option<&'a str>,
    /// The address of the connection's peer.
    pub peer: IpAddr,
    /// The route group the service's router gave the route, if any.
    pub group: Option<&'a str>,
    /// The headers.
    pub headers: &'a HeaderMap,
}

/// The rate limiter, shared by every request (wrap it in an `Arc`).
pub struct RateLimiter {
    rules: ArcSwap<RuleSet>,
    store: Arc<dyn RateLimitStore>,
    fallback: Arc<MemoryRateLimitStore>,
    clock: Arc<dyn Clock>,
    verifier: Arc<dyn UserVerifier>,
    trusted: TrustedProxies,
    open_events: OpenEvents,
    alerter: Alerter,
    /// Whom this instance refused, for the dashboard.
    limited: LimitedClients,
    /// This instance among those publishing their tallies.
    instance: String,
    /// The sum of every live instance's tally, as last exchanged.
    cluster_tally: ArcSwap<ClusterTally>,
    /// Whether the rules in force are the configuration's or stored ones ([`super::shared_rules`]).
    sources: std::sync::Mutex<RulesSources>,
}

impl RateLimiter {
    /// A limiter with `rules` over `store`, knowing no users and trusting no proxy.
    pub fn new(rules: RuleSet, store: Arc<dyn RateLimitStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            sources: RulesSources::from_file(rules.config.clone()),
            rules: ArcSwap::from_pointee(rules),
            store,
            fallback: Arc::new(MemoryRateLimitStore::new(clock.clone())),
            clock,
            verifier: Arc::new(NoUsers),
            trusted: TrustedProxies::default(),
            open_events: OpenEvents::default(),
            alerter: Alerter::default(),
            limited: LimitedClients::default(),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            cluster_tally: ArcSwap::default(),
        }
    }

    /// Whom this instance refused.
    pub fn limited_clients(&self) -> &LimitedClients {
        &self.limited
    }

    /// The refusals of every live instance, as last exchanged ([`super::tally`]).
    pub fn cluster_tally(&self) -> Arc<ClusterTally> {
        self.cluster_tally.load_full()
    }

    pub(super) fn set_cluster_tally(&self, tally: ClusterTally) {
        self.cluster_tally.store(Arc::new(tally));
    }

    pub(super) fn rules_sources(&self) -> &std::sync::Mutex<RulesSources> {
        &self.sources
    }

    /// Swaps `rules` in: every request from now on is judged by them.
    pub(super) fn put_in_force(&self, rules: RuleSet) {
        tracing::info!(
            rules = rules.config.rules.len(),
            "rate-limit rules replaced"
        );
        self.rules.store(Arc::new(rules));
    }

    pub(super) fn instance(&self) -> &str {
        &self.instance
    }

    pub(super) fn store(&self) -> &dyn RateLimitStore {
        self.store.as_ref()
    }

    pub(super) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Identifies users with `verifier` (the service's user-token verification).
    pub fn with_verifier(mut self, verifier: Arc<dyn UserVerifier>) -> Self {
        self.verifier = verifier;
        self
    }

    /// Posts ban alerts through `alerter` (its webhook's secret and retries).
    pub fn with_alerter(mut self, alerter: Alerter) -> Self {
        self.alerter = alerter;
        self
    }

    /// Believes `X-Forwarded-For` from these proxies.
    pub fn with_trusted_proxies(mut self, trusted: TrustedProxies) -> Self {
        self.trusted = trusted;
        self
    }

    /// The rules in force.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.load_full()
    }

    /// Raises `alert` to the rules' webhook (signed and retried). A fact of the whole cluster
    /// (sold out, store down or back) is claimed in the store first, so that one instance sends
    /// it; when the store cannot be asked, this instance sends it anyway. `true` when this
    /// instance raised it.
    ///
    /// Other parts of the service raise theirs here: the outflow its `outflow_backoff`, the
    /// checkout `sold_out`.
    pub async fn raise_alert(&self, alert: Alert) -> bool {
        if let Some(claim) = alert.claim() {
            match self.store.claim_alert(&claim.key, claim.hold_ms).await {
                Ok(true) => {}
                Ok(false) => return false,
                Err(error) => {
                    tracing::debug!(%error, kind = alert.kind(), "alert unclaimed: sent from here");
                }
            }
        }
        let rules = self.rules.load_full();
        self.alerter
            .raise(alert, rules.webhook_url.as_deref(), self.clock.now_ms());
        true
    }

    /// Whether responses also carry the older `RateLimit-Limit`, `-Remaining` and `-Reset`.
    pub fn legacy_headers(&self) -> bool {
        self.rules.load().legacy_headers
    }

    /// The events open now, for sale relaxations (the service keeps it current).
    pub fn open_events(&self) -> &OpenEvents {
        &self.open_events
    }

    /// Decides one request.
    ///
    /// On the in-process store nothing waits: the whole decision runs synchronously and this
    /// future stays a few words wide. The store-backed path is boxed, so that its timeouts and
    /// store calls do not widen the future every request builds and moves.
    pub async fn check(&self, request: &RequestInfo<'_>) -> Verdict {
        match self.store.in_process() {
            Some(memory) => self.check_in_process(memory, request),
            None => Box::pin(self.check_in_store(request)).await,
        }
    }

    /// [`RateLimiter::check`] on the in-process store.
    fn check_in_process(
        &self,
        memory: &MemoryRateLimitStore,
        request: &RequestInfo<'_>,
    ) -> Verdict {
        // A guard, not a clone of the `Arc`: nothing here outlives this call.
        let rules = self.rules.load();
        let now_ms = self.clock.now_ms();
        let charge = match self.charge_of(&rules, request, now_ms) {
            Ok(charge) => charge,
            Err(verdict) => return verdict,
        };
        if let Some(until_ms) = charge
            .others()
            .and_then(|others| memory.banned_until_at(others, Liability::Shared, now_ms))
        {
            return self.banned_elsewhere(&charge, until_ms);
        }
        let input = self.input_of(&rules, &charge, now_ms);
        let decision = memory.decide_on(&charge.client, &charge.bucket, &input, now_ms);
        let mut verdict = self.verdict_of(&rules, &charge, &input, decision, now_ms);
        if let Some(limit) = charge.slot_wanted(&verdict) {
            let permit = memory.acquire_now(&charge.key(), limit, rules.concurrency_lease_ms);
            verdict = holding(verdict, Ok(guarded(self.store.clone(), permit)));
        }
        counted(charge.rule, verdict)
    }

    /// [`RateLimiter::check`] on a store that may be slow or down (Redis): every call is timed
    /// out, and a failure is handled as the rule's fail mode says.
    async fn check_in_store(&self, request: &RequestInfo<'_>) -> Verdict {
        let rules = self.rules.load_full();
        let now_ms = self.clock.now_ms();
        let charge = match self.charge_of(&rules, request, now_ms) {
            Ok(charge) => charge,
            Err(verdict) => return verdict,
        };
        if let Some(others) = charge.others() {
            // A store that does not answer leaves it to the decision, which meets the same store.
            let banned = self
                .in_time(&rules, self.store.banned_until(others, Liability::Shared))
                .await
                .ok()
                .flatten();
            if let Some(until_ms) = banned {
                return self.banned_elsewhere(&charge, until_ms);
            }
        }
        let input = self.input_of(&rules, &charge, now_ms);
        let key = charge.key();
        let decided = self.in_time(&rules, self.store.decide(&key, &input)).await;
        let decision = match decided {
            Ok(decision) => decision,
            Err(error) => match self.store_down(charge.rule, &error) {
                Some(verdict) => return counted(charge.rule, verdict),
                None => self.fallback.decide_now(&key, &input),
            },
        };
        let mut verdict = self.verdict_of(&rules, &charge, &input, decision, now_ms);
        if let Some(limit) = charge.slot_wanted(&verdict) {
            let acquired = self.acquire(&rules, charge.rule, &key, limit).await;
            verdict = holding(verdict, acquired);
        }
        counted(charge.rule, verdict)
    }

    /// Who is asking and which rule charges them; `Err` holds the verdict of a request no store
    /// is asked about (denied, allowed by the lists, matching no rule or an exempt one).
    fn charge_of<'r>(
        &self,
        rules: &'r RuleSet,
        request: &RequestInfo<'_>,
        now_ms: i64,
    ) -> Result<Charge<'r>, Verdict> {
        let ip = if self.trusted.is_empty() {
            request.peer.to_canonical()
        } else {
            let forwarded = forwarded_for(request.headers);
            client_ip(request.peer, forwarded.as_deref(), &self.trusted)
        };
        let user = bearer_token(request.headers, request.query)
            .and_then(|token| self.verifier.verify(token, now_ms));
        let sent_key = request
            .headers
            .get(&rules.api_key_header)
            .and_then(|value| value.to_str().ok());
        // Only a configured key identifies a client; any other is charged as its address.
        let api_key = sent_key.filter(|key| rules.knows_api_key(key));
        let client = Client { ip, user, api_key };
        let operator = client.is_operator();
        if !rules.access.is_empty() && !operator {
            let user_id = client.user.as_ref().map(|u| u.id.as_str());
            match rules.access.judge(ip, user_id, sent_key) {
                Access::Denied => {
                    count(None, &Verdict::Denied);
                    return Err(Verdict::Denied);
                }
                Access::Allowed => return Err(Verdict::Unlimited),
                Access::Unlisted => {}
            }
        }
        let method = MethodBit::of(request.method);
        let path = SplitPath::new(request.path);
        let Some((index, rule, pattern)) = rules.rule_for(method, &path, request.group) else {
            return Err(Verdict::Unlimited);
        };
        if rule.exempt {
            return Err(Verdict::Unlimited);
        }
        let charged = client.key(rule.key.identity, &rules.identity);
        let liability = liability_of(&client, rule, &charged);
        // A request's other identities are its user, its API key and its address; only a ban
        // covering everyone at the address refuses a verified user behind it. The operator's
        // are not looked up: no ban refuses the operator.
        let others = if operator {
            Vec::new()
        } else {
            client.other_keys(&charged, &rules.identity)
        };
        Ok(Charge {
            index,
            rule,
            others,
            liability,
            operator,
            tier: client.tier(),
            cost: rule.cost_of(method, &path),
            client: charged,
            bucket: bucket_name(rule, request, pattern),
        })
    }

    /// The refusal of a request one of whose other identities is banned until `until_ms`.
    fn banned_elsewhere(&self, charge: &Charge<'_>, until_ms: i64) -> Verdict {
        let verdict = Verdict::Banned {
            retry_after: millis(until_ms - self.clock.now_ms()),
        };
        self.limited.record(&charge.client, &charge.rule.name);
        count(Some(charge.rule), &verdict);
        verdict
    }

    /// What the store decides by: the rule's limit scaled by the client's tier, by adaptation
    /// (raising the alert when this request sees the rule tighten) and by sale relaxations.
    fn input_of<'r>(
        &self,
        rules: &'r RuleSet,
        charge: &Charge<'_>,
        now_ms: i64,
    ) -> DecisionInput<'r> {
        let rule = charge.rule;
        let mut permille = rule.tier_permille[charge.tier as usize];
        if rule.adaptive && rules.adaptive.enabled && !charge.operator {
            let before = rule.traffic.permille();
            let factor = rule.traffic.factor(now_ms, &rules.adaptive);
            // The request that sees the rule tighten raises the alert (two at the same instant may).
            if factor < 1000 && before >= 1000 {
                self.alerter.raise(
                    Alert::AdaptiveTightening {
                        rule: rule.name.to_string(),
                        factor: factor as f64 / 1000.0,
                    },
                    rules.webhook_url.as_deref(),
                    now_ms,
                );
            }
            permille = permille * factor / 1000;
        }
        if rules
            .relaxations
            .iter()
            .any(|relax| relax.rules.contains(&charge.index))
        {
            let open = self.open_events.current();
            for relax in &rules.relaxations {
                if relax.rules.contains(&charge.index) && relax.applies(now_ms, &open) {
                    permille = permille * relax.permille / 1000;
                }
            }
        }
        DecisionInput {
            limit: rule.limit.scaled(permille.max(1)),
            cost: charge.cost,
            penalty: &rules.penalty,
            liability: charge.liability,
            ban_scope: BanScope::earned_by(&charge.client),
        }
    }

    /// The verdict of the store's decision, before any in-flight slot is taken: the penalty
    /// stage it entered is counted, and a ban it started is alerted.
    fn verdict_of(
        &self,
        rules: &RuleSet,
        charge: &Charge<'_>,
        input: &DecisionInput<'_>,
        decision: Decision,
        now_ms: i64,
    ) -> Verdict {
        let (rule, client) = (charge.rule, &charge.client);
        let policy = Policy {
            name: rule.name.clone(),
            window_s: (input.limit.window_ms() + 999).div_euclid(1000).max(1),
        };
        record_penalty(&decision, client, &rule.name, &rules.penalty, &self.limited);
        match decision {
            Decision::Allowed { quota, delay_ms } => Verdict::Allowed {
                quota,
                policy,
                delay: millis(delay_ms),
                permit: None,
            },
            Decision::Limited {
                quota,
                retry_after_ms,
                ban,
                ..
            } => match ban {
                Some(ban) => {
                    self.alerter.raise(
                        BanAlert::new(
                            client,
                            VIOLATIONS_REASON,
                            ban.strikes,
                            ban.until_ms,
                            Some(&rule.name),
                        ),
                        rules.webhook_url.as_deref(),
                        now_ms,
                    );
                    Verdict::Banned {
                        retry_after: millis(retry_after_ms),
                    }
                }
                None => Verdict::Limited {
                    quota,
                    retry_after: millis(retry_after_ms),
                    policy,
                },
            },
            Decision::Banned { until_ms } => Verdict::Banned {
                retry_after: millis(until_ms - self.clock.now_ms()),
            },
        }
    }

    /// Takes an in-flight slot; `Err` holds the verdict when the store is down and the rule
    /// does not fall back.
    async fn acquire(
        &self,
        rules: &RuleSet,
        rule: &CompiledRule,
        key: &BucketKey,
        limit: i64,
    ) -> Result<Option<PermitGuard>, Verdict> {
        let lease = rules.concurrency_lease_ms;
        match self
            .in_time(rules, self.store.acquire(key, limit, lease))
            .await
        {
            Ok(permit) => Ok(guarded(self.store.clone(), permit)),
            Err(error) => match self.store_down(rule, &error) {
                Some(Verdict::Unlimited) => Ok(None),
                Some(verdict) => Err(verdict),
                None => {
                    let permit = self.fallback.acquire_now(key, limit, lease);
                    Ok(guarded(self.fallback.clone(), permit))
                }
            },
        }
    }

    /// The verdict a store failure gives under the rule's fail mode; `None` means "decide in
    /// the local fallback".
    fn store_down(&self, rule: &CompiledRule, error: &StoreError) -> Option<Verdict> {
        let mode = match rule.fail_mode {
            FailMode::Open => "open",
            FailMode::Closed => "closed",
            FailMode::Local => "local",
        };
        tracing::warn!(%error, rule = %rule.name, fail_mode = mode, "rate-limit store unavailable");
        metrics::counter!(RATELIMIT_STORE_ERRORS, "fail_mode" => mode).increment(1);
        match rule.fail_mode {
            FailMode::Open => Some(Verdict::Unlimited),
            FailMode::Closed => Some(Verdict::Unavailable),
            FailMode::Local => None,
        }
    }

    async fn in_time<T>(
        &self,
        rules: &RuleSet,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let limit = Duration::from_millis(u64::try_from(rules.store_timeout_ms).unwrap_or(250));
        tokio::time::timeout(limit, call)
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("timed out".to_owned())))
    }

    /// Bans `client` for `length` with `reason` (an operator's ban) refusing `scope`, raising
    /// the alert.
    pub async fn ban(
        &self,
        client: &str,
        length: Duration,
        reason: &str,
        scope: BanScope,
    ) -> Result<BanRecord, StoreError> {
        let rules = self.rules.load_full();
        let length_ms = i64::try_from(length.as_millis()).unwrap_or(i64::MAX);
        let record = self
            .store
            .ban(
                client,
                length_ms,
                reason,
                rules.penalty.strike_memory_ms,
                scope,
            )
            .await?;
        self.alerter.raise(
            BanAlert::new(
                &record.key,
                &record.reason,
                record.count,
                record.until_ms,
                None,
            ),
            rules.webhook_url.as_deref(),
            self.clock.now_ms(),
        );
        Ok(record)
    }

    /// Lifts a ban; `false` when the client was not banned.
    pub async fn lift_ban(&self, client: &str) -> Result<bool, StoreError> {
        let lifted = self.store.lift_ban(client).await?;
        let _ = self.fallback.lift_ban(client).await;
        Ok(lifted)
    }

    /// Every current ban.
    pub async fn bans(&self) -> Result<Vec<BanRecord>, StoreError> {
        self.store.bans().await
    }
}

/// A request whose rule and client are known: what the store is asked to charge, and by whom.
struct Charge<'r> {
    /// The rule's index in its set (sale relaxations name rules by it).
    index: usize,
    rule: &'r CompiledRule,
    /// The client key the rule charges.
    client: ClientKey,
    /// The bucket inside the client's state: the rule's name, borrowed from the rule set (a
    /// clone of its `Arc` would cost two atomic operations on every request), or a per-endpoint
    /// rule's bucket of its own.
    bucket: Cow<'r, Arc<str>>,
    /// The request's other identities, whose bans refuse it too.
    others: Vec<ClientKey>,
    liability: Liability,
    operator: bool,
    tier: Tier,
    cost: i64,
}

impl Charge<'_> {
    /// The state the store is asked about, owned (the shared store's calls and in-flight
    /// permits keep it).
    fn key(&self) -> BucketKey {
        BucketKey {
            client: self.client.clone(),
            bucket: Arc::clone(&self.bucket),
        }
    }

    /// The other identities to look up for bans, when there are any.
    fn others(&self) -> Option<&[ClientKey]> {
        (!self.others.is_empty()).then_some(self.others.as_slice())
    }

    /// The in-flight slots of the rule, when `verdict` lets the request in and must hold one.
    fn slot_wanted(&self, verdict: &Verdict) -> Option<i64> {
        self.rule
            .concurrency
            .filter(|_| matches!(verdict, Verdict::Allowed { .. }))
    }
}

/// `allowed` (a [`Verdict::Allowed`]) holding the slot `acquired`: none left limits the request
/// for a second; `Err` is the verdict of a store down.
fn holding(allowed: Verdict, acquired: Result<Option<PermitGuard>, Verdict>) -> Verdict {
    match (allowed, acquired) {
        (_, Err(verdict)) => verdict,
        (
            Verdict::Allowed {
                quota,
                policy,
                delay,
                ..
            },
            Ok(permit @ Some(_)),
        ) => Verdict::Allowed {
            quota,
            policy,
            delay,
            permit,
        },
        (Verdict::Allowed { quota, policy, .. }, Ok(None)) => Verdict::Limited {
            quota: Quota {
                remaining: 0,
                ..quota
            },
            retry_after: Duration::from_secs(1),
            policy,
        },
        (verdict, Ok(_)) => verdict,
    }
}

/// `permit` as a guard giving it back to `store` when dropped.
fn guarded(store: Arc<dyn RateLimitStore>, permit: Option<Permit>) -> Option<PermitGuard> {
    permit.map(|permit| PermitGuard {
        store,
        permit: Some(Box::new(permit)),
    })
}

/// Counts the verdict of a request `rule` charged; an allowed one counts towards the rule's
/// traffic when it adapts.
fn counted(rule: &CompiledRule, verdict: Verdict) -> Verdict {
    if rule.adaptive && matches!(verdict, Verdict::Allowed { .. }) {
        rule.traffic.count_allowed();
    }
    count(Some(rule), &verdict);
    verdict
}

/// What a request answers for on the key its rule charges (see [`Liability`]).
fn liability_of(client: &Client<'_>, rule: &CompiledRule, charged: &ClientKey) -> Liability {
    if client.is_operator() {
        Liability::Exempt
    } else if !rule.penalties || (client.is_verified() && charged.is_address()) {
        Liability::Shared
    } else {
        Liability::Own
    }
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The bucket a rule charges: the rule's own, or one per endpoint.
fn bucket_name<'r>(
    rule: &'r CompiledRule,
    request: &RequestInfo<'_>,
    pattern: Option<&Arc<str>>,
) -> Cow<'r, Arc<str>> {
    if rule.key.per_endpoint {
        let endpoint = pattern.map_or(request.path, |p| p.as_ref());
        Cow::Owned(Arc::from(format!(
            "{}|{} {endpoint}",
            rule.name, request.method
        )))
    } else {
        Cow::Borrowed(&rule.name)
    }
}
