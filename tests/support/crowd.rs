//! Large crowds on a private Redis, and what their draw and drains cost the server: a pre-queue
//! filled through the store's own joins, drawn under the SLOWLOG's watch, and a queue whose head
//! has gone absent, drained under the same watch. The short forms run in `cargo test`, the long
//! ones in `cargo bench --bench redis_draw`.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::events::sale;
use super::redis_server::RedisServer;
use super::slow_calls::{self, SlowCall};
use waitroom::clock::{Clock, ManualClock, UnixMillis};
use waitroom::domain::{
    DrawOutcome, DrawPageOutcome, DrawPageRequest, EventId, Identity, InstanceId, JoinOutcome,
    PresenceReport, TicketId,
};
use waitroom::queue::{MOST_DROPPED_PER_DRAIN, draw_order};
use waitroom::store::QueueStore;
use waitroom::store::redis::RedisStore;

/// When the crowds' events start.
pub const START: UnixMillis = 1_800_000_000_000;

/// Joins in flight at once: enough to keep Redis busy over the store's multiplexed connection.
const JOINERS: u64 = 64;

/// The drained event drops a waiting shopper unseen for this long.
const ABANDON_AFTER_SECONDS: u32 = 60;

/// A store on `server` reading `clock`.
pub async fn store_on(server: &RedisServer, clock: &ManualClock) -> RedisStore {
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    RedisStore::connect(&server.url(), Some(clock))
        .await
        .unwrap()
}

/// Shopper `n` of a crowd, a visitor id the size of a real one.
pub fn shopper(n: u64) -> Identity {
    Identity::visitor(&format!("{n:0>22}")).unwrap()
}

/// Joins shoppers `from .. from + count` to `event`, `JOINERS` at a time; their ticket ids in
/// shopper order.
pub async fn join_crowd(
    store: &RedisStore,
    event: &EventId,
    from: u64,
    count: u64,
) -> Vec<TicketId> {
    let tickets: Vec<TicketId> = (0..count).map(|_| TicketId::random()).collect();
    let tickets = Arc::new(tickets);
    let next = Arc::new(AtomicU64::new(0));
    let joiners: Vec<_> = (0..JOINERS)
        .map(|_| {
            let (store, event) = (store.clone(), event.clone());
            let (next, tickets) = (next.clone(), tickets.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        break;
                    }
                    let joined = store
                        .join(&event, &shopper(from + n), tickets[n as usize])
                        .await
                        .unwrap();
                    assert!(
                        matches!(joined, JoinOutcome::Joined { created: true, .. }),
                        "shopper {} did not join: {joined:?}",
                        from + n
                    );
                }
            })
        })
        .collect();
    for joiner in joiners {
        joiner.await.unwrap();
    }
    Arc::try_unwrap(tickets).unwrap()
}

/// What a draw of a large pre-queue cost.
pub struct DrawRun {
    /// Entrants drawn.
    pub entrants: u64,
    /// How long filling the pre-queue took.
    pub fill: Duration,
    /// How long the call that found the start come took, the whole draw included.
    pub draw: Duration,
    /// The SLOWLOG over the draw.
    pub calls: Vec<SlowCall>,
    /// `LATENCY LATEST` after the draw: events of 50 ms or more.
    pub spikes: Vec<(String, u64)>,
    /// Whether the published commitment and order are those `draw_order` computes over the
    /// entrants with the published seed.
    pub verified: bool,
}

