//! Rules from a file, and the watcher that applies the file's changes within a second.
//!
//! The shared [`watch_file`] tells of each settled save; the watcher then reads, validates and
//! applies the whole file (unless rules stored for every instance are in force: they win, and
//! the file's rules wait until they are dropped). A file with mistakes is logged with every field at fault and the
//! rules in force stay.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use super::limiter::RateLimiter;
use super::rules::RuleSetConfig;
use crate::file_watch::{FileWatcher, watch_file};
use crate::problem::FieldError;

/// Reads a rules file (TOML). Unreadable or malformed files are one field error on `file`.
pub fn read_rules_file(path: &Path) -> Result<RuleSetConfig, Vec<FieldError>> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        vec![FieldError {
            field: "file".to_owned(),
            message: format!("cannot read {}: {error}", path.display()),
        }]
    })?;
    RuleSetConfig::from_toml(&text).map_err(|message| {
        vec![FieldError {
            field: "file".to_owned(),
            message,
        }]
    })
}

/// What the watcher has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadCount {
    /// Saves put in force.
    pub applied: u64,
    /// Saves refused (the rules in force stayed).
    pub refused: u64,
    /// The mistakes of the last refused save.
    pub last_errors: Vec<FieldError>,
}

/// Watches a rules file while it lives; dropping it stops the watching.
pub struct RulesFileWatcher {
    _file: FileWatcher,
    task: tokio::task::JoinHandle<()>,
    count: watch::Receiver<ReloadCount>,
}

impl RulesFileWatcher {
    /// What it has done so far, changing with every save it handles.
    pub fn count(&self) -> watch::Receiver<ReloadCount> {
        self.count.clone()
    }
}

impl Drop for RulesFileWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Applies every change of the file at `path` to `limiter` (call inside a tokio runtime).
pub fn watch_rules_file(
    limiter: Arc<RateLimiter>,
    path: PathBuf,
) -> Result<RulesFileWatcher, notify::Error> {
    let (file, mut saves) = watch_file(&path)?;
    let (count_tx, count) = watch::channel(ReloadCount::default());
    let task = tokio::spawn(async move {
        while saves.recv().await.is_some() {
            match apply_file(&limiter, &path) {
                Ok(false) => {}
                Ok(true) => count_tx.send_modify(|count| count.applied += 1),
                Err(errors) => count_tx.send_modify(|count| {
                    count.refused += 1;
                    count.last_errors = errors;
                }),
            }
        }
    });
    Ok(RulesFileWatcher {
        _file: file,
        task,
        count,
    })
}

/// Reads the file and puts it in force if it differs from the rules in force and is sound;
/// `Ok(false)` when it is the same.
fn apply_file(limiter: &RateLimiter, path: &Path) -> Result<bool, Vec<FieldError>> {
    let applied = read_rules_file(path).and_then(|config| limiter.file_rules_saved(&config));
    match &applied {
        Ok(true) => tracing::info!(file = %path.display(), "rate-limit rules reloaded"),
        Ok(false) => {}
        Err(errors) => {
            let described: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            tracing::error!(
                file = %path.display(),
                errors = %described.join("; "),
                "rate-limit rules file refused; the rules in force stay"
            );
        }
    }
    applied
}
