//! Closed events removed once their retention has run out, on both stores: not a millisecond
//! early, not while open or paused, never without a retention, told in the audit log once, and
//! removed after a Redis frozen past its timeout is back.

use std::sync::Arc;

use waitroom::admin::retention::RetentionSweeper;
use waitroom::clock::{Clock, ManualClock};
use waitroom::domain::{EventConfig, EventId, OperatorStatus, Retention, TicketId};
use waitroom::queue::ArrivalWindows;
use waitroom::store::audit::{AuditLog, MemoryAuditLog};
use waitroom::store::memory::MemoryStore;
use waitroom::store::redis::RedisStore;
use waitroom::store::{QueueStore, Removal};

use crate::support::redis_server::RedisServer;
use crate::support::sale_words::{T0, sale, shopper};

/// `id` closed at `closed_at`, to be removed `after` seconds later (`None`: kept).
fn closed(id: &str, after: Option<u32>, closed_at: i64) -> EventConfig {
    EventConfig {
        operator_status: OperatorStatus::Closed,
        retention: Retention {
            after_closed_seconds: after,
            closed_at: Some(closed_at),
        },
        ..sale(id)
    }
}

async fn ids(store: &dyn QueueStore) -> Vec<String> {
    let ids = store.event_ids().await.unwrap();
    ids.iter().map(|id| id.as_str().to_owned()).collect()
}

/// The sweep's promise on `store`, whose clock is `clock`.
async fn closed_events_go_when_their_retention_runs_out(
    store: Arc<dyn QueueStore>,
    clock: ManualClock,
) {
    let audit = Arc::new(MemoryAuditLog::default());
    let clock_handle: Arc<dyn Clock> = Arc::new(clock.clone());
    let sweeper = RetentionSweeper::new(store.clone(), audit.clone(), clock_handle);
    let day = 86_400;
    let ended_windowed = EventConfig {
        arrival_windows: ArrivalWindows::new(60, 0),
        ..closed("ended", Some(day), T0)
    };
    store.create_event(&ended_windowed).await.unwrap();
    store.create_event(&closed("kept", None, T0)).await.unwrap();
    let mut paused = closed("paused", Some(60), T0);
    paused.operator_status = OperatorStatus::Paused;
    store.create_event(&paused).await.unwrap();
    store.create_event(&sale("open")).await.unwrap();
    let ended = EventId::parse("ended").unwrap();
    store
        .join(&ended, &shopper(1), TicketId::random())
        .await
        .unwrap();

    clock.set(T0 + i64::from(day) * 1_000 - 1);
    let early = sweeper.sweep().await.unwrap();
    clock.set(T0 + i64::from(day) * 1_000);
    let due = sweeper.sweep().await.unwrap();
    clock.set(T0 + 400 * i64::from(day) * 1_000);
    let much_later = sweeper.sweep().await.unwrap();

    assert_eq!(early, Vec::<EventId>::new());
    assert_eq!(due, std::slice::from_ref(&ended));
    assert_eq!(much_later, Vec::<EventId>::new());
    assert_eq!(ids(store.as_ref()).await, ["kept", "open", "paused"]);
    assert_eq!(store.event(&ended).await.unwrap(), None);
    assert_eq!(store.remove_event(&ended).await.unwrap(), Removal::NoEvent);
    let entries = audit.audit_entries(10).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(
        (
            entry.action.as_str(),
            entry.target.as_str(),
            entry.actor.as_str()
        ),
        ("event.remove", "ended", "waitroom")
    );
    assert_eq!(entry.before["retention"]["after_closed_seconds"], day);
    assert!(entry.before.get("seed").is_none(), "the seed stays secret");
    let windows = &entry.before["arrival_windows"];
    assert!(windows["seed_hash"].is_string(), "{windows}");
    assert!(
        windows.get("seed").is_none(),
        "the windows' secret stays: {windows}"
    );
}

#[tokio::test]
async fn closed_events_go_when_their_retention_runs_out_on_the_memory_store() {
    let clock = ManualClock::new(T0);
    let store = Arc::new(MemoryStore::new(Arc::new(clock.clone())));
    closed_events_go_when_their_retention_runs_out(store, clock).await;
}

#[tokio::test]
async fn closed_events_go_when_their_retention_runs_out_on_redis() {
    let server = RedisServer::start();
    let clock = ManualClock::new(T0);
    let handle: Arc<dyn Clock> = Arc::new(clock.clone());
    let store = RedisStore::connect(&server.url(), Some(handle))
        .await
        .unwrap();
    closed_events_go_when_their_retention_runs_out(Arc::new(store), clock).await;
}

#[tokio::test]
async fn a_sweep_through_a_redis_frozen_past_its_timeout_removes_the_event_once_it_is_back() {
    let server = RedisServer::start();
    let clock = ManualClock::new(T0);
    let handle: Arc<dyn Clock> = Arc::new(clock.clone());
    let store: Arc<dyn QueueStore> = Arc::new(
        RedisStore::connect(&server.url(), Some(handle.clone()))
            .await
            .unwrap(),
    );
    let audit = Arc::new(MemoryAuditLog::default());
    let sweeper = RetentionSweeper::new(store.clone(), audit.clone(), handle);
    store
        .create_event(&closed("ended", Some(60), T0))
        .await
        .unwrap();
    clock.set(T0 + 60_000);

    // Frozen for about 3 s: the sweep's 2 s wait for a reply (the store's timeout), then a
    // second more.
    server.pause();
    let frozen = sweeper.sweep().await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    server.resume();
    let ended = EventId::parse("ended").unwrap();
    let kept_meanwhile = store.event(&ended).await.unwrap().is_some();
    let back = sweeper.sweep().await.unwrap();

    assert!(frozen.is_err(), "{frozen:?}");
    assert!(kept_meanwhile);
    assert_eq!(back, std::slice::from_ref(&ended));
    assert_eq!(store.event(&ended).await.unwrap(), None);
    assert_eq!(audit.audit_entries(10).await.unwrap().len(), 1);
}
