//! One run, start to end: sign the crowd in, create the event, let every shopper and bot play
//! while the sampler watches the queue, stop at the time limit, and gather what was seen.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use jsonwebtoken::EncodingKey;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::api::{Api, Identity};
use crate::bot::run_bot_identity;
use crate::checkout_fault::FaultyCheckout;
use crate::clock::RunClock;
use crate::crowd::{self, Timeline};
use crate::follow_watch::{FollowWatch, watch_follow};
use crate::journey::{Journey, Outcome};
use crate::queue_socket::SocketTarget;
use crate::recorder::{Actor, Recorder};
use crate::sale::{Sale, SaleSignal};
use crate::sampler::{QueueSample, sample_queue};
use crate::scenario::{Arrival, Scenario};
use crate::shopper::{ShopperChoices, shop};
use crate::sign_in::{SignIn, sign_in_all};
use crate::source_address::SourceAddresses;
use crate::steps::to_rfc3339;

/// How long journeys get to wind down after the time limit before they are cut off.
const WIND_DOWN: Duration = Duration::from_secs(30);

/// What a run needs besides its scenario.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The server, such as `http://127.0.0.1:8080`.
    pub base_url: String,
    /// The admin bearer token.
    pub admin_token: Option<String>,
    /// The server's HS256 user-token secret; dev login when absent.
    pub user_jwt_secret: Option<String>,
    /// Seeds the crowd's choices.
    pub seed: u64,
    /// Whether to draw a progress bar.
    pub progress: bool,
}

/// Everything observed, for the report.
#[derive(Debug)]
pub struct RunData {
    /// The scenario played.
    pub scenario: Scenario,
    /// The server.
    pub base_url: String,
    /// The event created.
    pub event_id: String,
    /// The sale's frame.
    pub timeline: Timeline,
    /// When the run stopped (Unix ms).
    pub ended_ms: i64,
    /// Every identity's journey (shoppers, then bots).
    pub journeys: Vec<Journey>,
    /// The queue over time.
    pub samples: Vec<QueueSample>,
    /// Latencies by measure.
    pub histograms: BTreeMap<String, Histogram<u64>>,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
    /// HTTP 5xx answers.
    pub server_errors: u64,
    /// Answers `403` or `429` to legitimate shoppers.
    pub shopper_refusals: u64,
    /// The most queue sockets open at once.
    pub sockets_peak: u64,
    /// The admin detail of the event after the run.
    pub admin_final: Option<Value>,
    /// SKUs and units offered.
    pub inventory: Vec<(String, u64)>,
    /// The checkout played and the outflow that followed it, when the scenario has a
    /// `[checkout]` table.
    pub follow: Option<FollowWatch>,
}

/// Why a run could not be played at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    SignIn(#[from] crate::sign_in::SignInError),
    #[error("creating the event answered {status}: {body}")]
    CreateEvent { status: u16, body: Value },
}