/// Fills a pre-queue of `entrants`, then draws it with every command of `log_at_micros` or
/// longer logged, and checks the published draw against [`draw_order`].
pub async fn draw_a_crowd(server: &RedisServer, entrants: u64, log_at_micros: u64) -> DrawRun {
    let clock = ManualClock::new(START - 60_000);
    let store = store_on(server, &clock).await;
    let config = sale("crowd", START, 1, 1, 1_000);
    let event = config.id.clone();
    store.create_event(&config).await.unwrap();
    let began = Instant::now();
    let tickets = join_crowd(&store, &event, 0, entrants).await;
    let fill = began.elapsed();
    let mut watcher = slow_calls::connect(&server.url()).await;
    slow_calls::watch(&mut watcher, log_at_micros).await;

    clock.set(START);
    let began = Instant::now();
    let drawn = store.draw(&event).await.unwrap();
    let draw = began.elapsed();

    // The latency monitor first: a SLOWLOG of thousands of entries is itself a long command.
    let spikes = slow_calls::latency_spikes(&mut watcher).await;
    let calls = slow_calls::slow_calls(&mut watcher).await;
    assert_eq!(drawn, DrawOutcome::Drawn { entrants });
    let expected = draw_order(&config.seed, tickets.iter().copied());
    let (commitment, published) = published_draw(&store, &event).await;
    let verified = commitment == expected.commitment && published == expected.order;
    DrawRun {
        entrants,
        fill,
        draw,
        calls,
        spikes,
        verified,
    }
}

/// The published commitment and the whole published order, page by page.
async fn published_draw(store: &RedisStore, event: &EventId) -> (String, Vec<TicketId>) {
    let (mut order, mut after) = (Vec::new(), None);
    loop {
        let request = DrawPageRequest {
            after,
            limit: 1_000,
        };
        let DrawPageOutcome::Page(page) = store.draw_page(event, request).await.unwrap() else {
            panic!("the drawn event has no draw page");
        };
        order.extend(page.entrants);
        match page.next {
            Some(last) => after = Some(last),
            None => return (page.commitment.unwrap_or_default(), order),
        }
    }
}

/// What drains past many absent shoppers cost.
pub struct DrainRun {
    /// Shoppers dropped in all.
    pub dropped: u64,
    /// Drains it took until one shopper still there was admitted.
    pub drains: u64,
    /// The most shoppers one drain dropped.
    pub most_dropped: u64,
    /// Whether the first admitted shopper is one who stayed.
    pub admitted_one_who_stayed: bool,
    /// How long the drains took in all.
    pub wall: Duration,
    /// The SLOWLOG over the drains.
    pub calls: Vec<SlowCall>,
    /// `LATENCY LATEST` after the drains.
    pub spikes: Vec<(String, u64)>,
}

/// A started event where the first `departed` of `waiting` shoppers went absent (their pages
/// closed a minute ago; the others are held by an instance that keeps beating), drained one
/// shopper a second with every command of `log_at_micros` or longer logged, until the first
/// shopper who stayed is admitted.
pub async fn drain_past_the_departed(
    server: &RedisServer,
    waiting: u64,
    departed: u64,
    log_at_micros: u64,
) -> DrainRun {
    let clock = ManualClock::new(START);
    let store = store_on(server, &clock).await;
    let mut config = sale("departed", START, 1, 1, 1_000);
    config.abandon_after_seconds = ABANDON_AFTER_SECONDS;
    let event = config.id.clone();
    store.create_event(&config).await.unwrap();
    // The departed join first, so they are the head of the queue.
    join_crowd(&store, &event, 0, departed).await;
    join_crowd(&store, &event, departed, waiting - departed).await;
    let instance = InstanceId::parse("instance-1").unwrap();
    let mut holding = PresenceReport::beat(instance.clone());
    holding.opened = (departed..waiting).map(shopper).collect();
    store.presence(&event, &holding).await.unwrap();
    // Beats a few seconds apart keep the presence clock running past the grace period.
    for _ in 0..=ABANDON_AFTER_SECONDS / 4 {
        clock.advance_ms(4_000);
        store
            .presence(&event, &PresenceReport::beat(instance.clone()))
            .await
            .unwrap();
    }
    let mut watcher = slow_calls::connect(&server.url()).await;
    slow_calls::watch(&mut watcher, log_at_micros).await;

    let stayed: HashSet<Identity> = holding.opened.into_iter().collect();
    let (mut dropped, mut drains, mut most_dropped) = (0, 0, 0);
    let began = Instant::now();
    let admitted = loop {
        let drained = store.drain(&event).await.unwrap().unwrap();
        drains += 1;
        dropped += drained.abandoned;
        most_dropped = most_dropped.max(drained.abandoned);
        if let Some(first) = drained.admitted.first() {
            break first.identity.clone();
        }
        assert!(
            drains <= waiting / MOST_DROPPED_PER_DRAIN + 2,
            "the drains admit nobody"
        );
    };
    let wall = began.elapsed();
    // The latency monitor first: a SLOWLOG of thousands of entries is itself a long command.
    let spikes = slow_calls::latency_spikes(&mut watcher).await;
    let calls = slow_calls::slow_calls(&mut watcher).await;
    DrainRun {
        dropped,
        drains,
        most_dropped,
        admitted_one_who_stayed: stayed.contains(&admitted),
        wall,
        calls,
        spikes,
    }
}

