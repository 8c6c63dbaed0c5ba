//! Keeping N shoppers informed costs the store the same per tick whatever N is: the sockets of an
//! instance share one ticker per event. First the outflow registry and socket tasks over
//! in-memory channels on tokio's paused clock, then a real server with 2,000 real WebSockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::Message;
use futures_channel::mpsc;
use futures_util::StreamExt;
use support::counting_store::CountingStore;
use support::events::sale;
use support::live_app::TestApp;
use tokio::time::Instant;
use waitroom::admission::outflow::{OutflowRegistry, OutflowSettings};
use waitroom::clock::{Clock, SystemClock, UnixMillis};
use waitroom::domain::{Admitted, EventId, Identity, JoinOutcome, OperatorStatus, TicketId};
use waitroom::queue::live::{LiveContext, LiveSettings, run_socket};
use waitroom::store::QueueStore;
use waitroom::store::memory::MemoryStore;

/// Store time that follows tokio's (paused) clock, so the outflow and the tickers agree.
struct TokioClock {
    base: UnixMillis,
    start: Instant,
}

impl Clock for TokioClock {
    fn now_ms(&self) -> UnixMillis {
        self.base + self.start.elapsed().as_millis() as i64
    }
}

const START: UnixMillis = 1_800_000_000_000;

/// Shoppers in the line in every run, whatever the number of open pages.
const LINE: usize = 2_000;
/// Shoppers the outflow (one a second) can reach before the window ends: their sockets close.
const REACHED: usize = 20;

/// What a run of `sockets` open pages (at the back of a line of [`LINE`]) cost the store over
/// `window`, and what the pages heard.
struct Run {
    calls: BTreeMap<&'static str, u64>,
    /// Shoppers named in presence reports (pages opened or closed) during the window.
    reported: u64,
    fewest_frames_per_socket: u64,
}

