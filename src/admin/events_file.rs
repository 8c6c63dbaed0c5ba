//! Events kept in a file: `[[events]]` tables in the shape of the admin API's create body,
//! applied at start and again on every save, without a restart.
//!
//! The file states what each listed event's settings are: a missing event is created, a listed
//! event whose settings differ is updated (its lottery seed, creation time and operator status
//! stay), events not listed are left alone. A file with any mistake is refused whole, with every
//! mistake in one `error` log line, and the events in force stay as they are. Every change is in
//! the audit log, by `file:<path>`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::watch;

use crate::admin::event_bodies::CreateEventBody;
use crate::clock::{Clock, UnixMillis};
use crate::config::watch::{FileWatcher, watch_file};
use crate::domain::{EventChange, EventConfig};
use crate::store::audit::{AuditEntry, AuditLog, settings_for_audit};
use crate::store::{QueueStore, StoreError};

/// The file's shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsDocument {
    #[serde(default)]
    events: Vec<CreateEventBody>,
}

/// What applying the file did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Events created.
    pub created: Vec<String>,
    /// Events whose settings changed.
    pub changed: Vec<String>,
    /// Events already as the file says.
    pub unchanged: Vec<String>,
}

/// Reads and validates the whole file; every mistake is one line of the error list.
pub fn read_events_file(path: &Path, now: UnixMillis) -> Result<Vec<EventConfig>, Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| vec![format!("cannot read {}: {error}", path.display())])?;
    let document: EventsDocument =
        toml::from_str(&text).map_err(|error| vec![error.message().trim().to_owned()])?;
    let mut configs = Vec::new();
    let mut mistakes = Vec::new();
    for (index, body) in document.events.into_iter().enumerate() {
        if let Err(report) = garde::Validate::validate(&body) {
            for (field, error) in report.iter() {
                mistakes.push(format!("events[{index}].{field}: {error}"));
            }
            continue;
        }
        match body.into_config(now) {
            Ok(config) if configs.iter().any(|c: &EventConfig| c.id == config.id) => {
                mistakes.push(format!("events[{index}].id: {} is listed twice", config.id));
            }
            Ok(config) => configs.push(config),
            Err(error) => {
                mistakes.extend(
                    error
                        .errors
                        .iter()
                        .map(|e| format!("events[{index}].{}: {}", e.field, e.message)),
                );
                if error.errors.is_empty() {
                    mistakes.push(format!("events[{index}]: {}", error.detail));
                }
            }
        }
    }
    if mistakes.is_empty() {
        Ok(configs)
    } else {
        Err(mistakes)
    }
}

/// Creates or updates each event as listed, recording every change in the audit log.
pub async fn apply_events(
    store: &dyn QueueStore,
    audit: &dyn AuditLog,
    configs: Vec<EventConfig>,
    source: &Path,
    now: UnixMillis,
) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    for mut config in configs {
        let id = config.id.to_string();
        let before = store.event(&config.id).await?;
        let action = match &before {
            None => {
                if !store.create_event(&config).await? {
                    continue; // another instance created it in between: its next read updates it
                }
                applied.created.push(id.clone());
                "event.create"
            }
            Some(current) => {
                config.seed = current.seed.clone();
                config.seed_hash = current.seed_hash.clone();
                // The window secret is drawn once: a file read again must not change it.
                config.arrival_windows = current.arrival_windows.with_lengths(
                    config.arrival_windows.opening_seconds,
                    config.arrival_windows.every_seconds,
                );
                config.created_at = current.created_at;
                config.operator_status = current.operator_status;
                config.retention.closed_at = current.retention.closed_at;
                if let Some(field) = current.fixed_window_setting(&config, now) {
                    // As through the API: the sale has started, its windows stay.
                    tracing::warn!(event = %id, field, "the events file moves the arrival windows of a started sale: kept as they are");
                    config.arrival_windows = current.arrival_windows.clone();
                    config.starts_at = current.starts_at;
                }
                // Only the settings the file changes are written, so a pause or any other
                // change made meanwhile through the API stays.
                let change = EventChange::between(current, &config)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if change.is_empty() {
                    applied.unchanged.push(id);
                    continue;
                }
                store.change_event(&config.id, &change).await?;
                applied.changed.push(id.clone());
                "event.change"
            }
        };
        let entry = AuditEntry {
            at_ms: now,
            actor: format!("file:{}", source.display()),
            action: action.to_owned(),
            target: id,
            request_id: String::new(),
            status: 200,
            before: before
                .as_ref()
                .map_or(serde_json::Value::Null, settings_for_audit),
            after: settings_for_audit(&config),
        };
        audit.append_audit(&entry).await?;
    }
    Ok(applied)
}

/// Reads, validates and applies the file once; the error is one line naming every mistake.
pub async fn load_events_file(
    store: &dyn QueueStore,
    audit: &dyn AuditLog,
    clock: &dyn Clock,
    path: &Path,
) -> Result<Applied, String> {
    let now = clock.now_ms();
    let configs = read_events_file(path, now).map_err(|mistakes| mistakes.join("; "))?;
    let applied = apply_events(store, audit, configs, path, now)
        .await
        .map_err(|error| format!("the store failed: {error}"))?;
    if !applied.created.is_empty() || !applied.changed.is_empty() {
        tracing::info!(
            file = %path.display(),
            created = ?applied.created,
            changed = ?applied.changed,
            "events file applied"
        );
    }
    Ok(applied)
}

/// What the watcher has done with the saves it saw, so that an operator's tooling (and a test)
/// can tell a save that was read and refused from one that was not read yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsFileCount {
    /// Saves read and applied (including those that changed no event).
    pub applied: u64,
    /// Saves refused: the events in force stayed.
    pub refused: u64,
    /// Every mistake of the last refused save, in one line.
    pub last_error: Option<String>,
}

/// Follows the events file while it lives; dropping it stops the following.
pub struct EventsFileWatcher {
    _file: FileWatcher,
    task: tokio::task::JoinHandle<()>,
    count: watch::Receiver<EventsFileCount>,
}

impl EventsFileWatcher {
    /// What it has done so far, changing with every save it handles.
    pub fn count(&self) -> watch::Receiver<EventsFileCount> {
        self.count.clone()
    }
}

impl Drop for EventsFileWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Applies the file now (a file that cannot be applied is an error: start-up stops) and on
/// every save while the returned watcher lives (a save that cannot be applied is logged, counted
/// as refused, and the events in force stay).
pub async fn follow_events_file(
    store: Arc<dyn QueueStore>,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
    path: PathBuf,
) -> Result<EventsFileWatcher, String> {
    let (file, mut saves) = watch_file(&path)
        .map_err(|error| format!("events_file {}: cannot watch it: {error}", path.display()))?;
    load_events_file(store.as_ref(), audit.as_ref(), clock.as_ref(), &path)
        .await
        .map_err(|error| format!("events_file {}: {error}", path.display()))?;
    let (count_tx, count) = watch::channel(EventsFileCount::default());
    let task = tokio::spawn(async move {
        while saves.recv().await.is_some() {
            let loaded =
                load_events_file(store.as_ref(), audit.as_ref(), clock.as_ref(), &path).await;
            match loaded {
                Ok(_) => count_tx.send_modify(|count| count.applied += 1),
                Err(errors) => {
                    tracing::error!(
                        file = %path.display(),
                        %errors,
                        "events file refused; the events in force stay"
                    );
                    count_tx.send_modify(|count| {
                        count.refused += 1;
                        count.last_error = Some(errors);
                    });
                }
            }
        }
    });
    Ok(EventsFileWatcher {
        _file: file,
        task,
        count,
    })
}
