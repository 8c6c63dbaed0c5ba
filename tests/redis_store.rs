//! What only the Redis store has to get right: a Redis that is gone, scripts the server forgot,
//! keys that stay in their event's cluster slot, and a real Redis Cluster.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::events::{sale, tshirt};
use support::redis_cluster::RedisCluster;
use support::redis_server::{RedisServer, free_port};
use waitroom::clock::{Clock, ManualClock};
use waitroom::domain::{
    DrawOutcome, DrawPageOutcome, DrawPageRequest, EventId, Identity, InstanceId, JoinOutcome,
    OrderId, OrderItem, PayOutcome, PresenceReport, ReserveOutcome, ReserveRequest, TicketId,
    TicketStatus,
};
use waitroom::queue::draw_order;
use waitroom::store::redis::{ACTIVITY_KEY, EVENTS_KEY, RedisStore, event_key_prefix};
use waitroom::store::{QueueStore, Removal, StoreError};

const START: i64 = 1_800_000_000_000;

async fn store_at(urls: &str, clock: &ManualClock) -> RedisStore {
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    RedisStore::connect(urls, Some(clock)).await.unwrap()
}

fn shopper(name: &str) -> Identity {
    Identity::user(name).unwrap()
}

/// Joins, admits, reserves and pays for `buyer`, and leaves for `leaver`: every kind of key.
async fn run_a_small_sale(
    store: &RedisStore,
    event: &EventId,
    buyer: &Identity,
    leaver: &Identity,
) {
    let Ok(JoinOutcome::Joined { ticket, .. }) = store.join(event, buyer, TicketId::random()).await
    else {
        panic!("the buyer could not join");
    };
    let Ok(JoinOutcome::Joined { ticket: gone, .. }) =
        store.join(event, leaver, TicketId::random()).await
    else {
        panic!("the leaver could not join");
    };
    store.leave(event, leaver, gone.ticket_id).await.unwrap();
    let mut report = PresenceReport::beat(InstanceId::parse("instance-1").unwrap());
    report.opened.push(buyer.clone());
    store.presence(event, &report).await.unwrap();
    let drained = store.drain(event).await.unwrap().unwrap();
    assert_eq!(drained.admitted.len(), 1);
    let request = ReserveRequest {
        identity: buyer.clone(),
        ticket_id: ticket.ticket_id,
        order_id: OrderId::random(),
        idempotency_key: Some("k1".into()),
        items: vec![OrderItem {
            sku: tshirt(),
            quantity: 2,
        }],
    };
    let ReserveOutcome::Reserved(order) = store.reserve(event, &request).await.unwrap() else {
        panic!("the reservation failed");
    };
    let paid = store.pay(event, buyer, order.order_id).await.unwrap();
    assert!(matches!(paid, PayOutcome::Paid(_)), "{paid:?}");
    let stats = store.stats(event).await.unwrap().unwrap();
    assert_eq!(stats.sold.get(&tshirt()), Some(&2));
}

#[tokio::test]
async fn a_redis_that_is_not_there_is_unavailable_within_seconds() {
    let began = Instant::now();

    let outcome = RedisStore::connect(&format!("redis://127.0.0.1:{}/", free_port()), None).await;

    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{:?}",
        outcome.err()
    );
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "took {:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn a_redis_that_goes_away_makes_operations_unavailable_not_hang() {
    let mut server = RedisServer::start();
    let store = RedisStore::connect(&server.url(), None).await.unwrap();
    let event = EventId::parse("gone").unwrap();
    server.stop();
    let began = Instant::now();

    let outcome = store.stats(&event).await;

    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{outcome:?}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "took {:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn a_redis_back_after_an_outage_is_used_again_without_a_new_store() {
    let mut server = RedisServer::start();
    let store = RedisStore::connect(&server.url(), None).await.unwrap();
    server.stop();
    for _ in 0..3 {
        assert!(matches!(
            store.ping().await,
            Err(StoreError::Unavailable(_))
        ));
    }
    server.restart();

    let created = store.create_event(&sale("again", START, 1, 1, 5)).await;

    assert!(created.unwrap());
}