/// What settling a mass expiry cost.
pub struct ExpiryRun {
    /// Admissions that ended at once.
    pub ended: u64,
    /// Calls (each settling what it may) until every ended admission was counted expired.
    pub settling_calls: u64,
    /// Settling calls the store gave up on (its response timeout) while they ran on.
    pub timed_out: u64,
    /// Admissions counted expired after those calls.
    pub expired: u64,
    /// Unused admissions counted after those calls.
    pub active: u64,
    /// Unused admissions counted by the first call, however much it left to settle.
    pub active_after_first: Option<u64>,
    /// How long the settling calls took in all.
    pub wall: Duration,
    /// The SLOWLOG over the settling calls.
    pub calls: Vec<SlowCall>,
    /// `LATENCY LATEST` after them.
    pub spikes: Vec<(String, u64)>,
}

/// The outflow per second (and burst) that admits the expiring crowd.
const ADMITTED_PER_DRAIN: u64 = 2_000;

/// A started event where `ended` shoppers were admitted and none of them used the admission:
/// once every admission has ended, the event's counters are read (each read settles expiries
/// first) with every command of `log_at_micros` or longer logged, until all of them count as
/// expired.
pub async fn settle_a_mass_expiry(
    server: &RedisServer,
    ended: u64,
    log_at_micros: u64,
) -> ExpiryRun {
    let clock = ManualClock::new(START);
    let store = store_on(server, &clock).await;
    let mut config = sale(
        "expiring",
        START,
        ADMITTED_PER_DRAIN,
        ADMITTED_PER_DRAIN as u32,
        1_000,
    );
    config.admission_ttl_seconds = 60;
    let event = config.id.clone();
    store.create_event(&config).await.unwrap();
    join_crowd(&store, &event, 0, ended).await;
    let mut admitted = 0;
    while admitted < ended {
        admitted += store.drain(&event).await.unwrap().unwrap().admitted.len() as u64;
        clock.advance_ms(1_000);
    }
    // Every admission has ended: the last was given under a minute ago, ended a minute later.
    clock.advance_ms(61_000);
    let mut watcher = slow_calls::connect(&server.url()).await;
    slow_calls::watch(&mut watcher, log_at_micros).await;

    let began = Instant::now();
    let mut settling_calls = 0;
    let mut timed_out = 0;
    let mut active_after_first = None;
    let stats = loop {
        settling_calls += 1;
        // A call can outlast the store's response timeout; the script still runs to its end.
        let Ok(stats) = store.stats(&event).await else {
            timed_out += 1;
            continue;
        };
        let stats = stats.unwrap();
        active_after_first.get_or_insert(stats.active);
        if stats.admissions_expired >= ended || settling_calls > ended {
            break stats;
        }
    };
    let wall = began.elapsed();
    let spikes = slow_calls::latency_spikes(&mut watcher).await;
    let calls = slow_calls::slow_calls(&mut watcher).await;
    ExpiryRun {
        ended,
        settling_calls,
        timed_out,
        expired: stats.admissions_expired,
        active: stats.active,
        active_after_first,
        wall,
        calls,
        spikes,
    }
}

