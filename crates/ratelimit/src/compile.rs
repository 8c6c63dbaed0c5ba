//! Validating a whole rule set and compiling it into what the request path reads.
//!
//! A set is checked entirely and every mistake reported with its field (`rules[3].period`), so an
//! operator fixes them in one go; a set with any mistake is refused and the rules in force stay.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};

use super::access::AccessLists;
use super::adaptive::{AdaptiveSettings, TrafficTracker};
use super::decision::Limit;
use super::gcra::GcraLimit;
use super::pattern::{MethodBit, Methods, PathPattern, RequestMatch, SplitPath};
use super::penalty::PenaltyPolicy;
use super::rule_index::RuleIndex;
use super::rules::{
    Algorithm, FailMode, IdentityConfig, RuleConfig, RuleSetConfig, TierMultipliers,
};
use super::sale::Relaxation;
use super::sections::{adaptive_settings, penalty_policy, relaxation};
use super::sliding_window::WindowLimit;
use crate::problem::FieldError;
use crate::tier::Tier;

pub use super::refusals::OutcomeCounters;

/// One compiled rule.
#[derive(Debug)]
pub struct CompiledRule {
    /// Its name.
    pub name: Arc<str>,
    /// The requests it applies to.
    pub matcher: RequestMatch,
    /// Requests it matches are never limited.
    pub exempt: bool,
    /// Whose budget.
    pub key: KeySpec,
    /// The limit at a tier multiplier of 1.
    pub limit: Limit,
    /// The cost of a request no weight matches.
    pub cost: i64,
    /// Costs of particular requests.
    pub weights: Vec<(RequestMatch, i64)>,
    /// The multiplier of each tier (in [`Tier::ALL`] order), thousandths.
    pub tier_permille: [i64; 6],
    /// What to do when the store is down.
    pub fail_mode: FailMode,
    /// In-flight requests allowed per key.
    pub concurrency: Option<i64>,
    /// Whether it adapts to traffic.
    pub adaptive: bool,
    /// Whether its refusals count as violations (and bans of anonymous traffic refuse it).
    pub penalties: bool,
    /// Its traffic (kept across reloads by name).
    pub traffic: Arc<TrafficTracker>,
    /// Its decision counters, registered at first use (the metrics recorder is up by then).
    pub counters: OnceLock<OutcomeCounters>,
}

impl CompiledRule {
    /// The cost of a request the rule matched, by the method's bit and the path split once for
    /// every rule.
    pub fn cost_of(&self, method: MethodBit, path: &SplitPath<'_>) -> i64 {
        self.weights
            .iter()
            .find(|(matcher, _)| matcher.matches(method, path, None).is_some())
            .map_or(self.cost, |(_, cost)| *cost)
    }
}

/// A validated, compiled rule set: what the request path reads, swapped whole on change.
#[derive(Debug)]
pub struct RuleSet {
    /// The set as given (served by `GET /v1/admin/ratelimit`).
    pub config: RuleSetConfig,
    /// The rules, in order.
    pub rules: Vec<CompiledRule>,
    /// Allow and deny lists.
    pub access: AccessLists,
    /// Client identification.
    pub identity: IdentityConfig,
    /// The header carrying an API key, parsed.
    pub api_key_header: axum::http::HeaderName,
    /// The SHA-256 digests of the API keys that identify a client.
    pub api_key_digests: HashSet<[u8; 32]>,
    /// Penalties.
    pub penalty: Arc<PenaltyPolicy>,
    /// Adaptation.
    pub adaptive: AdaptiveSettings,
    /// Sale relaxations.
    pub relaxations: Vec<Relaxation>,
    /// Where ban alerts are posted.
    pub webhook_url: Option<String>,
    /// How long an in-flight slot is held at most, ms.
    pub concurrency_lease_ms: i64,
    /// How long to wait for the store, ms.
    pub store_timeout_ms: i64,
    /// The rules each request could match, by method and path length.
    pub index: RuleIndex,
    /// Whether responses also carry `RateLimit-Limit`, `-Remaining` and `-Reset`.
    pub legacy_headers: bool,
}

impl RuleSet {
    /// Whether `api_key` is one of the configured keys (only those identify a client).
    pub fn knows_api_key(&self, api_key: &str) -> bool {
        !self.api_key_digests.is_empty()
            && self
                .api_key_digests
                .contains(&<[u8; 32]>::from(Sha256::digest(api_key.as_bytes())))
    }

