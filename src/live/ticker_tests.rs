//! The tickers and the registry, driven by tokio's paused clock over a scripted store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use super::scripted_store::ScriptedStore;
use super::*;
use crate::domain::{EventId, EventStatus, Identity, OperatorStatus};

fn event(id: &str) -> EventId {
    EventId::parse(id).unwrap()
}

fn registry_over(store: &Arc<ScriptedStore>) -> Arc<OutflowRegistry> {
    OutflowRegistry::new(store.clone(), OutflowSettings::default())
}

/// A line of a thousand watched by one subscriber, one shopper admitted per drain of 150 ms (6.7
/// a second against the 10 configured): the store, its registry, the subscription and the
/// first outlook told.
async fn a_line_moving_one_per_drain() -> (
    Arc<ScriptedStore>,
    Arc<OutflowRegistry>,
    Subscription,
    crate::queue::chance::SaleOutlook,
) {
    let store = Arc::new(ScriptedStore::with_event("sale"));
    store.edit(|s| {
        s.admit_per_drain = 1;
        s.queue_length = 1_000;
    });
    let registry = registry_over(&store);
    let mut sub = registry.subscribe(&event("sale")).await.unwrap().unwrap();
    sub.snapshots.changed().await.unwrap();
    let first = sub.snapshots.borrow_and_update().outlook.clone().unwrap();
    (store, registry, sub, first)
}

