//! `waitroom-sim`: plays a scenario against a server, writes the report, and exits non-zero
//! when the sale oversold, answered a 5xx, admitted out of order, broke either bound of the
//! outflow, or let the bots take more of the admissions than the scenario allows.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use waitroom_sim::report::{Report, markdown, plots};
use waitroom_sim::run::{RunData, RunSettings, play};
use waitroom_sim::scenario::Scenario;

/// Plays a flash sale against a waitroom server and reports its speed and fairness.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The scenario file (`load/scenarios/*.toml`); the defaults when absent.
    #[arg(long, short)]
    scenario: Option<PathBuf>,
    /// The server.
    #[arg(long, env = "BASE_URL", default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// The server's admin token (`WAITROOM_ADMIN_TOKEN`).
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The server's HS256 user-token secret (`WAITROOM_USER_JWT_SECRET`); dev login when unset.
    #[arg(long, env = "USER_JWT_SECRET", hide_env_values = true)]
    user_jwt_secret: Option<String>,
    /// Where the report goes (`summary.md`, `report.json`, SVG plots).
    #[arg(long, default_value = "load/results/tmp")]
    out: PathBuf,
    /// Overrides the scenario's number of shoppers.
    #[arg(long)]
    shoppers: Option<u32>,
    /// Overrides the scenario's number of bots.
    #[arg(long)]
    bots: Option<u32>,
    /// Overrides the scenario's time limit after the start, in seconds.
    #[arg(long)]
    max_seconds: Option<f64>,
    /// Seeds the crowd's choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Also write `journeys.json`: every identity's journey, for analysis.
    #[arg(long)]
    journeys: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            tracing::error!("{message}");
            let _ = writeln!(std::io::stderr(), "waitroom-sim: {message}");
            ExitCode::from(2)
        }
    }
}

/// Plays the scenario and writes the report; true when the verdict passed.
fn run(args: Args) -> Result<bool, String> {
    let mut scenario = match &args.scenario {
        Some(path) => Scenario::load(path).map_err(|e| e.to_string())?,
        None => Scenario {
            name: "default".to_owned(),
            ..Scenario::default()
        },
    };
    if let Some(shoppers) = args.shoppers {
        scenario.shoppers.count = shoppers;
    }
    if let Some(bots) = args.bots {
        scenario.bots.count = bots;
    }
    if let Some(max_seconds) = args.max_seconds {
        scenario.run.max_seconds = max_seconds;
    }
    scenario.validate().map_err(|e| e.to_string())?;
    let settings = RunSettings {
        base_url: args.base_url.clone(),
        admin_token: args.admin_token.clone(),
        user_jwt_secret: args.user_jwt_secret.clone(),
        seed: args.seed,
        progress: !args.quiet,
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start tokio: {e}"))?;
    let data = runtime
        .block_on(play(scenario, settings))
        .map_err(|e| e.to_string())?;
    let report = Report::from_run(&data);
    let summary = write_report(&args.out, &report, &data)?;
    if args.journeys {
        let json = serde_json::to_string(&data.journeys)
            .map_err(|e| format!("cannot encode the journeys: {e}"))?;
        let path = args.out.join("journeys.json");
        std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let _ = std::io::stdout().write_all(summary.as_bytes());
    Ok(report.verdict.passed)
}

/// Writes `summary.md`, `report.json` and the plots; returns the summary.
fn write_report(dir: &Path, report: &Report, data: &RunData) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let plots = match plots::draw_all(dir, report, &data.histograms) {
        Ok(_) => plots::PLOT_FILES.map(str::to_owned).to_vec(),
        Err(error) => {
            tracing::warn!("{error}");
            Vec::new()
        }
    };
    let summary = markdown::render(report, &plots);
    let json = serde_json::to_string_pretty(report)
        .map_err(|e| format!("cannot encode the report: {e}"))?;
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("summary.md", &summary)?;
    write("report.json", &json)?;
    Ok(summary)
}