    /// The first rule matching the request (by the method's bit and the path split once): its
    /// index, itself and the matched pattern's text.
    pub fn rule_for(
        &self,
        method: MethodBit,
        path: &SplitPath<'_>,
        group: Option<&str>,
    ) -> Option<(usize, &CompiledRule, Option<&Arc<str>>)> {
        self.index
            .candidates(method, path)
            .iter()
            .find_map(|index| {
                let index = *index as usize;
                let rule = self.rules.get(index)?;
                rule.matcher
                    .matches(method, path, group)
                    .map(|pattern| (index, rule, pattern))
            })
    }
}

pub(super) struct Errors(pub(super) Vec<FieldError>);

impl Errors {
    pub(super) fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    fn check<T>(&mut self, field: impl Into<String>, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.push(field, message)).ok()
    }
}

fn permille(factor: f64) -> i64 {
    (factor * 1000.0).round() as i64
}

pub(super) fn fraction(errors: &mut Errors, field: &str, value: f64, max: f64) -> i64 {
    if !(value.is_finite() && value > 0.0 && value <= max) {
        errors.push(field, format!("must be above 0 and at most {max}"));
    }
    permille(value).max(1)
}

fn tier_factors(
    errors: &mut Errors,
    field: &str,
    base: [i64; 6],
    tiers: &TierMultipliers,
) -> [i64; 6] {
    let given = [
        tiers.anonymous,
        tiers.new,
        tiers.regular,
        tiers.trusted,
        tiers.premium,
        tiers.admin,
    ];
    let mut out = base;
    for ((slot, value), tier) in out.iter_mut().zip(given).zip(Tier::ALL) {
        if let Some(value) = value {
            *slot = fraction(errors, &format!("{field}.{}", tier.as_str()), value, 1000.0);
        }
    }
    out
}

fn request_match(
    errors: &mut Errors,
    field: &str,
    paths: &[String],
    methods: &[String],
) -> RequestMatch {
    let patterns = paths
        .iter()
        .enumerate()
        .filter_map(|(i, p)| errors.check(format!("{field}.paths[{i}]"), PathPattern::parse(p)))
        .collect();
    let methods = errors
        .check(format!("{field}.methods"), Methods::parse(methods))
        .unwrap_or_default();
    RequestMatch::new(methods, patterns, None)
}

/// Validates and compiles `config`; traffic baselines of rules named as in `previous` carry over.
pub fn compile(
    config: &RuleSetConfig,
    previous: Option<&RuleSet>,
) -> Result<RuleSet, Vec<FieldError>> {
    let mut errors = Errors(Vec::new());
    let default_key = errors.check("defaults.key", KeySpec::parse(&config.defaults.key));
    let tiers = tier_factors(&mut errors, "tiers", [1000; 6], &config.tiers);
    let mut names = HashSet::new();
    let rules: Vec<CompiledRule> = config
        .rules
        .iter()
        .enumerate()
        .map(|(index, rule)| {
            let field = format!("rules[{index}]");
            if !names.insert(rule.name.as_str()) {
                errors.push(
                    format!("{field}.name"),
                    format!("`{}` is used twice", rule.name),
                );
            }
            compile_rule(
                &mut errors,
                &field,
                rule,
                config,
                tiers,
                default_key,
                previous,
            )
        })
        .collect();
    let mut access_errors = Vec::new();
    let access = AccessLists::compile(&config.access, &mut access_errors);
    errors.0.extend(access_errors);
    let identity = config.identity.clone();
    if identity.ipv4_prefix > 32 {
        errors.push("identity.ipv4_prefix", "must be at most 32");
    }
    if identity.ipv6_prefix > 128 {
        errors.push("identity.ipv6_prefix", "must be at most 128");
    }
    let api_key_header = identity
        .api_key_header
        .to_ascii_lowercase()
        .parse::<axum::http::HeaderName>()
        .unwrap_or_else(|_| {
            errors.push("identity.api_key_header", "is not a header name");
            axum::http::HeaderName::from_static("x-api-key")
        });
    let api_key_digests = api_key_digests(&mut errors, &identity);
    let penalty = penalty_policy(&mut errors, config);
    let adaptive = adaptive_settings(&mut errors, config);
    let relaxations = config
        .relax
        .iter()
        .enumerate()
        .map(|(i, relax)| relaxation(&mut errors, &format!("relax[{i}]"), relax, &config.rules))
        .collect();
    let webhook_url = config.alerts.webhook_url.clone();
    if let Some(url) = &webhook_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        errors.push("alerts.webhook_url", "must be an http:// or https:// URL");
    }
    if config.defaults.concurrency_lease.as_millis() < 1000 {
        errors.push("defaults.concurrency_lease", "must be at least 1s");
    }
    if config.defaults.store_timeout.as_millis() < 1 {
        errors.push("defaults.store_timeout", "must be at least 1ms");
    }
    if !errors.0.is_empty() {
        return Err(errors.0);
    }
    Ok(RuleSet {
        config: config.clone(),
        index: RuleIndex::new(&rules),
        rules,
        access,
        identity,
        api_key_header,
        api_key_digests,
        penalty: Arc::new(penalty),
        adaptive,
        relaxations,
        webhook_url,
        concurrency_lease_ms: config.defaults.concurrency_lease.as_millis(),
        store_timeout_ms: config.defaults.store_timeout.as_millis(),
        legacy_headers: config.headers.legacy,
    })
}