/// Plays `scenario` against the server.
pub async fn play(scenario: Scenario, settings: RunSettings) -> Result<RunData, RunError> {
    let recorder = Arc::new(Recorder::default());
    let api = Api::new(
        &settings.base_url,
        settings.admin_token.clone(),
        scenario.run.http_connections,
        recorder.clone(),
    )
    .map_err(|e| RunError::Setup(e.0))?;
    let target = SocketTarget::resolve(&settings.base_url)
        .await
        .map_err(RunError::Setup)?;
    let clock = RunClock::start();
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let run_tag = format!("{:06x}", rng.r#gen::<u32>() & 0xff_ffff);

    let pending = crowd::identities(&scenario, &run_tag);
    let how = match &settings.user_jwt_secret {
        Some(secret) => SignIn::Secret(Arc::new(EncodingKey::from_secret(secret.as_bytes()))),
        None => SignIn::DevLogin,
    };
    let bar = progress_bar(settings.progress, pending.len() as u64, "signing in");
    let ticking = bar.clone();
    let identities = sign_in_all(&how, &api, pending, clock.now_ms() / 1_000, move || {
        ticking.inc(1)
    })
    .await?;
    bar.finish_and_clear();

    let inventory = scenario.inventory();
    let skus: Vec<String> = inventory.iter().map(|(sku, _)| sku.clone()).collect();
    let timeline = Timeline::plan(&scenario, clock.now_ms());
    let event_id = format!("sim-{}-{run_tag}", slug(&scenario.name));
    create_event(&api, &scenario, &event_id, &timeline, &inventory).await?;

    let (signal_tx, signal_rx) = watch::channel(SaleSignal::default());
    let signal_tx = Arc::new(signal_tx);
    let checkout_fault = scenario.checkout.clone().map(|plan| {
        Arc::new(FaultyCheckout::new(
            plan,
            timeline.starts_at_ms,
            clock,
            settings.seed,
        ))
    });
    let sale = Arc::new(Sale {
        api: api.clone(),
        checkout_api: api.with_own_slots(scenario.run.http_connections.min(64)),
        event: event_id.clone(),
        clock,
        scenario: scenario.clone(),
        skus: skus.clone(),
        sources: SourceAddresses::new(scenario.run.sockets_per_address, target.is_ipv4_loopback()),
        target,
        handshakes: Semaphore::new(scenario.run.http_connections),
        signal: signal_rx,
        starts_at_ms: timeline.starts_at_ms,
        checkout_fault: checkout_fault.clone(),
    });
    let operator = api.with_own_slots(4);
    let sampler = tokio::spawn(sample_queue(
        operator.clone(),
        event_id.clone(),
        clock,
        Duration::from_millis(scenario.run.sample_interval_ms.max(10)),
        signal_tx.clone(),
    ));
    // Its own slots: a report or a read that waits behind the sampler's would blur the seconds.
    let follower = scenario.checkout.is_some().then(|| {
        tokio::spawn(watch_follow(
            api.with_own_slots(2),
            event_id.clone(),
            clock,
            checkout_fault.clone(),
            signal_tx.clone(),
        ))
    });

    let choices = crowd::shopper_choices(&scenario, &timeline, settings.seed, &skus);
    let bot_arrival_ms = match scenario.shoppers.arrival {
        Arrival::Prequeue => timeline.first_arrival_ms,
        Arrival::AtStart | Arrival::Ramp => timeline.starts_at_ms,
    };
    let tasks = spawn_journeys(&sale, identities, choices, bot_arrival_ms, &mut rng);
    let deadline =
        clock.instant_at(timeline.starts_at_ms + (scenario.run.max_seconds * 1_000.0) as i64);
    let bar = progress_bar(settings.progress, tasks.len() as u64, "playing");
    let slots = wait_for_journeys(tasks, deadline, &signal_tx, &bar, &recorder).await;
    show_progress(&bar, &recorder);
    bar.finish_and_clear();
    signal_tx.send_modify(|signal| signal.stop = true);
    let samples = sampler.await.unwrap_or_default();
    let ended_ms = clock.now_ms();
    // After the end is taken: the watcher's last act is reading the audit log.
    let follow = match follower {
        Some(follower) => follower.await.ok(),
        None => None,
    };
    let admin_final = operator
        .admin_event(&event_id)
        .await
        .ok()
        .filter(|r| r.is_success())
        .map(|r| r.body);

    let journeys = slots
        .into_iter()
        .enumerate()
        .map(|(index, journey)| journey.unwrap_or_else(|| cut_off(index, &scenario)))
        .collect();
    Ok(RunData {
        scenario,
        base_url: settings.base_url,
        event_id,
        timeline,
        ended_ms,
        journeys,
        samples,
        histograms: recorder.histograms(),
        errors: recorder.errors(),
        server_errors: recorder.live.server_errors.load(Ordering::Relaxed),
        shopper_refusals: recorder.live.shopper_refusals.load(Ordering::Relaxed),
        sockets_peak: recorder.live.sockets_peak.load(Ordering::Relaxed),
        admin_final,
        inventory,
        follow,
    })
}

/// Starts every journey in its own task; each task returns its index and its journey.
fn spawn_journeys(
    sale: &Arc<Sale>,
    identities: Vec<Identity>,
    choices: Vec<ShopperChoices>,
    bot_arrival_ms: i64,
    rng: &mut StdRng,
) -> JoinSet<(usize, Journey)> {
    let mut tasks = JoinSet::new();
    let mut shopper_choices = choices.into_iter();
    for (index, who) in identities.into_iter().enumerate() {
        let sale = sale.clone();
        let choice = match who.actor {
            Actor::Shopper => shopper_choices.next(),
            Actor::Bot => None,
        };
        let sku = crowd::pick(rng, &sale.skus);
        tasks.spawn(async move {
            let mut journey = match choice {
                Some(choice) => shop(sale.clone(), who, choice).await,
                None => run_bot_identity(sale.clone(), who, bot_arrival_ms, sku).await,
            };
            journey.ended_ms = sale.clock.now_ms();
            Recorder::bump(&sale.api.recorder().live.finished);
            (index, journey)
        });
    }
    tasks
}

/// Collects journeys as they end; at `deadline` tells every one to stop, and after the wind-down
/// aborts those still going (their slots stay empty).
async fn wait_for_journeys(
    mut tasks: JoinSet<(usize, Journey)>,
    deadline: Instant,
    signal: &watch::Sender<SaleSignal>,
    bar: &ProgressBar,
    recorder: &Recorder,
) -> Vec<Option<Journey>> {
    let mut slots: Vec<Option<Journey>> = vec![None; tasks.len()];
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    let mut stopping_until = None;
    loop {
        tokio::select! {
            finished = tasks.join_next() => match finished {
                Some(Ok((index, journey))) => slots[index] = Some(journey),
                Some(Err(_)) => {}
                None => break,
            },
            _ = ticker.tick() => show_progress(bar, recorder),
            () = tokio::time::sleep_until(deadline.into()), if stopping_until.is_none() => {
                signal.send_modify(|signal| signal.stop = true);
                stopping_until = Some(tokio::time::Instant::now() + WIND_DOWN);
            },
            () = sleep_until_some(stopping_until) => {
                tasks.abort_all();
                stopping_until = Some(tokio::time::Instant::now() + WIND_DOWN);
            },
        }
    }
    slots
}

/// The record of a journey that was cut off at the wind-down limit.
fn cut_off(index: usize, scenario: &Scenario) -> Journey {
    let actor = if index < scenario.shoppers.count as usize {
        Actor::Shopper
    } else {
        Actor::Bot
    };
    let mut journey = Journey::new(actor, format!("cut-off-{index}"));
    journey.outcome = Outcome::Failed;
    journey
}

async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Creates the event through the admin API and checks that the server took the arrival
/// windows asked (a server that ignored them would play a different sale).
async fn create_event(
    api: &Api,
    scenario: &Scenario,
    event_id: &str,
    timeline: &Timeline,
    inventory: &[(String, u64)],
) -> Result<(), RunError> {
    let body = event_body(scenario, event_id, timeline, inventory);
    let reply = api
        .create_event(&body)
        .await
        .map_err(|e| RunError::Setup(format!("cannot reach {}: {e}", api.base())))?;
    if !reply.is_success() {
        return Err(RunError::CreateEvent {
            status: reply.status,
            body: reply.body,
        });
    }
    let plan = &scenario.event;
    for (field, asked) in [
        ("opening_window_seconds", plan.opening_window_seconds),
        ("arrival_window_seconds", plan.arrival_window_seconds),
    ] {
        let took = reply.body.get(field).and_then(Value::as_u64);
        if asked > 0 && took != Some(u64::from(asked)) {
            return Err(RunError::Setup(format!(
                "the server created the event with {field} {took:?}, not {asked}"
            )));
        }
    }
    Ok(())
}

/// The admin API's body for the scenario's event (`POST /v1/admin/events`).
fn event_body(
    scenario: &Scenario,
    event_id: &str,
    timeline: &Timeline,
    inventory: &[(String, u64)],
) -> Value {
    let plan = &scenario.event;
    let mut body = json!({
        "id": event_id,
        "name": format!("Rehearsal: {}", scenario.name),
        "starts_at": to_rfc3339(timeline.starts_at_ms),
        "outflow_per_second": plan.outflow_per_second,
        "outflow_burst": plan.outflow_burst,
        "admission_ttl_seconds": plan.admission_ttl_seconds,
        "allow_anonymous": false,
        "inventory": inventory.iter().cloned().collect::<BTreeMap<_, _>>(),
        "mode": "queue",
        "abandon_after_seconds": plan.abandon_after_seconds,
    });
    if plan.proof_difficulty > 0 {
        body["proof_difficulty"] = json!(plan.proof_difficulty);
    }
    if plan.opening_window_seconds > 0 {
        body["opening_window_seconds"] = json!(plan.opening_window_seconds);
    }
    if plan.arrival_window_seconds > 0 {
        body["arrival_window_seconds"] = json!(plan.arrival_window_seconds);
    }
    if let Some(checkout) = &scenario.checkout {
        body["checkout_target"] = json!({
            "p95_ms": checkout.target.p95_ms,
            "max_error_rate": checkout.target.max_error_rate,
        });
    }
    if let Some(max_active) = plan.max_active {
        body["max_active"] = json!(max_active);
    }
    if scenario.shoppers.arrival == Arrival::Prequeue {
        body["prequeue_opens_at"] = json!(to_rfc3339(timeline.created_ms));
    }
    body
}

/// An event-id-safe version of a scenario name.
fn slug(name: &str) -> String {
    let lowered: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    let trimmed = lowered.trim_matches('-');
    if trimmed.is_empty() {
        "sale".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn progress_bar(visible: bool, length: u64, phase: &'static str) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    let style =
        ProgressStyle::with_template("{prefix:>10} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(phase);
    bar
}

fn show_progress(bar: &ProgressBar, recorder: &Recorder) {
    let live = &recorder.live;
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    bar.set_position(load(&live.finished));
    bar.set_message(format!(
        "joined {} queue {} sockets {} admitted {} paid {} 5xx {}",
        load(&live.joined),
        load(&live.queue_length),
        load(&live.sockets_open),
        load(&live.admitted),
        load(&live.paid),
        load(&live.server_errors),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_name_becomes_a_valid_event_id_part() {
        assert_eq!(slug("Flash Sale #1"), "flash-sale--1");
        assert_eq!(slug("!!!"), "sale");
    }

    fn body_of(toml: &str) -> Value {
        let scenario = Scenario::parse(toml).unwrap_or_default();
        let timeline = Timeline::plan(&scenario, 1_767_225_600_000);
        event_body(&scenario, "sim-x", &timeline, &scenario.inventory())
    }

    #[test]
    fn the_event_is_created_with_the_scenarios_arrival_windows_and_proof() {
        let body = body_of(
            "[event]\nopening_window_seconds = 60\narrival_window_seconds = 10\n\
             proof_difficulty = 3\n",
        );
        assert_eq!(body["opening_window_seconds"], json!(60));
        assert_eq!(body["arrival_window_seconds"], json!(10));
        assert_eq!(body["proof_difficulty"], json!(3));
        assert_eq!(body["mode"], json!("queue"));
        assert_eq!(body["starts_at"], json!("2026-01-01T00:00:06Z"));
    }

    #[test]
    fn windows_left_at_zero_are_not_sent() {
        let body = body_of("");
        assert!(body.get("opening_window_seconds").is_none());
        assert!(body.get("arrival_window_seconds").is_none());
        assert!(body.get("proof_difficulty").is_none());
    }
}