/// What a draw prepared before the start cost at the close.
pub struct PreparedDrawRun {
    /// Ticket ids the store held ready when the start came.
    pub held: usize,
    /// Entrants drawn.
    pub entrants: u64,
    /// `draw_tickets` calls at the close (each reads up to 250 ticket records).
    pub ticket_reads: usize,
    /// How long the call that found the start come took, the whole draw included.
    pub draw: Duration,
    /// The SLOWLOG over the draw.
    pub calls: Vec<SlowCall>,
    /// `LATENCY LATEST` after the draw.
    pub spikes: Vec<(String, u64)>,
    /// Whether the published draw is [`draw_order`] over the entrants' current ticket ids.
    pub verified: bool,
}

/// Who changes a prepared pre-queue, and when.
pub struct PrequeueChanges {
    /// The first this many entrants leave and join again (new ticket ids) before the last
    /// preparation.
    pub rejoining_before: u64,
    /// The next this many do so after it.
    pub rejoining_after: u64,
    /// This many more join after it.
    pub late: u64,
}

/// Fills a pre-queue of `entrants`, prepares its draw until every ticket id is held (after the
/// changes made before), makes the changes after it, and draws it at the start with every
/// command logged (`log_at_micros`), checked against [`draw_order`] over the ticket ids in force.
pub async fn draw_a_prepared_crowd(
    server: &RedisServer,
    entrants: u64,
    changes: PrequeueChanges,
    log_at_micros: u64,
) -> PreparedDrawRun {
    let clock = ManualClock::new(START - 60_000);
    let store = store_on(server, &clock).await;
    let config = sale("prepared", START, 1, 1, 1_000);
    let event = config.id.clone();
    store.create_event(&config).await.unwrap();
    let mut tickets = join_crowd(&store, &event, 0, entrants).await;
    // A first pass, then leaves that make what it read stale, then passes until all is fresh.
    store.prepare_draw(&event).await.unwrap().unwrap();
    rejoin(&store, &event, &mut tickets, 0..changes.rejoining_before).await;
    let mut held = 0;
    for _ in 0..entrants {
        held = store.prepare_draw(&event).await.unwrap().unwrap();
        if held as u64 == entrants {
            break;
        }
    }
    assert_eq!(held as u64, entrants, "preparation holds every ticket id");
    let after = changes.rejoining_before..changes.rejoining_before + changes.rejoining_after;
    rejoin(&store, &event, &mut tickets, after).await;
    let late = changes.late;
    tickets.extend(join_crowd(&store, &event, entrants, late).await);
    let mut watcher = slow_calls::connect(&server.url()).await;
    slow_calls::watch(&mut watcher, log_at_micros).await;

    clock.set(START);
    let began = Instant::now();
    let drawn = store.draw(&event).await.unwrap();
    let draw = began.elapsed();
    let spikes = slow_calls::latency_spikes(&mut watcher).await;
    let calls = slow_calls::slow_calls(&mut watcher).await;
    let total = entrants + late;
    assert_eq!(drawn, DrawOutcome::Drawn { entrants: total });
    let expected = draw_order(&config.seed, tickets.iter().copied());
    let (commitment, published) = published_draw(&store, &event).await;
    PreparedDrawRun {
        held,
        entrants: total,
        ticket_reads: calls.iter().filter(|c| c.command == "draw_tickets").count(),
        draw,
        calls,
        spikes,
        verified: commitment == expected.commitment && published == expected.order,
    }
}

/// Shoppers `range` leave and join again: their new ticket ids replace theirs in `tickets`.
async fn rejoin(
    store: &RedisStore,
    event: &EventId,
    tickets: &mut [TicketId],
    range: std::ops::Range<u64>,
) {
    for n in range {
        store
            .leave(event, &shopper(n), tickets[n as usize])
            .await
            .unwrap();
        let again = TicketId::random();
        let joined = store.join(event, &shopper(n), again).await.unwrap();
        assert!(matches!(joined, JoinOutcome::Joined { created: true, .. }));
        tickets[n as usize] = again;
    }
}