/// The digests of `api_keys` and `api_key_sha256`; a digest that is not 64 hex digits is a field
/// error.
fn api_key_digests(errors: &mut Errors, identity: &IdentityConfig) -> HashSet<[u8; 32]> {
    let mut digests: HashSet<[u8; 32]> = identity
        .api_keys
        .iter()
        .map(|key| Sha256::digest(key.as_bytes()).into())
        .collect();
    for (i, text) in identity.api_key_sha256.iter().enumerate() {
        let mut digest = [0_u8; 32];
        match hex::decode_to_slice(text.trim(), &mut digest) {
            Ok(()) => {
                digests.insert(digest);
            }
            Err(_) => errors.push(
                format!("identity.api_key_sha256[{i}]"),
                "must be a SHA-256 digest in hex (64 digits)",
            ),
        }
    }
    for (i, key) in identity.api_keys.iter().enumerate() {
        if key.trim().is_empty() {
            errors.push(format!("identity.api_keys[{i}]"), "must not be empty");
        }
    }
    digests
}

fn compile_rule(
    errors: &mut Errors,
    field: &str,
    rule: &RuleConfig,
    config: &RuleSetConfig,
    tiers: [i64; 6],
    default_key: Option<KeySpec>,
    previous: Option<&RuleSet>,
) -> CompiledRule {
    let valid_name = !rule.name.is_empty()
        && rule
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_name {
        errors.push(
            format!("{field}.name"),
            "must be letters, digits, `_` or `-`",
        );
    }
    let mut paths = rule.paths.clone();
    if let Some(group) = &rule.group {
        match config.groups.get(group) {
            Some(group_paths) => paths.extend(group_paths.iter().cloned()),
            None => errors.push(
                format!("{field}.group"),
                format!("no group `{group}` in [groups]"),
            ),
        }
    }
    let matcher = request_match(errors, field, &paths, &rule.methods);
    let key = match &rule.key {
        Some(key) => errors.check(format!("{field}.key"), KeySpec::parse(key)),
        None => default_key,
    }
    .unwrap_or(KeySpec {
        identity: KeyIdentity::Client,
        per_endpoint: false,
    });
    let algorithm = rule.algorithm.unwrap_or(config.defaults.algorithm);
    let limit = rule_limit(errors, field, rule, algorithm);
    let capacity = match limit {
        Limit::Gcra(gcra) => gcra.burst,
        Limit::SlidingWindow(window) => window.limit,
    };
    let cost_of = |errors: &mut Errors, field: String, cost: u32| {
        let cost = i64::from(cost);
        if !rule.exempt && (cost < 1 || cost > capacity) {
            errors.push(
                field,
                format!("must be between 1 and the rule's burst ({capacity})"),
            );
        }
        cost
    };
    let cost = cost_of(errors, format!("{field}.cost"), rule.cost.unwrap_or(1));
    let weights = rule
        .weights
        .iter()
        .enumerate()
        .map(|(i, weight)| {
            let wfield = format!("{field}.weights[{i}]");
            let cost = cost_of(errors, format!("{wfield}.cost"), weight.cost);
            (
                request_match(errors, &wfield, &weight.paths, &weight.methods),
                cost,
            )
        })
        .collect();
    let tier_permille = match &rule.tiers {
        Some(own) => tier_factors(errors, &format!("{field}.tiers"), tiers, own),
        None => tiers,
    };
    if rule.concurrency == Some(0) {
        errors.push(format!("{field}.concurrency"), "must be at least 1");
    }
    let traffic = previous
        .and_then(|set| set.rules.iter().find(|old| *old.name == *rule.name))
        .map_or_else(
            || Arc::new(TrafficTracker::new()),
            |old| old.traffic.clone(),
        );
    CompiledRule {
        name: rule.name.as_str().into(),
        matcher,
        exempt: rule.exempt,
        key,
        limit,
        cost,
        weights,
        tier_permille,
        fail_mode: rule.fail_mode.unwrap_or(config.defaults.fail_mode),
        concurrency: rule.concurrency.map(i64::from),
        adaptive: rule.adaptive.unwrap_or(true),
        penalties: rule.penalties.unwrap_or(true),
        traffic,
        counters: OnceLock::new(),
    }
}

