//! Child processes of a test (waitroom instances, nginx, Prometheus), stopped when it ends.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

/// A child process stopped when the test ends, however it ends: asked with SIGTERM first, so
/// nginx's master takes its workers down with it, then killed if it lingers.
pub struct Running(pub Child);

impl Running {
    /// Starts `command`, panicking with `install` (how to get `program`) when it cannot: the tests
    /// that need it are never skipped silently.
    pub fn start(command: &mut Command, program: &str, install: &str) -> Self {
        Self(
            command
                .spawn()
                .unwrap_or_else(|error| panic!("cannot start {program} ({error}): {install}")),
        )
    }

    /// Kills the process at once (SIGKILL), as a crash would end it, and reaps it.
    pub fn kill_now(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill_now();
    }
}

/// A fresh directory under the system's temporary one.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("waitroom-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a signing key made by `waitroom keygen` into `dir`; its path.
pub fn keygen_file(dir: &Path) -> PathBuf {
    let key = Command::new(env!("CARGO_BIN_EXE_waitroom"))
        .arg("keygen")
        .output()
        .unwrap();
    assert!(key.status.success());
    let path = dir.join("signing-key.pem");
    std::fs::write(&path, &key.stdout).unwrap();
    path
}

/// Waits until `url` answers 200, for up to 30 s.
pub async fn wait_ready(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(response) = http.get(url).send().await
            && response.status() == StatusCode::OK
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{url} did not become ready");
}
