//! A private `redis-server` per test: started on a free port in a temporary directory, stopped and
//! removed when dropped. No state is shared between tests.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` owned by one test.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
    /// The settings it was started with, kept for a restart.
    extra: Vec<String>,
    /// The niceness it runs at (0 unless started with [`Self::start_ahead_of_other_work`]).
    niceness: i32,
}

impl RedisServer {
    /// Starts a server on a free loopback port. Panics with install instructions when
    /// `redis-server` is not on PATH: the Redis tests are never skipped silently.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra command-line settings (e.g. `["--appendonly", "yes"]`).
    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_at(extra, 0)
    }

    /// Starts a server that the kernel runs ahead of ordinary processes (niceness -10) where it
    /// is allowed to, so that timing its commands on a busy machine measures their own work
    /// rather than the time other processes held the CPU. Where it is not allowed, a server as
    /// [`Self::start`] starts one.
    pub fn start_ahead_of_other_work() -> Self {
        let allowed = Command::new("nice")
            .args(["-n", "-10", "nice"])
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "-10");
        Self::start_at(&[], if allowed { -10 } else { 0 })
    }

    /// Whether the server runs ahead of ordinary processes.
    pub fn runs_ahead(&self) -> bool {
        self.niceness < 0
    }

    fn start_at(extra: &[&str], niceness: i32) -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "waitroom-redis-{}-{port}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("create a directory for redis-server");
        let extra: Vec<String> = extra.iter().map(|setting| (*setting).to_owned()).collect();
        let child = launch(port, &dir, &extra, niceness).unwrap_or_else(|error| {
            panic!(
                "cannot start redis-server ({error}). The Redis tests need it on PATH: \
                     install it with `sudo apt-get install -y redis-server` (Debian/Ubuntu) \
                     or `brew install redis` (macOS)."
            )
        });
        let server = Self {
            child,
            port,
            dir,
            extra,
            niceness,
        };
        server.wait_until_ready();
        server
    }

    /// The server's `redis://` URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (the process is killed; it can be started again with [`Self::restart`]).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Freezes the process (SIGSTOP), as a stalled machine would, until [`Self::resume`].
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused process run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} redis-server");
    }

    /// Starts the server again on the same port and directory, with the same settings (an
    /// append-only file is read back).
    pub fn restart(&mut self) {
        self.stop();
        self.child =
            launch(self.port, &self.dir, &self.extra, self.niceness).expect("restart redis-server");
        self.wait_until_ready();
    }

    /// Runs `redis-cli` against this server and returns its output (e.g. `INFO memory`).
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("run redis-cli");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `EVALSHA` calls the server has run since it started or its statistics were reset
    /// (`INFO commandstats`).
    pub fn script_calls(&self) -> u64 {
        self.cli(&["INFO", "commandstats"])
            .lines()
            .find_map(|line| line.strip_prefix("cmdstat_evalsha:calls="))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |calls| calls.parse().expect("a count of calls"))
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && self.cli(&["PING"]).trim() == "PONG"
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not become ready", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Spawns `redis-server` on `port` with its files in `dir`, at `niceness` (through `nice` when
/// not 0).
fn launch(
    port: u16,
    dir: &std::path::Path,
    extra: &[String],
    niceness: i32,
) -> std::io::Result<Child> {
    let mut command = if niceness == 0 {
        Command::new("redis-server")
    } else {
        let mut nice = Command::new("nice");
        nice.args(["-n", &niceness.to_string(), "redis-server"]);
        nice
    };
    command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("find a free port")
}