async fn run_with(sockets: usize, window: Duration) -> Run {
    let clock = Arc::new(TokioClock {
        base: START,
        start: Instant::now(),
    });
    let memory: Arc<dyn QueueStore> = Arc::new(MemoryStore::new(clock));
    let store = Arc::new(CountingStore::new(memory));
    let event = EventId::parse("big-sale").unwrap();
    let mut config = sale("big-sale", START, 1, 1, 100_000);
    // The instance sends a heartbeat every 5 s.
    config.abandon_after_seconds = 20;
    store.create_event(&config).await.unwrap();

    let registry = OutflowRegistry::new(store.clone(), OutflowSettings::default());
    let live = Arc::new(LiveContext {
        store: store.clone(),
        issuer: Arc::new(|_: &EventId, a: &Admitted| Ok(format!("token-{}", a.ticket_id))),
        settings: LiveSettings::default(),
    });
    let frames: Arc<Vec<AtomicU64>> = Arc::new((0..sockets).map(|_| AtomicU64::new(0)).collect());
    let mut clients = Vec::new();
    let mut tickets = Vec::new();
    for n in 0..LINE {
        let identity = Identity::user(&format!("shopper-{n}")).unwrap();
        let JoinOutcome::Joined { ticket, .. } = store
            .join(&event, &identity, TicketId::random())
            .await
            .unwrap()
        else {
            panic!("the join was refused");
        };
        tickets.push(ticket);
    }
    for (n, ticket) in tickets.into_iter().rev().take(sockets).enumerate() {
        let subscription = registry.subscribe(&event).await.unwrap().unwrap();
        let (sink, mut to_client) = mpsc::channel::<Message>(16);
        let (from_client, stream) = mpsc::channel::<Result<Message, Infallible>>(1);
        clients.push(from_client);
        let (live, event, frames) = (live.clone(), event.clone(), frames.clone());
        tokio::spawn(async move {
            run_socket(sink, stream, event, ticket, subscription, &live).await;
        });
        tokio::spawn(async move {
            while to_client.next().await.is_some() {
                frames[n].fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = store.all_calls();
    let reported_before = store.reported_identities();
    frames.iter().for_each(|f| f.store(0, Ordering::Relaxed));
    tokio::time::sleep(window).await;
    let after = store.all_calls();
    let reported = store.reported_identities() - reported_before;

    let calls = after
        .iter()
        .map(|(op, n)| (*op, n - before.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let fewest_frames_per_socket = frames
        .iter()
        .take(sockets.min(LINE - REACHED))
        .map(|f| f.load(Ordering::Relaxed))
        .min()
        .unwrap_or(0);
    registry.shutdown();
    drop(clients);
    Run {
        calls,
        reported,
        fewest_frames_per_socket,
    }
}

#[tokio::test(start_paused = true)]
async fn store_work_per_tick_is_the_same_for_ten_and_for_two_thousand_sockets() {
    let window = Duration::from_secs(10);

    let few = run_with(10, window).await;
    let many = run_with(2_000, window).await;

    println!("10 sockets: {:?}", few.calls);
    println!("2000 sockets: {:?}", many.calls);
    let drains = |run: &Run| run.calls.get("drain").copied().unwrap_or(0);
    assert!(
        drains(&few) >= 60,
        "about 6-7 drains a second: {:?}",
        few.calls
    );
    assert_eq!(drains(&few), drains(&many));
    // Heartbeats are one call per event per interval, whatever the number of open pages, and
    // name no waiting shopper once the pages are open: the store's work inside them does not
    // follow the sockets either. Only pages closed by the outflow's admissions are told.
    assert_eq!(few.calls.get("presence"), Some(&2));
    assert_eq!(many.calls.get("presence"), Some(&2));
    assert_eq!(few.reported, 0);
    assert!(many.reported <= REACHED as u64, "{} told", many.reported);
    // Nothing else grows with the sockets: no per-socket reads while shoppers wait.
    let others = |run: &Run| -> u64 {
        run.calls
            .iter()
            .filter(|(op, _)| !matches!(**op, "drain" | "presence"))
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(others(&few), others(&many));
}

#[tokio::test(start_paused = true)]
async fn every_waiting_socket_hears_at_least_every_two_seconds_while_the_queue_moves() {
    let run = run_with(500, Duration::from_secs(10)).await;

    assert!(
        run.fewest_frames_per_socket >= 5,
        "the quietest socket heard {} frames in 10 s",
        run.fewest_frames_per_socket
    );
}

/// Drains a second, and calls that are not the ticker's own, while `window` passes.
async fn store_rates(store: &CountingStore, window: Duration) -> (f64, u64) {
    let before = store.all_calls();
    tokio::time::sleep(window).await;
    let after = store.all_calls();
    let delta =
        |op: &str| after.get(op).copied().unwrap_or(0) - before.get(op).copied().unwrap_or(0);
    let drains = delta("drain") as f64 / window.as_secs_f64();
    let others = after
        .keys()
        .filter(|op| !matches!(**op, "drain" | "event" | "event_ids" | "stats" | "presence"))
        .map(|op| delta(op))
        .sum();
    (drains, others)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_calls_per_second_do_not_grow_from_ten_to_two_thousand_real_sockets() {
    let store = Arc::new(CountingStore::new(Arc::new(MemoryStore::new(Arc::new(
        SystemClock,
    )))));
    let app = TestApp::spawn(store.clone()).await;
    // A line that does not move: every socket stays open and waiting.
    let mut crowd = sale("crowd", SystemClock.now_ms() - 1_000, 1, 1, 1_000);
    crowd.operator_status = OperatorStatus::Paused;
    app.create(&crowd).await;
    let window = Duration::from_secs(3);
    let mut sockets = Vec::new();
    let open_sockets = |count: usize| {
        let app = &app;
        async move {
            let mut opened = Vec::new();
            for n in 0..count {
                let user = format!("crowd-{}-{n}", uuid::Uuid::new_v4().simple());
                let token = app.token(&user);
                let ticket = app.join("crowd", &token).await;
                let socket = app
                    .socket("crowd", ticket["ticket_id"].as_str().unwrap(), &token)
                    .await;
                // Each client reads whatever comes, as a page does.
                opened.push(tokio::spawn(async move {
                    let mut socket = socket;
                    while let Some(Ok(_)) = socket.next().await {}
                }));
            }
            opened
        }
    };

    sockets.extend(open_sockets(10).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (few_drains, few_others) = store_rates(&store, window).await;
    sockets.extend(open_sockets(1_990).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (many_drains, many_others) = store_rates(&store, window).await;

    println!("drains/s with 10 sockets: {few_drains:.2}, with 2000: {many_drains:.2}");
    // One drain per tick whatever the sockets: never more than the tick allows (a loaded machine
    // can only slow the ticker down), and the ticker keeps ticking with 2,000 sockets.
    let most = 1.0 / OutflowSettings::default().tick.as_secs_f64() * 1.1;
    assert!(
        few_drains <= most && many_drains <= most,
        "{few_drains} and {many_drains} a second"
    );
    assert!(
        few_drains >= 3.0 && many_drains >= 3.0,
        "{few_drains} and {many_drains} a second"
    );
    assert_eq!(
        (few_others, many_others),
        (0, 0),
        "no store call per socket while shoppers wait"
    );
    assert_eq!(sockets.len(), 2_000);
}