#[tokio::test]
async fn the_longest_identities_keep_their_tickets() {
    let server = RedisServer::start();
    let clock = ManualClock::new(START + 1);
    let store = store_at(&server.url(), &clock).await;
    let event = EventId::parse("long").unwrap();
    store
        .create_event(&sale("long", START, 1, 1, 5))
        .await
        .unwrap();
    let long = shopper(&"x".repeat(128));
    let ticket_id = TicketId::random();
    store.join(&event, &long, ticket_id).await.unwrap();

    let admitted = store.drain(&event).await.unwrap().unwrap().admitted;

    assert_eq!(admitted.len(), 1);
    assert_eq!(
        (&admitted[0].identity, admitted[0].ticket_id),
        (&long, ticket_id)
    );
    let ticket = store.ticket(&event, &long, false).await.unwrap().unwrap();
    assert_eq!(ticket.status, TicketStatus::Admitted);
}

#[tokio::test]
async fn a_key_holding_something_unexpected_is_reported_as_corrupt() {
    let server = RedisServer::start();
    let clock = ManualClock::new(START + 1);
    let store = store_at(&server.url(), &clock).await;
    let event = EventId::parse("odd").unwrap();
    store
        .create_event(&sale("odd", START, 1, 1, 5))
        .await
        .unwrap();
    let queue = format!("{}q", event_key_prefix(&event));
    server.cli(&["SET", &queue, "not a sorted set"]);

    let joined = store
        .join(&event, &shopper("ann"), TicketId::random())
        .await;

    assert!(matches!(joined, Err(StoreError::Corrupt(_))), "{joined:?}");
}

#[tokio::test]
async fn scripts_flushed_from_the_server_are_loaded_again_transparently() {
    let server = RedisServer::start();
    let clock = ManualClock::new(START + 1);
    let store = store_at(&server.url(), &clock).await;
    let event = EventId::parse("flushed").unwrap();
    store
        .create_event(&sale("flushed", START, 1, 1, 5))
        .await
        .unwrap();
    store
        .join(&event, &shopper("first"), TicketId::random())
        .await
        .unwrap();
    assert_eq!(server.cli(&["SCRIPT", "FLUSH"]).trim(), "OK");

    let second = store
        .join(&event, &shopper("second"), TicketId::random())
        .await
        .unwrap();

    let JoinOutcome::Joined { ticket, created } = second else {
        panic!("{second:?}");
    };
    assert!(created);
    assert_eq!(ticket.position, Some(2));
}

