//! The rules as data: the shape of `config/ratelimit.toml` and of `GET`/`PUT /v1/admin/ratelimit`.
//!
//! These types only describe; [`compile`](super::compile::compile) validates a whole set and turns
//! it into the matcher the request path uses. Every section has defaults, so a file may say only
//! what it changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::span::Span;

/// A whole rule set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RuleSetConfig {
    /// Defaults for every rule.
    pub defaults: Defaults,
    /// Limit multipliers per client tier (a rule may override them).
    pub tiers: TierMultipliers,
    /// How clients are identified.
    pub identity: IdentityConfig,
    /// Clients that skip limits or are refused.
    pub access: AccessConfig,
    /// What repeated violations cost.
    pub penalties: PenaltyConfig,
    /// Tightening when traffic runs far above its baseline.
    pub adaptive: AdaptiveConfig,
    /// Where ban alerts go.
    pub alerts: AlertConfig,
    /// Which rate-limit fields responses carry.
    pub headers: HeadersConfig,
    /// Named lists of path patterns a rule can refer to with `group`.
    pub groups: BTreeMap<String, Vec<String>>,
    /// The rules, most specific first: the first that matches a request applies.
    pub rules: Vec<RuleConfig>,
    /// Relaxations for sales: raise some rules while an event is open or during a time range.
    pub relax: Vec<RelaxConfig>,
}

/// The limiting algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// GCRA: a token bucket measured in time; rate plus burst.
    #[default]
    Gcra,
    /// A sliding-window counter: at most `limit` in any `period`.
    SlidingWindow,
}

/// What a rule does when its store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    /// Let requests through unlimited.
    Open,
    /// Refuse requests (`503`).
    Closed,
    /// Limit in this process's memory until the store is back.
    #[default]
    Local,
}

/// Defaults that rules inherit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    /// The algorithm of rules that name none.
    pub algorithm: Algorithm,
    /// The fail mode of rules that name none.
    pub fail_mode: FailMode,
    /// The key of rules that name none.
    pub key: String,
    /// How long an in-flight slot is held at most (a crashed instance's slots come back).
    pub concurrency_lease: Span,
    /// How long to wait for the store before applying the fail mode.
    pub store_timeout: Span,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Gcra,
            fail_mode: FailMode::Local,
            key: "client".to_owned(),
            concurrency_lease: Span::from_secs(30),
            store_timeout: Span::from_millis(250),
        }
    }
}

/// A multiplier per tier; a missing tier means 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)]
pub struct TierMultipliers {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regular: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub premium: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<f64>,
}

/// How the client of a request is identified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// IPv4 clients are grouped by this prefix length (32: each address alone).
    pub ipv4_prefix: u8,
    /// IPv6 clients are grouped by this prefix length (64: one allocation is one client).
    pub ipv6_prefix: u8,
    /// The header that carries an API key.
    pub api_key_header: String,
    /// The API keys that identify a client. A key sent in the header that is neither here nor in
    /// `api_key_sha256` identifies nobody: the request is charged to its address, so inventing
    /// keys buys no budget.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_keys: Vec<String>,
    /// The same, as hex SHA-256 digests of the keys, so the rules need not hold the keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_key_sha256: Vec<String>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            ipv4_prefix: 32,
            ipv6_prefix: 64,
            api_key_header: "x-api-key".to_owned(),
            api_keys: Vec::new(),
            api_key_sha256: Vec::new(),
        }
    }
}

/// Allow and deny lists. Precedence: a denied user or API key is refused; then an allowed user
/// or API key skips limits; then the longest matching CIDR of either list decides for the IP,
/// deny winning a tie.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)]
pub struct AccessConfig {
    pub allow_ips: Vec<String>,
    pub deny_ips: Vec<String>,
    pub allow_users: Vec<String>,
    pub deny_users: Vec<String>,
    pub allow_api_keys: Vec<String>,
    pub deny_api_keys: Vec<String>,
}

/// Progressive penalties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PenaltyConfig {
    /// One violation is forgotten every `decay`.
    pub decay: Span,
    /// Violations from which requests are delayed (0: never).
    pub delay_after: u32,
    /// Delay added per violation from `delay_after` on.
    pub delay_step: Span,
    /// The longest delay.
    pub max_delay: Span,
    /// Violations from which the limit is reduced (0: never).
    pub reduce_after: u32,
    /// The reduced limit as a fraction of the normal one.
    pub reduce_factor: f64,
    /// Violations that start a ban (0: never).
    pub ban_after: u32,
    /// Lengths of the first, second, … ban; the last repeats.
    pub ban_lengths: Vec<Span>,
    /// How long past bans are remembered for escalation.
    pub strike_memory: Span,
}

