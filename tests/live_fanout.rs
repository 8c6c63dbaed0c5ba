//! Keeping N shoppers informed costs the store the same per tick whatever N is: the sockets of an
//! instance share one ticker per event. First the outflow registry and socket tasks over
//! in-memory channels on tokio's paused clock, then a real server with 2,000 real WebSockets, on
//! the memory store and (500 sockets) on a real Redis, whose own count of commands is compared too. Work is
//! counted per shopper, not per call (`support::counting_store`).
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
use support::counting_store::{CountingStore, counting};
use support::events::sale;
use support::live_app::TestApp;
use support::redis_server::RedisServer;
use tokio::time::Instant;
use waitroom::clock::{Clock, SystemClock, UnixMillis};
use waitroom::domain::{Admitted, EventId, Identity, JoinOutcome, OperatorStatus, TicketId};
use waitroom::live::{LiveContext, LiveSettings, run_socket};
use waitroom::live::{OutflowRegistry, OutflowSettings};
use waitroom::store::QueueStore;
use waitroom::store::memory::MemoryStore;
use waitroom::store::redis::RedisStore;

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
    /// Calls per operation during the window.
    calls: BTreeMap<&'static str, u64>,
    /// Work per operation during the window (a touch of N identities is N).
    work: BTreeMap<&'static str, u64>,
    /// Shoppers named in presence reports (pages opened or closed) during the window.
    reported: u64,
    fewest_frames_per_socket: u64,
}

async fn run_with(sockets: usize, window: Duration) -> Run {
    let clock = Arc::new(TokioClock {
        base: START,
        start: Instant::now(),
    });
    let memory: Arc<dyn QueueStore> = Arc::new(MemoryStore::new(clock.clone()));
    let store = Arc::new(counting(memory));
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
        clock,
        told_on_socket: Default::default(),
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
    let (calls_before, work_before) = (store.all_calls(), store.all_work());
    let reported_before = store.reported_identities();
    frames.iter().for_each(|f| f.store(0, Ordering::Relaxed));
    tokio::time::sleep(window).await;
    let calls = since(&calls_before, &store.all_calls());
    let work = since(&work_before, &store.all_work());
    let reported = store.reported_identities() - reported_before;

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
        work,
        reported,
        fewest_frames_per_socket,
    }
}