/// Lets spawned tasks run up to `by` of paused time.
async fn pass(by: Duration) {
    tokio::time::sleep(by).await;
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_sees_the_serving_number_move_with_each_drain() {
    let store = Arc::new(ScriptedStore::with_event("sale"));
    store.edit(|s| {
        s.admit_per_drain = 2;
        s.queue_length = 100;
    });
    let registry = registry_over(&store);

    let mut sub = registry.subscribe(&event("sale")).await.unwrap().unwrap();
    sub.snapshots.changed().await.unwrap();
    let first = sub.snapshots.borrow_and_update().serving;
    pass(Duration::from_millis(1_000)).await;

    let later = sub.snapshots.borrow_and_update().clone();
    assert_eq!(first, 2);
    assert!(later.serving >= 12, "serving moved to {}", later.serving);
    assert_eq!(later.status, Some(EventStatus::Open));
    assert_eq!(later.outflow_per_second, 10.0);
    // The last score comes with every drain, not only with the counters' refresh every 2 s
    // (the scripted queue stays 100 long above the serving number).
    assert_eq!(later.last_score, Some(later.serving + 100));
}

#[tokio::test(start_paused = true)]
async fn the_chance_of_success_counts_departures_over_the_pace_the_line_really_moves_at() {
    // Configured at 10 a second; one admitted per drain of 150 ms is 6.7 a second.
    let (_store, _registry, mut sub, first) = a_line_moving_one_per_drain().await;
    assert_eq!(first.outflow_per_second, 10.0, "nothing measured yet");

    pass(Duration::from_millis(8_000)).await;

    let later = sub.snapshots.borrow_and_update().clone();
    let pace = later.outlook.unwrap().outflow_per_second;
    assert!(
        (pace - 1.0 / 0.15).abs() < 0.2,
        "the line moves at {pace} a second"
    );
    assert_eq!(later.outflow_per_second, 10.0);
}

#[tokio::test(start_paused = true)]
async fn the_chance_of_success_takes_the_times_to_the_checkout_measured_here() {
    use crate::queue::checkout_lag::{Channel, PurchaseLags};
    let (_store, registry, mut sub, first) = a_line_moving_one_per_drain().await;
    let priors = PurchaseLags::default().figures(std::time::Instant::now(), Default::default());
    assert_eq!(first.lags, Some(priors), "nothing measured yet");

    // For 12 s, socket shoppers reach the checkout here 1 s after their admission and polling
    // ones 3 s or 9 s after; another event's are not counted.
    let mut measured = PurchaseLags::default();
    let start = std::time::Instant::now();
    for tenth in 0..120 {
        let (channel, lag_ms) = match tenth % 3 {
            0 => (Channel::Socket, 1_000),
            1 => (Channel::Polling, 3_000),
            _ => (Channel::Polling, 9_000),
        };
        registry.reached_checkout(&event("sale"), channel, lag_ms);
        measured.record(start, channel, lag_ms);
        registry.reached_checkout(&event("other"), Channel::Polling, 60_000);
        pass(Duration::from_millis(100)).await;
    }
    pass(Duration::from_millis(3_000)).await;

    let later = sub.snapshots.borrow_and_update().outlook.clone().unwrap();
    // No page polls and none is on a socket here.
    let expected = measured.figures(start + Duration::from_secs(60), Default::default());
    assert_eq!(later.lags, Some(expected));
    assert!(
        expected.polling.mean > expected.crowd.mean + 1.0,
        "{expected:?}"
    );
    // With 60 units left for a line of a thousand, the shopper at the sixtieth place: on a
    // socket, quicker than the crowd, they are told a better chance than if they polled.
    let sale = crate::queue::chance::SaleOutlook {
        units_left: 60,
        skus: Arc::new([]),
        unused_admissions: 0,
        waiting: 1_000,
        ..later
    };
    let socket = sale.chance_over(60, Some(Channel::Socket));
    let polling = sale.chance_over(60, Some(Channel::Polling));
    assert!(socket > polling, "{socket} against {polling}");
}

#[tokio::test(start_paused = true)]
async fn the_ticker_drains_every_150_milliseconds_while_someone_watches() {
    let store = Arc::new(ScriptedStore::with_event("sale"));
    let registry = registry_over(&store);
    let _sub = registry.subscribe(&event("sale")).await.unwrap().unwrap();

    pass(Duration::from_millis(3_000 - 1)).await;

    assert_eq!(store.edit(|s| s.drains), 20);
}

#[tokio::test(start_paused = true)]
async fn a_failing_store_is_retried_at_the_next_tick() {
    let store = Arc::new(ScriptedStore::with_event("sale"));
    store.edit(|s| {
        s.failing_drains = 5;
        s.admit_per_drain = 1;
    });
    let registry = registry_over(&store);
    let mut sub = registry.subscribe(&event("sale")).await.unwrap().unwrap();

    pass(Duration::from_millis(1_000)).await;

    assert!(sub.snapshots.has_changed().unwrap());
    assert!(sub.snapshots.borrow_and_update().serving >= 1);
    assert_eq!(registry.running_events(), vec![event("sale")]);
}

#[tokio::test(start_paused = true)]
async fn a_closed_event_publishes_its_status_and_stops_its_ticker() {
    let store = Arc::new(ScriptedStore::with_event("sale"));
    let registry = registry_over(&store);
    let mut sub = registry.subscribe(&event("sale")).await.unwrap().unwrap();
    pass(Duration::from_millis(300)).await;

    store.add_event("sale", OperatorStatus::Closed);
    pass(Duration::from_millis(300)).await;

    assert_eq!(
        sub.snapshots.borrow_and_update().status,
        Some(EventStatus::Closed)
    );
    assert!(sub.snapshots.changed().await.is_err(), "the feed is closed");
    assert!(registry.running_events().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_unknown_event_has_no_subscription() {
    let store = Arc::new(ScriptedStore::with_event("sale"));
    let registry = registry_over(&store);

    let sub = registry.subscribe(&event("nothing-here")).await.unwrap();

    assert!(sub.is_none());
    assert!(registry.running_events().is_empty());
}

fn opened(reports: &[crate::domain::PresenceReport]) -> Vec<Identity> {
    let mut all: Vec<Identity> = reports.iter().flat_map(|r| r.opened.clone()).collect();
    all.sort();
    all
}

fn closed(reports: &[crate::domain::PresenceReport]) -> Vec<Identity> {
    reports.iter().flat_map(|r| r.closed.clone()).collect()
}

#[tokio::test(start_paused = true)]
async fn an_instance_beats_once_per_interval_and_tells_each_opened_page_once() {
    let store = Arc::new(ScriptedStore::with_event("sale"));
    let registry = registry_over(&store);
    let sub = registry.subscribe(&event("sale")).await.unwrap().unwrap();
    let _alice = sub.enter(Identity::user("alice").unwrap());
    let _bob = sub.enter(Identity::user("bob").unwrap());

    // The grace period is 20 s: a heartbeat every 5 s (at the first tick due), the first at once.
    pass(Duration::from_millis(10_300)).await;

    let reports = store.edit(|s| s.reports.clone());
    assert_eq!(reports.len(), 3, "{reports:?}");
    assert_eq!(
        opened(&reports),
        vec![
            Identity::user("alice").unwrap(),
            Identity::user("bob").unwrap()
        ]
    );
    assert!(
        reports[1..]
            .iter()
            .all(|r| r.opened.is_empty() && r.closed.is_empty())
    );
    assert!(reports.iter().all(|r| r.instance == *registry.instance()));
}

#[tokio::test(start_paused = true)]
async fn a_page_opened_later_is_told_within_half_a_second() {
    let store = Arc::new(ScriptedStore::with_event("sale"));
    let registry = registry_over(&store);
    let sub = registry.subscribe(&event("sale")).await.unwrap().unwrap();
    pass(Duration::from_millis(1_000)).await;

    let _alice = sub.enter(Identity::user("alice").unwrap());
    pass(Duration::from_millis(700)).await;

    // No page was open before: nobody to keep, so no heartbeat until the opening.
    let reports = store.edit(|s| s.reports.clone());
    assert_eq!(reports.len(), 1, "the opening only: {reports:?}");
    assert_eq!(opened(&reports), vec![Identity::user("alice").unwrap()]);
}

#[tokio::test(start_paused = true)]
async fn a_closed_page_is_told_once_with_the_next_heartbeat() {
    let store = Arc::new(ScriptedStore::with_event("sale"));
    let registry = registry_over(&store);
    let sub = registry.subscribe(&event("sale")).await.unwrap().unwrap();
    let alice = sub.enter(Identity::user("alice").unwrap());
    pass(Duration::from_millis(1_000)).await;

    drop(alice);
    pass(Duration::from_millis(1_000)).await;
    let soon = store.edit(|s| s.reports.clone());
    // The grace period is 20 s: the next heartbeat is 5 s after the first.
    pass(Duration::from_millis(10_000)).await;
    let later = store.edit(|s| s.reports.clone());

    assert_eq!((soon.len(), closed(&soon)), (1, vec![]));
    assert_eq!(closed(&later), vec![Identity::user("alice").unwrap()]);
}

#[tokio::test(start_paused = true)]
async fn a_report_the_store_missed_is_told_again_at_the_next_tick() {
    let store = Arc::new(ScriptedStore::with_event("sale"));
    store.edit(|s| s.failing_reports = 2);
    let registry = registry_over(&store);
    let sub = registry.subscribe(&event("sale")).await.unwrap().unwrap();
    let _alice = sub.enter(Identity::user("alice").unwrap());

    pass(Duration::from_millis(1_000)).await;

    let reports = store.edit(|s| s.reports.clone());
    assert_eq!(opened(&reports), vec![Identity::user("alice").unwrap()]);
}

#[tokio::test(start_paused = true)]
async fn discovery_starts_tickers_for_every_event_that_is_not_closed() {
    let store = Arc::new(ScriptedStore::with_event("open-sale"));
    store.add_event("old-sale", OperatorStatus::Closed);
    store.add_event("paused-sale", OperatorStatus::Paused);
    let registry = registry_over(&store);

    tokio::spawn(registry.clone().run());
    pass(Duration::from_millis(100)).await;

    assert_eq!(
        registry.running_events(),
        vec![event("open-sale"), event("paused-sale")]
    );
}

#[tokio::test(start_paused = true)]
async fn an_event_created_later_is_found_by_the_next_discovery() {
    let store = Arc::new(ScriptedStore::with_event("first"));
    let registry = registry_over(&store);
    tokio::spawn(registry.clone().run());
    pass(Duration::from_millis(100)).await;

    store.add_event("second", OperatorStatus::Auto);
    pass(Duration::from_secs(5)).await;

    assert_eq!(
        registry.running_events(),
        vec![event("first"), event("second")]
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_every_ticker_and_tells_the_sockets() {
    let store = Arc::new(ScriptedStore::with_event("sale"));
    let registry = registry_over(&store);
    let mut sub = registry.subscribe(&event("sale")).await.unwrap().unwrap();
    pass(Duration::from_millis(300)).await;

    registry.shutdown();
    pass(Duration::from_millis(300)).await;
    let drains = store.edit(|s| s.drains);
    pass(Duration::from_millis(1_000)).await;

    assert!(*sub.stopping.borrow_and_update());
    assert_eq!(store.edit(|s| s.drains), drains, "no drain after shutdown");
    assert!(registry.running_events().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_event_nobody_waits_in_watches_or_is_admitted_to_rests_until_stirred() {
    let store = Arc::new(ScriptedStore::with_event("quiet"));
    let registry = registry_over(&store);
    registry.discover().await.unwrap();

    pass(Duration::from_millis(5_000)).await;
    assert_eq!(store.edit(|s| s.drains), 1, "one drain, then a rest");
    assert!(
        store.edit(|s| s.reports.is_empty()),
        "no page open here: no heartbeat"
    );

    registry.stir(&event("quiet"));
    pass(Duration::from_millis(10)).await;
    assert_eq!(store.edit(|s| s.drains), 2, "a stir wakes it at once");

    // The rest is a safety net: a look one rest (ten minutes) after the last drain.
    pass(OutflowSettings::default().rest - Duration::from_millis(20)).await;
    assert_eq!(store.edit(|s| s.drains), 2);
    pass(Duration::from_millis(20)).await;
    assert_eq!(store.edit(|s| s.drains), 3);
}

/// Discovery reads an event an operator closed once, then again only when its activity number
/// moves (reopening it is a change) or the closed event's keep has passed: old sales cost nothing.
#[tokio::test(start_paused = true)]
async fn discovery_reads_a_closed_event_again_only_when_its_number_moves_or_after_long() {
    let store = Arc::new(ScriptedStore::default());
    store.add_event("old", OperatorStatus::Closed);
    store.edit(|s| s.activity.insert(event("old"), 1));
    let registry = registry_over(&store);
    for _ in 0..10 {
        assert_eq!(registry.discover().await.unwrap(), 0);
    }
    assert_eq!(store.edit(|s| s.event_reads), 1, "read once");

    let keep = Duration::from_millis(crate::store::known_settings::CLOSED_KEEP_MS.unsigned_abs());
    pass(keep).await;
    registry.discover().await.unwrap();
    assert_eq!(
        store.edit(|s| s.event_reads),
        2,
        "read again after the keep"
    );

    store.edit(|s| {
        s.events.insert(
            event("old"),
            super::scripted_store::event_config("old", OperatorStatus::Auto),
        );
        s.activity.insert(event("old"), 2);
    });
    assert_eq!(registry.discover().await.unwrap(), 1, "reopened: started");
    assert_eq!(registry.running_events(), [event("old")]);
}

/// A join the ticker was never told of (its instance stopped before bumping the activity
/// number): the first ticket read of a waiting page here wakes the resting ticker at once, once
/// it has rested long enough that a bump would have told it. A read just after the rest began
/// leaves it be: a join's own bump is on its way.
#[tokio::test(start_paused = true)]
async fn a_waiting_pages_ticket_read_wakes_a_resting_ticker() {
    let store = Arc::new(ScriptedStore::with_event("quiet"));
    let registry = registry_over(&store);
    registry.discover().await.unwrap();
    pass(super::ticker::UNTOLD_AFTER - Duration::from_millis(20)).await;
    assert_eq!(store.edit(|s| s.drains), 1, "at rest");

    store.edit(|s| {
        s.queue_length = 1;
        s.admit_per_drain = 1;
    });
    registry.ticket_read(&event("quiet"), &Identity::user("untold").unwrap());
    pass(Duration::from_millis(10)).await;
    assert_eq!(
        store.edit(|s| s.drains),
        1,
        "a read just after the rest began"
    );
    pass(Duration::from_secs(30)).await;
    assert_eq!(store.edit(|s| s.drains), 1, "nothing told: still at rest");

    registry.ticket_read(&event("quiet"), &Identity::user("untold").unwrap());
    pass(Duration::from_millis(10)).await;
    assert_eq!(store.edit(|s| s.drains), 2, "the read woke it");
    pass(Duration::from_millis(500)).await;
    assert!(
        store.edit(|s| s.serving) >= 1,
        "and the shopper was admitted"
    );
}

/// A join whose activity bump never arrived (here the store tells no activity at all) while the
/// store was away for longer than the rest is still drained: the rest's safety look finds the
/// store failing, the ticker keeps trying on its idle tick, and drains once the store answers.
#[tokio::test(start_paused = true)]
async fn a_join_no_bump_told_during_an_outage_longer_than_the_rest_is_drained_when_the_store_is_back()
 {
    let store = Arc::new(ScriptedStore::with_event("quiet"));
    let registry = registry_over(&store);
    registry.discover().await.unwrap();
    pass(Duration::from_millis(5_000)).await;
    assert_eq!(store.edit(|s| s.drains), 1, "at rest");

    // The store goes away; meanwhile shoppers join through another instance.
    store.edit(|s| {
        s.failing_drains = u32::MAX;
        s.queue_length = 3;
        s.admit_per_drain = 3;
    });
    let rest = OutflowSettings::default().rest;
    pass(rest + rest / 2).await;
    let tries = store.edit(|s| s.drains);
    assert!(
        tries > 10,
        "the look at the rest's end failed and the ticker kept trying: {tries} drains"
    );
    assert_eq!(store.edit(|s| s.serving), 0, "nothing drained while away");

    store.edit(|s| s.failing_drains = 0);
    pass(OutflowSettings::default().idle_tick + Duration::from_millis(50)).await;
    assert!(
        store.edit(|s| s.serving) >= 3,
        "drained within an idle tick of the store's return"
    );
}

#[tokio::test(start_paused = true)]
async fn a_drain_in_flight_when_an_operator_pauses_does_not_publish_the_status_from_before() {
    let store = Arc::new(ScriptedStore::with_event("sale"));
    store.edit(|s| s.queue_length = 10);
    let registry = registry_over(&store);
    let mut sub = registry.subscribe(&event("sale")).await.unwrap().unwrap();
    pass(Duration::from_millis(400)).await;
    assert_eq!(
        sub.snapshots.borrow_and_update().status,
        Some(EventStatus::Open)
    );

    // The next drain reads the event, then takes 100 ms to answer; the pause lands meanwhile.
    store.edit(|s| s.drain_time = Duration::from_millis(100));
    let drains = store.edit(|s| s.drains);
    while store.edit(|s| s.drains) == drains {
        pass(Duration::from_millis(1)).await;
    }
    store.edit(|s| s.status = Some(EventStatus::Paused));
    registry.changed(&event("sale"), Some(EventStatus::Paused));
    assert_eq!(
        sub.snapshots.borrow_and_update().status,
        Some(EventStatus::Paused)
    );

    // Every snapshot published from here on says paused: the drain that read "open" included.
    let seen_from = store.edit(|s| s.drains);
    while store.edit(|s| s.drains) < seen_from + 3 {
        tokio::select! {
            changed = sub.snapshots.changed() => {
                changed.unwrap();
                assert_eq!(
                    sub.snapshots.borrow_and_update().status,
                    Some(EventStatus::Paused),
                    "a snapshot after the pause"
                );
            }
            () = pass(Duration::from_millis(10)) => {}
        }
    }
    assert_eq!(
        sub.snapshots.borrow_and_update().status,
        Some(EventStatus::Paused)
    );
}