/// The keys of `event` on `server` that would stay for ever (no expiry of their own).
fn lasting_keys(server: &RedisServer, event: &EventId) -> Vec<String> {
    let pattern = format!("{}*", event_key_prefix(event));
    let keys = server.cli(&["--raw", "KEYS", &pattern]);
    keys.lines()
        .filter(|key| !key.is_empty())
        .filter(|key| server.cli(&["PTTL", key]).trim() == "-1")
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn removing_a_closed_event_deletes_every_key_that_would_last_and_finishes_a_cut_short_one() {
    let server = RedisServer::start();
    let clock = ManualClock::new(START + 1);
    let store = store_at(&server.url(), &clock).await;
    let (old, kept) = (
        EventId::parse("old").unwrap(),
        EventId::parse("kept").unwrap(),
    );
    let windowed = EventId::parse("windowed").unwrap();
    for id in ["old", "kept"] {
        store
            .create_event(&sale(id, START, 10, 10, 5))
            .await
            .unwrap();
    }
    // Arrivals in an opening window: their window's own keys.
    let opening = waitroom::domain::EventConfig {
        arrival_windows: waitroom::queue::ArrivalWindows::new(60, 0),
        ..sale("windowed", START, 10, 10, 5)
    };
    store.create_event(&opening).await.unwrap();
    for event in [&old, &kept] {
        run_a_small_sale(&store, event, &shopper("buyer"), &shopper("leaver")).await;
    }
    for event in [&old, &kept, &windowed] {
        for n in 0..200 {
            let who = shopper(&format!("waiting-{n}"));
            store.join(event, &who, TicketId::random()).await.unwrap();
        }
    }
    let old_keys = lasting_keys(&server, &old);
    assert!(old_keys.len() > 100, "{} keys", old_keys.len());
    let window_keys = lasting_keys(&server, &windowed);
    assert!(
        window_keys.iter().any(|key| key.contains(":wz:")),
        "{window_keys:?}"
    );
    let kept_keys = lasting_keys(&server, &kept);
    for event in [&old, &windowed] {
        let mut closed = store.event(event).await.unwrap().unwrap();
        closed.operator_status = waitroom::domain::OperatorStatus::Closed;
        store.update_event(&closed).await.unwrap();
    }
    assert_eq!(
        store.remove_event(&windowed).await.unwrap(),
        Removal::Removed
    );
    assert_eq!(lasting_keys(&server, &windowed), Vec::<String>::new());

    let removal = store.remove_event(&old).await.unwrap();

    assert_eq!(removal, Removal::Removed);
    assert_eq!(lasting_keys(&server, &old), Vec::<String>::new());
    assert_eq!(server.cli(&["SISMEMBER", EVENTS_KEY, "old"]).trim(), "0");
    assert_eq!(server.cli(&["HEXISTS", ACTIVITY_KEY, "old"]).trim(), "0");
    assert_eq!(lasting_keys(&server, &kept), kept_keys);
    let stats = store.stats(&kept).await.unwrap().unwrap();
    assert_eq!(
        (stats.queue_length, stats.sold.get(&tshirt())),
        (200, Some(&2))
    );

    // A removal cut short after its first step: the mark, and keys not yet deleted.
    let prefix = event_key_prefix(&old);
    server.cli(&["SET", &format!("{prefix}rm"), "1"]);
    server.cli(&["HSET", &format!("{prefix}tk:00ff"), "u:someone", "w"]);
    server.cli(&["ZADD", &format!("{prefix}q"), "1", "u:someone"]);
    let again = sale("old", START, 10, 10, 5);
    assert!(!store.create_event(&again).await.unwrap());
    assert_eq!(store.event(&old).await.unwrap(), None);

    let finished = store.remove_event(&old).await.unwrap();

    assert_eq!(finished, Removal::Finished);
    assert_eq!(lasting_keys(&server, &old), Vec::<String>::new());
    assert!(store.create_event(&again).await.unwrap());
}

#[tokio::test]
async fn a_removal_under_a_crowds_reads_and_touches_leaves_no_key_behind() {
    let server = RedisServer::start();
    let clock = ManualClock::new(START + 1);
    let store = store_at(&server.url(), &clock).await;
    let event = EventId::parse("crowded").unwrap();
    let mut config = sale("crowded", START, 10, 10, 5);
    store.create_event(&config).await.unwrap();
    let crowd = 3_000;
    support::crowd::join_crowd(&store, &event, 0, crowd).await;
    config.operator_status = waitroom::domain::OperatorStatus::Closed;
    store.update_event(&config).await.unwrap();

    // Every page of the crowd keeps polling and reporting until the event is gone, and once
    // more after.
    let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pages: Vec<_> = (0..crowd)
        .step_by(100)
        .map(|from| {
            let (store, event, gone) = (store.clone(), event.clone(), gone.clone());
            tokio::spawn(async move {
                let shoppers: Vec<Identity> =
                    (from..from + 100).map(support::crowd::shopper).collect();
                loop {
                    let last = gone.load(std::sync::atomic::Ordering::SeqCst);
                    store.touch(&event, &shoppers).await.unwrap();
                    for who in shoppers.iter().step_by(10) {
                        store.ticket(&event, who, true).await.unwrap();
                    }
                    if last {
                        break;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let removal = store.remove_event(&event).await.unwrap();
    gone.store(true, std::sync::atomic::Ordering::SeqCst);
    for page in pages {
        page.await.unwrap();
    }

    assert_eq!(removal, Removal::Removed);
    assert_eq!(lasting_keys(&server, &event), Vec::<String>::new());
    assert_eq!(store.event(&event).await.unwrap(), None);
    let who = support::crowd::shopper(7);
    assert_eq!(store.ticket(&event, &who, true).await.unwrap(), None);
}

#[tokio::test]
async fn every_key_of_an_event_carries_the_event_hash_tag() {
    let server = RedisServer::start();
    let clock = ManualClock::new(START + 1);
    let store = store_at(&server.url(), &clock).await;
    for id in ["tag-one", "tag-two"] {
        store
            .create_event(&sale(id, START, 10, 10, 5))
            .await
            .unwrap();
        let event = EventId::parse(id).unwrap();
        run_a_small_sale(&store, &event, &shopper("buyer"), &shopper("leaver")).await;
    }

    let keys = server.cli(&["--raw", "KEYS", "*"]);

    let keys: Vec<&str> = keys.lines().filter(|key| !key.is_empty()).collect();
    assert!(keys.len() > 10, "{keys:?}");
    assert_eq!(keys.iter().filter(|key| key.contains(":hb:")).count(), 2);
    for key in keys {
        let tagged = ["tag-one", "tag-two"]
            .iter()
            .any(|id| key.starts_with(&event_key_prefix(&EventId::parse(id).unwrap())));
        // The two keys of every event: their list, and their activity numbers.
        assert!(
            tagged || key == EVENTS_KEY || key == ACTIVITY_KEY,
            "{key} is outside its event's slot"
        );
        // A heartbeat expires once no holder could keep anyone in place by it (housekeeping).
        if key.contains(":hb:") {
            let ttl: i64 = server.cli(&["PTTL", key]).trim().parse().unwrap();
            assert!((3_500_000..=3_600_000).contains(&ttl), "{key}: {ttl}");
        }
    }
}

#[tokio::test]
async fn an_event_whose_listing_a_crash_lost_is_listed_again_by_a_retried_create() {
    let server = RedisServer::start();
    let clock = ManualClock::new(START + 1);
    let store = store_at(&server.url(), &clock).await;
    let config = sale("listed", START, 10, 10, 5);
    assert!(store.create_event(&config).await.unwrap());
    // What a crash between the creating script and the listing leaves behind.
    server.cli(&["SREM", EVENTS_KEY, "listed"]);
    assert_eq!(store.event_ids().await.unwrap(), Vec::<EventId>::new());

    assert!(!store.create_event(&config).await.unwrap(), "it exists");
    assert_eq!(store.event_ids().await.unwrap(), vec![config.id.clone()]);
}

#[tokio::test]
async fn a_waiting_shopper_read_back_keeps_its_ticket_and_times() {
    let server = RedisServer::start();
    let clock = ManualClock::new(START + 1);
    let store = store_at(&server.url(), &clock).await;
    let event = EventId::parse("records").unwrap();
    store
        .create_event(&sale("records", START, 1, 1, 5))
        .await
        .unwrap();
    let ticket_id = TicketId::random();
    store
        .join(&event, &shopper("ann"), ticket_id)
        .await
        .unwrap();
    clock.advance_ms(1_500);

    let ticket = store
        .ticket(&event, &shopper("ann"), true)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(ticket.ticket_id, ticket_id);
    assert_eq!(ticket.status, TicketStatus::Waiting);
    assert_eq!(ticket.joined_at, START + 1);
    assert_eq!((ticket.position, ticket.score), (Some(1), Some(1)));
}

#[tokio::test]
async fn a_large_draw_runs_in_script_calls_of_250_entrants_at_most() {
    let server = RedisServer::start();
    let clock = ManualClock::new(START - 1_000);
    let store = store_at(&server.url(), &clock).await;
    let config = sale("crowd", START, 1, 1, 5);
    let event = config.id.clone();
    store.create_event(&config).await.unwrap();
    let entrants = 3_500;
    let mut tickets = Vec::new();
    for n in 0..entrants {
        let ticket_id = TicketId::random();
        store
            .join(&event, &shopper(&format!("early-{n}")), ticket_id)
            .await
            .unwrap();
        tickets.push(ticket_id);
    }
    clock.set(START);
    let before = server.script_calls();

    let drawn = store.draw(&event).await.unwrap();

    let calls = server.script_calls() - before;
    assert_eq!(drawn, DrawOutcome::Drawn { entrants });
    // The closing call, two pages of identities (2,000 and 1,500), then fourteen reads of
    // ticket ids and fourteen placements of 250 (nothing was prepared); the first call of each
    // of the four scripts may be answered NOSCRIPT and made again.
    assert!(
        (1 + 2 + 14 + 14..=1 + 2 + 14 + 14 + 4).contains(&calls),
        "the draw is split into bounded script calls, not {calls}"
    );
    let expected = draw_order(&config.seed, tickets.iter().copied());
    let DrawPageOutcome::Page(page) = store
        .draw_page(
            &event,
            DrawPageRequest {
                after: None,
                limit: 1_000,
            },
        )
        .await
        .unwrap()
    else {
        panic!("no page");
    };
    assert_eq!(
        page.commitment.as_deref(),
        Some(expected.commitment.as_str())
    );
    assert_eq!(page.entrants[..], expected.order[..1_000]);
    let last = store
        .ticket(&event, &shopper("early-0"), false)
        .await
        .unwrap()
        .unwrap();
    let place = expected
        .order
        .iter()
        .position(|t| *t == tickets[0])
        .unwrap();
    assert_eq!(last.position, Some(place as u64 + 1));
}

#[tokio::test]
async fn a_sale_runs_on_a_redis_cluster_with_events_on_different_nodes() {
    let cluster = RedisCluster::start();
    let clock = ManualClock::new(START + 1);
    let store = store_at(&cluster.urls(), &clock).await;
    let ids = ["north", "south", "east", "west"];
    for id in ids {
        assert!(
            store
                .create_event(&sale(id, START, 10, 10, 5))
                .await
                .unwrap()
        );
        let event = EventId::parse(id).unwrap();
        run_a_small_sale(&store, &event, &shopper("buyer"), &shopper("leaver")).await;
    }

    let listed = store.event_ids().await.unwrap();

    let mut expected: Vec<EventId> = ids.iter().map(|id| EventId::parse(id).unwrap()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    let holders = cluster
        .nodes
        .iter()
        .filter(|node| node.cli(&["DBSIZE"]).trim() != "0")
        .count();
    assert!(holders >= 2, "all events landed on one node");
}

/// A private Redis with one open sale `id` (an admission lives 600 s) in which `ann` was just
/// admitted.
async fn ann_admitted(id: &str) -> (RedisServer, ManualClock, RedisStore, EventId) {
    let server = RedisServer::start();
    let clock = ManualClock::new(START + 1);
    let store = store_at(&server.url(), &clock).await;
    let event = EventId::parse(id).unwrap();
    store.create_event(&sale(id, START, 1, 1, 5)).await.unwrap();
    store
        .join(&event, &shopper("ann"), TicketId::random())
        .await
        .unwrap();
    store.drain(&event).await.unwrap();
    (server, clock, store, event)
}

#[tokio::test]
async fn an_event_stored_without_the_next_expiry_marker_still_settles_what_ran_out() {
    let (server, clock, store, event) = ann_admitted("older").await;
    // State written before the marker existed has none: it must mean "unknown", not "nothing".
    let state = format!("{}st", event_key_prefix(&event));
    server.cli(&["HDEL", &state, "nx"]);
    clock.advance_ms(600_000);

    store
        .join(&event, &shopper("bob"), TicketId::random())
        .await
        .unwrap();

    let stats = store.stats(&event).await.unwrap().unwrap();
    assert_eq!((stats.admissions_expired, stats.active), (1, 0));
}

#[tokio::test]
async fn an_admission_settles_when_it_runs_out_and_not_before() {
    let (server, clock, store, event) = ann_admitted("marker").await;
    let expiry = format!("{}adm", event_key_prefix(&event));

    clock.advance_ms(599_999);
    store
        .join(&event, &shopper("bob"), TicketId::random())
        .await
        .unwrap();
    let before = server.cli(&["ZCARD", &expiry]);
    clock.advance_ms(1);
    store
        .join(&event, &shopper("cy"), TicketId::random())
        .await
        .unwrap();
    let after = server.cli(&["ZCARD", &expiry]);

    assert_eq!((before.trim(), after.trim()), ("1", "0"));
}

#[tokio::test]
async fn an_event_stored_without_its_totals_still_takes_stock_and_follows_changes() {
    let (server, _clock, store, event) = ann_admitted("legacy").await;
    // Events stored before the totals and the settings' fields were kept have neither.
    let prefix = event_key_prefix(&event);
    server.cli(&["DEL", &format!("{prefix}inv"), &format!("{prefix}cfgf")]);
    let ann = shopper("ann");
    let ticket = store.ticket(&event, &ann, false).await.unwrap().unwrap();

    let request = ReserveRequest {
        identity: ann.clone(),
        ticket_id: ticket.ticket_id,
        order_id: OrderId::random(),
        idempotency_key: None,
        items: vec![OrderItem {
            sku: tshirt(),
            quantity: 2,
        }],
    };
    let reserved = store.reserve(&event, &request).await.unwrap();
    let after_reserve = store.stats(&event).await.unwrap().unwrap().stock_left;
    let mut config = store.event(&event).await.unwrap().unwrap();
    config.inventory.insert(tshirt(), 4);
    store.update_event(&config).await.unwrap();
    let after_change = store.stats(&event).await.unwrap().unwrap().stock_left;

    assert!(
        matches!(reserved, ReserveOutcome::Reserved(_)),
        "{reserved:?}"
    );
    assert_eq!(after_reserve[&tshirt()], 5 - 2);
    assert_eq!(after_change[&tshirt()], 4 - 2);
    assert_eq!(store.event(&event).await.unwrap().unwrap(), config);
}

#[tokio::test]
async fn a_drain_not_given_the_buckets_of_the_shoppers_it_pops_asks_for_them_and_admits_all_it_may()
{
    let server = RedisServer::start();
    let clock = ManualClock::new(START + 1);
    let joiner = store_at(&server.url(), &clock).await;
    // A fresh instance: it has never seen the head of the queue.
    let drainer = store_at(&server.url(), &clock).await;
    let event = EventId::parse("heads").unwrap();
    joiner
        .create_event(&sale("heads", START, 1, 300, 1_000))
        .await
        .unwrap();
    for n in 0..400 {
        joiner
            .join(&event, &shopper(&format!("s{n:03}")), TicketId::random())
            .await
            .unwrap();
    }
    let names = |drained: &[waitroom::domain::Admitted]| -> Vec<String> {
        drained.iter().map(|a| a.identity.to_string()).collect()
    };

    let before = server.script_calls();
    let first = drainer.drain(&event).await.unwrap().unwrap();
    let first_calls = server.script_calls() - before;
    clock.advance_ms(10_000);
    let before = server.script_calls();
    let second = drainer.drain(&event).await.unwrap().unwrap();
    let second_calls = server.script_calls() - before;

    // The whole burst, in queue order, though the first call could pop nobody: it named the
    // shoppers at the head and the next call had their buckets.
    let expected: Vec<String> = (0..300).map(|n| format!("u:s{n:03}")).collect();
    assert_eq!(names(&first.admitted), expected);
    assert_eq!(first.queue_length, 100);
    // Two calls (a third if the server had to load the script).
    assert!((2..=3).contains(&first_calls), "{first_calls} calls");
    // The first drain's reply named the next shoppers: one call.
    let expected: Vec<String> = (300..310).map(|n| format!("u:s{n:03}")).collect();
    assert_eq!(names(&second.admitted), expected);
    assert_eq!(second_calls, 1);
}

/// A bump of the activity number that fails (Redis went away between a join and its bump) is
/// sent again until Redis is back: the other instances' resting tickers learn of the join then,
/// not at the end of their rest.
#[tokio::test]
async fn an_activity_bump_lost_to_an_outage_lands_when_redis_is_back() {
    let mut server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let store = RedisStore::connect(&server.url(), None).await.unwrap();
    let event = EventId::parse("bumped").unwrap();
    let open_since = waitroom::clock::SystemClock.now_ms() - 1_000;
    store
        .create_event(&sale("bumped", open_since, 1, 1, 5))
        .await
        .unwrap();
    // The creation's bump is out and its spell over.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let created = store.activity().await.unwrap()[&event];

    // The first join's bump goes out at once; the second's is due at the spell's end, a quarter
    // of a second on, when Redis is already gone.
    for name in ["first", "second"] {
        let joined = store.join(&event, &shopper(name), TicketId::random()).await;
        assert!(matches!(
            joined,
            Ok(JoinOutcome::Joined { created: true, .. })
        ));
    }
    server.stop();
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.restart();

    let deadline = Instant::now() + Duration::from_secs(15);
    let mut number = 0;
    while Instant::now() < deadline {
        if let Ok(numbers) = store.activity().await {
            number = numbers.get(&event).copied().unwrap_or(0);
            if number >= created + 2 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        number,
        created + 2,
        "both joins' bumps counted once Redis is back (the second was due while it was away)"
    );
}