impl Default for PenaltyConfig {
    fn default() -> Self {
        Self {
            decay: Span::from_secs(60),
            delay_after: 3,
            delay_step: Span::from_millis(250),
            max_delay: Span::from_secs(2),
            reduce_after: 6,
            reduce_factor: 0.5,
            ban_after: 10,
            ban_lengths: vec![
                Span::from_secs(60),
                Span::from_secs(300),
                Span::from_secs(1800),
            ],
            strike_memory: Span::from_secs(86_400),
        }
    }
}

/// Adaptive limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptiveConfig {
    /// Whether rules adapt at all (each rule may opt out).
    pub enabled: bool,
    /// Traffic above `multiple` times the baseline tightens the rule.
    pub multiple: f64,
    /// The tightened limit as a fraction of the normal one.
    pub tighten_factor: f64,
    /// How quickly the baseline follows traffic (its half-life).
    pub baseline_half_life: Span,
    /// The interval over which current traffic is measured.
    pub sample: Span,
    /// Requests per second below which a rule never tightens (quiet rules are noisy).
    pub min_rate: f64,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            multiple: 2.0,
            tighten_factor: 0.5,
            baseline_half_life: Span::from_secs(600),
            sample: Span::from_secs(10),
            min_rate: 20.0,
        }
    }
}

/// Ban alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AlertConfig {
    /// A URL that receives a JSON POST for every ban.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
}

/// The rate-limit fields of responses. `RateLimit-Policy` and `RateLimit` (the IETF draft's) are
/// always sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeadersConfig {
    /// Also send the older `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, which
    /// existing clients read.
    pub legacy: bool,
}

impl Default for HeadersConfig {
    fn default() -> Self {
        Self { legacy: true }
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RuleConfig {
    /// A unique name (it names the buckets, metrics and logs).
    pub name: String,
    /// A route group: the paths `[groups]` lists under that name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Path patterns: `/v1/events/*/tickets`, `{param}` for one segment, `**` for the rest.
    /// With neither `group` nor `paths` the rule matches every path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Methods matched (empty: all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Whose budget: `client` (user, else API key, else IP), `user`, `api_key` or `ip`,
    /// optionally `+endpoint` for a budget per endpoint. Missing: the default key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Requests (cost units) per `period`.
    pub limit: u32,
    /// The period of `limit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Span>,
    /// How many may arrive at once (GCRA only; default: `limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// The algorithm (default from `[defaults]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<Algorithm>,
    /// The cost of a request (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<u32>,
    /// Heavier or lighter requests among those the rule matches; the first that matches applies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<WeightConfig>,
    /// Tier multipliers for this rule, over the global ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiers: Option<TierMultipliers>,
    /// What happens when the store is down (default from `[defaults]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_mode: Option<FailMode>,
    /// At most this many requests of one key in flight at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Requests the rule matches are never limited (probes, scrapers).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exempt: bool,
    /// Whether the rule adapts to traffic (default: yes when `[adaptive]` is enabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<bool>,
    /// Whether a refusal by this rule counts as a violation (default: yes). With `false` the
    /// rule only answers 429: it never delays, reduces or bans, and a ban earned by anonymous
    /// traffic elsewhere does not refuse it (only a ban covering everyone does). For cheap reads
    /// a whole crowd behind one address makes: pages, static files, an event's public state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub penalties: Option<bool>,
}

/// A cost for some of a rule's requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WeightConfig {
    /// Path patterns (empty: all of the rule's).
    pub paths: Vec<String>,
    /// Methods (empty: all).
    pub methods: Vec<String>,
    /// The cost of such a request.
    pub cost: u32,
}

/// A relaxation for a sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RelaxConfig {
    /// The rules it raises.
    pub rules: Vec<String>,
    /// The multiplier (1.5: half as much again).
    pub multiplier: f64,
    /// Applies while any event is open (or, with `event`, while that event is).
    pub while_event_open: bool,
    /// The event whose opening applies it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Applies from this RFC 3339 time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Applies until this RFC 3339 time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

impl RuleSetConfig {
    /// Reads a rule set from TOML.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|error| error.to_string())
    }

    /// The rule set shipped in `config/ratelimit.toml`.
    pub fn shipped() -> Result<Self, String> {
        Self::from_toml(SHIPPED_RULES)
    }
}

/// The text of the shipped rules file.
pub const SHIPPED_RULES: &str = include_str!("../../../config/ratelimit.toml");
