//! The names of the limiter's metrics, counted here and listed with every other metric of the
//! service by its telemetry.

/// Rate-limit verdicts, by `rule` and `outcome` (`allowed`, `limited`, `banned`, `denied`,
/// `unavailable`).
pub const RATELIMIT_DECISIONS: &str = "waitroom_ratelimit_decisions_total";
/// Penalty stages entered, by `stage` (`delay`, `reduced`, `ban`).
pub const RATELIMIT_PENALTIES: &str = "waitroom_ratelimit_penalties_total";
/// Bans started (by penalties or operators).
pub const RATELIMIT_BANS: &str = "waitroom_ratelimit_bans_total";
/// Rate-limit store failures, by `fail_mode`.
pub const RATELIMIT_STORE_ERRORS: &str = "waitroom_ratelimit_store_errors_total";
