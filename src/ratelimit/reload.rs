//! Rules from a file, and the watcher that applies the file's changes within a second.
//!
//! The watcher listens on the file's directory (editors often save by writing a new file and
//! renaming it over the old one), waits for a burst of events to settle, then reads, validates
//! and applies the whole file. A file with mistakes is logged with every field at fault and the
//! rules in force stay.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

use super::limiter::RateLimiter;
use super::rules::RuleSetConfig;
use crate::error::FieldError;

/// How long events must be quiet before the file is read (saves come in bursts).
const SETTLE: Duration = Duration::from_millis(150);

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
    _watcher: RecommendedWatcher,
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
    let directory = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let file_name = path.file_name().map(|name| name.to_os_string());
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            return;
        };
        let ours = event
            .paths
            .iter()
            .any(|changed| changed.file_name().map(|n| n.to_os_string()) == file_name);
        if ours && !event.kind.is_access() {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(&directory, RecursiveMode::NonRecursive)?;
    let (count_tx, count) = watch::channel(ReloadCount::default());
    let task = tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Let the burst of events of one save settle, then read once.
            tokio::time::sleep(SETTLE).await;
            while rx.try_recv().is_ok() {}
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
        _watcher: watcher,
        task,
        count,
    })
}

/// Reads the file and puts it in force if it differs from the rules in force and is sound;
/// `Ok(false)` when it is the same.
fn apply_file(limiter: &RateLimiter, path: &Path) -> Result<bool, Vec<FieldError>> {
    let applied = read_rules_file(path).and_then(|config| {
        if limiter.rules().config == config {
            return Ok(false);
        }
        limiter.replace_rules(&config).map(|()| true)
    });
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
