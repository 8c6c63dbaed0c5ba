//! The `waitroom` binary: load settings, start logging, bind, serve until Ctrl-C or SIGTERM.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use waitroom::admission::SigningKeys;
use waitroom::config::Settings;

/// Requests allocate and free many small buffers (headers, JSON, tokens) across threads; with
/// glibc's malloc that was a fifth of the server's CPU per join. jemalloc's thread caches make
/// those cheaper (see `load/results/join-allocator-2026-12-06.md`).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A virtual waiting room and flash-sale admission gateway.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// TOML settings file (otherwise `WAITROOM_CONFIG`); `WAITROOM_*` variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Print a new Ed25519 signing key (PKCS#8 PEM) for WAITROOM_SIGNING_KEY_FILE, and its id on
    /// stderr (for WAITROOM_SIGNING_KID).
    Keygen,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Keygen => keygen(),
        Command::Serve => serve(cli.config),
    }
}

fn keygen() -> ExitCode {
    let made = SigningKeys::generate_pem()
        .and_then(|pem| SigningKeys::from_pem(&pem).map(|keys| (pem, keys.current().kid.clone())));
    match made {
        Ok((pem, kid)) if std::io::stdout().write_all(pem.as_bytes()).is_ok() => {
            // On stderr, so `waitroom keygen >> keys.pem` keeps the file a clean PEM.
            let _ = writeln!(
                std::io::stderr(),
                "waitroom: the new key's id (for WAITROOM_SIGNING_KID) is {kid}"
            );
            ExitCode::SUCCESS
        }
        Ok(_) => ExitCode::FAILURE,
        Err(error) => fail(&error.to_string(), 1),
    }
}

fn serve(config: Option<PathBuf>) -> ExitCode {
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(key, _)| key.starts_with("WAITROOM_"))
        .collect();
    let env = || {
        env.iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    };
    let file = config.or_else(|| Settings::config_file_from_env(env()));
    let settings = match Settings::load(file.as_deref(), env()) {
        Ok(settings) => settings,
        Err(error) => return fail(&error.to_string(), 2),
    };
    waitroom::telemetry::init_tracing(settings.log_format);
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the runtime: {error}"), 1),
    };
    runtime.block_on(async move {
        let listen = settings.listen;
        let app = match waitroom::app::build(settings).await {
            Ok(app) => app,
            Err(error) => return fail(&error.to_string(), error.exit_code()),
        };
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(listener) => listener,
            Err(error) => return fail(&format!("cannot listen on {listen}: {error}"), 1),
        };
        tracing::info!("waitroom listening on http://{listen}/");
        match waitroom::app::run(app, listener, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(&format!("server error: {error}"), 1),
        }
    })
}

/// One line on stderr and the exit code (2 for a setting or key that cannot work, 1 for a
/// failure of the surroundings): never a panic trace.
fn fail(message: &str, code: u8) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "waitroom: {message}");
    ExitCode::from(code)
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