fn rule_limit(errors: &mut Errors, field: &str, rule: &RuleConfig, algorithm: Algorithm) -> Limit {
    let period_ms = rule.period.map_or(0, |p| p.as_millis());
    let count = i64::from(rule.limit);
    if !rule.exempt {
        if count < 1 {
            errors.push(format!("{field}.limit"), "must be at least 1");
        }
        if period_ms < 1 {
            errors.push(format!("{field}.period"), "is required (e.g. \"1m\")");
        }
    }
    let count = count.max(1);
    match algorithm {
        Algorithm::Gcra => {
            let burst = rule.burst.map_or(count, i64::from);
            if burst < 1 {
                errors.push(format!("{field}.burst"), "must be at least 1");
            }
            Limit::Gcra(GcraLimit {
                interval_us: (period_ms.max(1) * 1000 / count).max(1),
                burst: burst.max(1),
            })
        }
        Algorithm::SlidingWindow => {
            if rule.burst.is_some() {
                errors.push(
                    format!("{field}.burst"),
                    "has no meaning for sliding_window (its burst is the limit)",
                );
            }
            Limit::SlidingWindow(WindowLimit {
                window_ms: period_ms.max(1),
                limit: count,
            })
        }
    }
}

/// Whose budget a rule charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyIdentity {
    /// The user, else the API key, else the IP.
    Client,
    /// The user (the IP when not signed in).
    User,
    /// The API key (the IP when none is sent).
    ApiKey,
    /// The IP.
    Ip,
}

/// A rule's key: an identity, per endpoint or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// Whose budget.
    pub identity: KeyIdentity,
    /// One budget per endpoint (method and path pattern) instead of one for the rule.
    pub per_endpoint: bool,
}

impl KeySpec {
    /// Parses `client`, `user`, `api_key`, `ip`, each optionally with `+endpoint`.
    pub fn parse(text: &str) -> Result<KeySpec, String> {
        let (identity, per_endpoint) = match text.split_once('+') {
            Some((identity, "endpoint")) => (identity, true),
            Some((_, other)) => return Err(format!("unknown key part `{other}` (use endpoint)")),
            None => (text, false),
        };
        let identity = match identity {
            "client" => KeyIdentity::Client,
            "user" => KeyIdentity::User,
            "api_key" => KeyIdentity::ApiKey,
            "ip" => KeyIdentity::Ip,
            other => {
                return Err(format!(
                    "unknown key `{other}` (use client, user, api_key or ip, optionally +endpoint)"
                ));
            }
        };
        Ok(KeySpec {
            identity,
            per_endpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_compile() {
        let config = RuleSetConfig::shipped();
        let compiled = config.as_ref().ok().map(|config| compile(config, None));
        assert!(matches!(compiled, Some(Ok(_))), "{compiled:?}");
    }

    #[test]
    fn every_mistake_of_a_set_is_reported_with_its_field() {
        let config = RuleSetConfig::from_toml(
            r#"
            [[rules]]
            name = "a"
            limit = 0
            period = "1m"
            [[rules]]
            name = "a"
            limit = 5
            algorithm = "sliding_window"
            burst = 3
            paths = ["no-slash"]
            "#,
        );
        let errors = match config.map(|config| compile(&config, None)) {
            Ok(Err(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for field in [
            "rules[0].limit",
            "rules[1].name",
            "rules[1].period",
            "rules[1].burst",
            "rules[1].paths[0]",
        ] {
            assert!(fields.contains(&field), "{field} missing from {fields:?}");
        }
    }
}
