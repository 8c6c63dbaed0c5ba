//! Rules shared by every instance through the store, and where the rules in force come from.
//!
//! Precedence: rules an operator stored with `PUT /v1/admin/ratelimit` win over the rules of
//! the configuration (the rules file, the `[ratelimit]` table, or the shipped file), on every
//! instance and after every restart, until `DELETE /v1/admin/ratelimit` drops them; then every
//! instance returns to its own configuration's rules. A save of the rules file while stored
//! rules are in force is checked and remembered, and applies once they are dropped.
//!
//! The store numbers each change: every instance reads that number about twice a second
//! ([`FOLLOW_EVERY`]) and, when it moved, reads the rules and applies them, so a change made on
//! one instance is in force on all within a second.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use super::compile::compile;
use super::limiter::RateLimiter;
use super::rules::RuleSetConfig;
use super::store::StoredRules;
use crate::clock::to_rfc3339;
use crate::problem::FieldError;
use crate::store_error::StoreError;

/// How often an instance looks for a change of the stored rules.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// Where the rules in force come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RulesSource {
    /// The instance's configuration: its rules file (or `[ratelimit]` table, or the shipped
    /// rules).
    File,
    /// Rules an operator stored for every instance.
    Store,
}

impl RulesSource {
    /// The word of the `Waitroom-Rules-Source` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Store => "store",
        }
    }
}

/// Where the rules in force come from, and the change of the stored rules that put them there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = RulesOrigin)]
pub struct RulesOrigin {
    /// `file` or `store`.
    pub source: RulesSource,
    /// The version of the stored rules this instance last applied: it grows with every store
    /// and drop; `0` while nobody ever stored rules.
    pub version: u64,
    /// Who made that change (`admin:` and a digest of the token, as in the audit log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// When that change was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub changed_at: Option<String>,
}

impl Default for RulesOrigin {
    fn default() -> Self {
        Self {
            source: RulesSource::File,
            version: 0,
            author: None,
            changed_at: None,
        }
    }
}

/// The limiter's knowledge of both sources: which one is in force, and the configuration's rules
/// to return to.
#[derive(Debug)]
pub(super) struct RulesSources {
    origin: RulesOrigin,
    file: RuleSetConfig,
}

impl RulesSources {
    /// In force: the configuration's `file` rules.
    pub(super) fn from_file(file: RuleSetConfig) -> Mutex<Self> {
        Mutex::new(Self {
            origin: RulesOrigin::default(),
            file,
        })
    }
}

/// Why a change of the stored rules was not made.
#[derive(Debug, thiserror::Error)]
pub enum RulesChangeError {
    /// The rules have mistakes (every field at fault); nothing changed.
    #[error("the rules have mistakes")]
    Invalid(Vec<FieldError>),
    /// The store did not take the change; nothing changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RateLimiter {
    /// Where the rules in force come from.
    pub fn rules_origin(&self) -> RulesOrigin {
        self.sources().origin.clone()
    }

    /// Checks `config` whole, stores it for every instance as `author`, and puts it in force
    /// here at once; the other instances follow within a second.
    pub async fn store_rules(
        &self,
        config: &RuleSetConfig,
        author: &str,
    ) -> Result<RulesOrigin, RulesChangeError> {
        compile(config, Some(&self.rules())).map_err(RulesChangeError::Invalid)?;
        let text = serde_json::to_string(config)
            .map_err(|error| StoreError::Corrupt(format!("rules not encoded: {error}")))?;
        let at_ms = self.now_ms();
        let version = self
            .store()
            .put_stored_rules(Some(&text), author, at_ms)
            .await?;
        let stored = StoredRules {
            version,
            rules: Some(text),
            author: Some(author.to_owned()),
            at_ms: Some(at_ms),
        };
        self.settle(&stored).map_err(RulesChangeError::Invalid)?;
        Ok(self.rules_origin())
    }

    /// Drops the stored rules as `author`: this instance returns to its configuration's rules at
    /// once, the others within a second.
    pub async fn drop_stored_rules(&self, author: &str) -> Result<RulesOrigin, RulesChangeError> {
        let at_ms = self.now_ms();
        let version = self.store().put_stored_rules(None, author, at_ms).await?;
        let dropped = StoredRules {
            version,
            rules: None,
            author: Some(author.to_owned()),
            at_ms: Some(at_ms),
        };
        self.settle(&dropped).map_err(RulesChangeError::Invalid)?;
        Ok(self.rules_origin())
    }

    /// A sound save of the configuration's rules (the watched file): remembered, and put in
    /// force unless stored rules are. `Ok(true)` when it changed the rules in force.
    pub fn file_rules_saved(&self, config: &RuleSetConfig) -> Result<bool, Vec<FieldError>> {
        let compiled = compile(config, Some(&self.rules()))?;
        let mut sources = self.sources();
        sources.file = config.clone();
        if sources.origin.source == RulesSource::Store {
            tracing::info!("rules file saved; the stored rules stay in force until dropped");
            return Ok(false);
        }
        if self.rules().config == *config {
            return Ok(false);
        }
        self.put_in_force(compiled);
        Ok(true)
    }

    /// Looks at the stored rules' version once and, when it moved, applies the stored rules (or
    /// the configuration's, when they were dropped). `Ok(true)` when it applied a change.
    pub async fn follow_stored_rules(&self) -> Result<bool, StoreError> {
        let version = self.store().rules_version().await?;
        if version == self.sources().origin.version {
            return Ok(false);
        }
        let stored = self.store().stored_rules().await?;
        match self.settle(&stored) {
            Ok(applied) => Ok(applied),
            Err(errors) => {
                let described: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect();
                tracing::error!(
                    version = stored.version,
                    errors = %described.join("; "),
                    "stored rate-limit rules refused here; the rules in force stay"
                );
                Ok(false)
            }
        }
    }

    /// Follows the stored rules every [`FOLLOW_EVERY`] until `shutdown` turns true.
    pub async fn run_rules_follower(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let mut beat = crate::clock::Every::new(FOLLOW_EVERY, shutdown);
        while beat.tick().await {
            if let Err(error) = self.follow_stored_rules().await {
                tracing::debug!(%error, "stored rate-limit rules unreadable; the rules in force stay");
            }
        }
    }

    /// Puts `stored` in force (its rules, or the configuration's when it has none) unless this
    /// instance already applied its version. `Ok(true)` when it did.
    fn settle(&self, stored: &StoredRules) -> Result<bool, Vec<FieldError>> {
        let mut sources = self.sources();
        if stored.version == sources.origin.version {
            return Ok(false);
        }
        let (source, config) = match &stored.rules {
            Some(text) => {
                let config = serde_json::from_str::<RuleSetConfig>(text).map_err(|error| {
                    vec![FieldError {
                        field: "rules".to_owned(),
                        message: format!("stored rules unreadable: {error}"),
                    }]
                })?;
                (RulesSource::Store, config)
            }
            None => (RulesSource::File, sources.file.clone()),
        };
        let compiled = compile(&config, Some(&self.rules()))?;
        self.put_in_force(compiled);
        sources.origin = RulesOrigin {
            source,
            version: stored.version,
            author: stored.author.clone(),
            changed_at: stored.at_ms.map(to_rfc3339),
        };
        tracing::info!(
            source = source.as_str(),
            version = stored.version,
            author = stored.author.as_deref().unwrap_or(""),
            "rate-limit rules applied"
        );
        Ok(true)
    }

    fn sources(&self) -> MutexGuard<'_, RulesSources> {
        // A panic while holding it cannot leave it half-changed: every write is one assignment.
        self.rules_sources()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