/// What grew from `before` to `after`, per operation (operations that did not grow left out).
fn since(
    before: &BTreeMap<&'static str, u64>,
    after: &BTreeMap<&'static str, u64>,
) -> BTreeMap<&'static str, u64> {
    after
        .iter()
        .map(|(op, n)| (*op, n - before.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
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
    assert_eq!(
        few.work.get("presence"),
        Some(&2),
        "two heartbeats naming nobody"
    );
    // Nothing else grows with the sockets: no per-socket reads or touches while shoppers wait,
    // counted in work, so a batch naming every socket in one call counts as every socket.
    let others = |run: &Run| -> BTreeMap<&'static str, u64> {
        run.work
            .iter()
            .filter(|(op, _)| !matches!(**op, "drain" | "presence"))
            .map(|(op, n)| (*op, *n))
            .collect()
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

/// Work over one window of real sockets: the counting store's per operation and, on Redis, the
/// commands Redis ran (from `INFO commandstats`).
struct Window {
    work: BTreeMap<&'static str, u64>,
    redis_commands: Option<u64>,
    seconds: f64,
}

impl Window {
    fn per_second(&self, operation: &str) -> f64 {
        self.work.get(operation).copied().unwrap_or(0) as f64 / self.seconds
    }
}

/// Every command Redis has run so far (`INFO commandstats`, all commands together).
fn redis_commands(server: &RedisServer) -> u64 {
    server
        .cli(&["INFO", "commandstats"])
        .lines()
        .filter_map(|line| {
            let calls = line.split("calls=").nth(1)?;
            calls.split(',').next()?.parse::<u64>().ok()
        })
        .sum()
}

async fn measure(store: &CountingStore, redis: Option<&RedisServer>, window: Duration) -> Window {
    let work_before = store.all_work();
    let commands_before = redis.map(redis_commands);
    tokio::time::sleep(window).await;
    let commands_after = redis.map(redis_commands);
    Window {
        work: since(&work_before, &store.all_work()),
        redis_commands: commands_before.zip(commands_after).map(|(b, a)| a - b),
        seconds: window.as_secs_f64(),
    }
}

/// A page's socket read the way a page reads it: the frames it heard, and whether it is open.
struct Page {
    frames: Arc<AtomicU64>,
    reading: tokio::task::JoinHandle<()>,
}

/// Opens `count` sockets of new shoppers in the (paused) line of `event`.
async fn open_pages(app: &TestApp, event: &str, count: usize) -> Vec<Page> {
    let mut pages = Vec::new();
    for n in 0..count {
        let user = format!("{event}-{}-{n}", uuid::Uuid::new_v4().simple());
        let token = app.token(&user);
        let ticket = app.join(event, &token).await;
        let mut socket = app
            .socket(event, ticket["ticket_id"].as_str().unwrap(), &token)
            .await;
        let frames = Arc::new(AtomicU64::new(0));
        let heard = frames.clone();
        let reading = tokio::spawn(async move {
            while let Some(Ok(_)) = socket.next().await {
                heard.fetch_add(1, Ordering::Relaxed);
            }
        });
        pages.push(Page { frames, reading });
    }
    pages
}

/// 10 sockets, then `sockets`, on a line that does not move: the store's work per second (every
/// operation, the ticker's reads and heartbeats included) and, on Redis, the commands per
/// second must not grow, and every socket must stay open and keep hearing its position.
async fn store_work_does_not_grow_with_real_sockets(
    store: Arc<CountingStore>,
    redis: Option<&RedisServer>,
    sockets: usize,
) {
    let app = TestApp::spawn(store.clone()).await;
    let mut crowd = sale("crowd", SystemClock.now_ms() - 1_000, 1, 1, 1_000);
    crowd.operator_status = OperatorStatus::Paused;
    app.create(&crowd).await;
    let window = Duration::from_secs(3);

    let mut pages = open_pages(&app, "crowd", 10).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let few = measure(&store, redis, window).await;
    pages.extend(open_pages(&app, "crowd", sockets - 10).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let heard_before: Vec<u64> = pages
        .iter()
        .map(|p| p.frames.load(Ordering::Relaxed))
        .collect();
    let many = measure(&store, redis, window).await;

    println!("work with 10 sockets: {:?}", few.work);
    println!("work with {} sockets: {:?}", pages.len(), many.work);
    // The ticker's own work (drains, event and stats reads, heartbeats) comes per tick or per
    // interval, never per socket: a loaded machine can only slow it down, so with 2,000 sockets
    // it may be less, never more (a quarter of slack for a tick that falls in one window and
    // not the other, and one call).
    let most_drains = 1.0 / OutflowSettings::default().tick.as_secs_f64() * 1.1;
    for operation in ["drain", "event", "event_ids", "stats", "presence"] {
        let (f, m) = (few.per_second(operation), many.per_second(operation));
        assert!(
            m <= f * 1.25 + 1.0 / window.as_secs_f64(),
            "{operation}: {f:.2}/s with 10 sockets, {m:.2}/s with {}",
            pages.len()
        );
    }
    assert!(
        few.per_second("drain") <= most_drains && many.per_second("drain") <= most_drains,
        "{:?} and {:?}",
        few.work,
        many.work
    );
    assert!(
        few.per_second("drain") >= 3.0 && many.per_second("drain") >= 3.0,
        "the ticker keeps ticking: {:?} and {:?}",
        few.work,
        many.work
    );
    let others = |w: &Window| -> BTreeMap<&'static str, u64> {
        w.work
            .iter()
            // `ping` (store down / back alerts) and `activity` (what wakes resting events) are
            // the instance's looks at the store a few times a second, whatever the sockets and
            // events, so they are left out.
            .filter(|(op, _)| {
                !matches!(
                    **op,
                    "drain" | "event" | "event_ids" | "stats" | "presence" | "ping" | "activity"
                )
            })
            .map(|(op, n)| (*op, *n))
            .collect()
    };
    assert_eq!(
        (others(&few), others(&many)),
        (BTreeMap::new(), BTreeMap::new()),
        "no store work per socket while shoppers wait"
    );
    if let (Some(f), Some(m)) = (few.redis_commands, many.redis_commands) {
        println!(
            "Redis commands in {window:?}: {f} with 10 sockets, {m} with {}",
            pages.len()
        );
        assert!(f > 0, "Redis was read at all");
        assert!(
            m as f64 <= f as f64 * 1.25 + 10.0,
            "Redis ran {m} commands with {} sockets, {f} with 10",
            pages.len()
        );
    }
    let closed = pages.iter().filter(|p| p.reading.is_finished()).count();
    assert_eq!(closed, 0, "every socket is still open");
    let silent = pages
        .iter()
        .zip(&heard_before)
        .filter(|(p, before)| p.frames.load(Ordering::Relaxed) <= **before)
        .count();
    assert_eq!(
        silent, 0,
        "every socket heard its position during the {window:?} window"
    );
    assert_eq!(pages.len(), sockets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_work_per_second_does_not_grow_from_ten_to_two_thousand_real_sockets() {
    let store = Arc::new(counting(Arc::new(MemoryStore::new(Arc::new(SystemClock)))));
    store_work_does_not_grow_with_real_sockets(store, None, 2_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_commands_per_second_do_not_grow_from_ten_to_five_hundred_real_sockets() {
    let redis = RedisServer::start();
    let inner = RedisStore::connect(&redis.url(), None).await.unwrap();
    let store = Arc::new(counting(Arc::new(inner)));
    // Fewer sockets than on the memory store: each one's join and handshake go through Redis,
    // and growth per socket shows as well at 500.
    store_work_does_not_grow_with_real_sockets(store, Some(&redis), 500).await;
}

/// `PUBSUB NUMSUB` of the drain notices' channel: how many instances listen.
fn notice_listeners(redis: &RedisServer) -> u64 {
    let output = std::process::Command::new("redis-cli")
        .args([
            "-p",
            &redis.port().to_string(),
            "PUBSUB",
            "NUMSUB",
            "wr:drained",
        ])
        .output()
        .expect("redis-cli runs");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .nth(1)
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Polls `read` every 20 ms for up to `within`; the last value read.
async fn wait_for(within: Duration, mut read: impl FnMut() -> u64, wanted: u64) -> u64 {
    let deadline = Instant::now() + within;
    loop {
        let value = read();
        if value >= wanted || Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admission_by_one_instance_reaches_the_sockets_of_another_before_its_next_tick() {
    let redis = RedisServer::start();
    // Ticks far apart: anything another instance's sockets learn sooner came from the notice.
    let settings = OutflowSettings {
        tick: Duration::from_secs(60),
        idle_tick: Duration::from_secs(60),
        // Longer than the tick, or a busy ticker would count as resting and be stirred by the
        // joins' activity numbers.
        rest: Duration::from_secs(120),
        ..OutflowSettings::default()
    };
    let mut instances = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn QueueStore> =
            Arc::new(RedisStore::connect(&redis.url(), None).await.unwrap());
        let registry = OutflowRegistry::new(store.clone(), settings.clone());
        tokio::spawn(registry.clone().run());
        instances.push((store, registry));
    }
    let (store_a, registry_a) = &instances[0];
    let (_, registry_b) = &instances[1];
    let event = EventId::parse("peer-sale").unwrap();
    let now = store_a.now().await.unwrap();
    store_a
        .create_event(&sale("peer-sale", now - 1_000, 1, 1, 100))
        .await
        .unwrap();
    assert_eq!(
        wait_for(Duration::from_secs(5), || notice_listeners(&redis), 2).await,
        2,
        "both instances listen for drain notices"
    );
    // A page open on B keeps B's ticker on its (long) tick instead of resting.
    let page_on_b = registry_b.subscribe(&event).await.unwrap().unwrap();
    registry_a.ensure_running(&event);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(page_on_b.snapshots.borrow().serving, 0);

    for n in 0..3 {
        let shopper = Identity::user(&format!("peer-{n}")).unwrap();
        store_a
            .join(&event, &shopper, TicketId::random())
            .await
            .unwrap();
    }
    // An operator's touch makes A drain now: the bucket's one token admits the first shopper.
    registry_a.changed(&event, None);
    let on_a = wait_for(
        Duration::from_secs(3),
        || registry_a.snapshot(&event).map_or(0, |s| s.serving),
        1,
    )
    .await;
    assert_eq!(on_a, 1, "A's drain admitted the first shopper");
    let on_b = wait_for(
        Duration::from_secs(3),
        || page_on_b.snapshots.borrow().serving,
        1,
    )
    .await;
    assert!(
        on_b >= 1,
        "a page on B heard A's admission within 3 s, its own tick being a minute away"
    );
    for (_, registry) in &instances {
        registry.shutdown();
    }
}
