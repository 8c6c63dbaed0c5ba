//! Watching one file for saves: a notification per settled burst of changes (the rules file, and
//! the service's events file).
//!
//! The directory is watched, not the file: editors often save by writing a new file and renaming
//! it over the old one, which a watch on the old file would miss.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// How long changes must be quiet before one notification goes out (saves come in bursts).
const SETTLE: Duration = Duration::from_millis(150);

/// Watches a file while it lives; dropping it stops the watching.
pub struct FileWatcher {
    _watcher: RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FileWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Watches `path` (call inside a tokio runtime); the receiver gets `()` once per settled save.
pub fn watch_file(path: &Path) -> Result<(FileWatcher, mpsc::Receiver<()>), notify::Error> {
    let directory = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let file_name = path.file_name().map(|name| name.to_os_string());
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            return;
        };
        let ours = event
            .paths
            .iter()
            .any(|changed| changed.file_name().map(|n| n.to_os_string()) == file_name);
        if ours && !event.kind.is_access() {
            let _ = raw_tx.send(());
        }
    })?;
    watcher.watch(&directory, RecursiveMode::NonRecursive)?;
    let (settled_tx, settled_rx) = mpsc::channel(1);
    let task = tokio::spawn(async move {
        while raw_rx.recv().await.is_some() {
            tokio::time::sleep(SETTLE).await;
            while raw_rx.try_recv().is_ok() {}
            // A notification already waiting covers this one too.
            let _ = settled_tx.try_send(());
        }
    });
    Ok((
        FileWatcher {
            _watcher: watcher,
            task,
        },
        settled_rx,
    ))
}
