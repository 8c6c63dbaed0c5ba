//! What a Redis that dies keeps of a sale: a checkout acknowledged under `checkout_durability`
//! `replica` survives the primary's death on the promoted replica, `fsync` is refused on a Redis
//! that does not sync every write, and a killed Redis restarted from its append-only file has
//! every join and payment it acknowledged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use support::events::{sale, tshirt};
use support::redis_server::RedisServer;
use tokio::sync::Mutex;
use waitroom::clock::{Clock, ManualClock};
use waitroom::domain::{
    EventId, Identity, JoinOutcome, OrderId, OrderItem, OrderStatus, PayOutcome, ReserveOutcome,
    ReserveRequest, TicketId,
};
use waitroom::store::redis::RedisStore;
use waitroom::store::{CheckoutDurability, QueueStore, StoreError};

const START: i64 = 1_800_000_000_000;

async fn store(url: &str, clock: &ManualClock, durability: CheckoutDurability) -> RedisStore {
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    RedisStore::connect(url, Some(clock))
        .await
        .unwrap()
        .with_checkout_durability(url, durability)
        .await
        .unwrap()
}

/// A primary and a replica following it, linked.
fn primary_and_replica() -> (RedisServer, RedisServer) {
    let primary = RedisServer::start();
    let port = primary.port().to_string();
    let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &port]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !replica
        .cli(&["INFO", "replication"])
        .contains("master_link_status:up")
    {
        assert!(Instant::now() < deadline, "the replica never synced");
        std::thread::sleep(Duration::from_millis(20));
    }
    (primary, replica)
}

/// Joins `shopper` to `event`, admits them and returns the admission's ticket id.
async fn admitted(store: &RedisStore, event: &EventId, shopper: &Identity) -> TicketId {
    let Ok(JoinOutcome::Joined { ticket, .. }) =
        store.join(event, shopper, TicketId::random()).await
    else {
        panic!("{shopper:?} could not join");
    };
    let drained = store.drain(event).await.unwrap().unwrap();
    assert!(drained.admitted.iter().any(|a| a.identity == *shopper));
    ticket.ticket_id
}

fn one_unit(shopper: &Identity, ticket: TicketId) -> ReserveRequest {
    ReserveRequest {
        identity: shopper.clone(),
        ticket_id: ticket,
        order_id: OrderId::random(),
        idempotency_key: None,
        items: vec![OrderItem {
            sku: tshirt(),
            quantity: 1,
        }],
    }
}

#[tokio::test]
async fn a_payment_acknowledged_under_replica_durability_is_paid_on_the_promoted_replica() {
    let (mut primary, replica) = primary_and_replica();
    let clock = ManualClock::new(START + 1);
    let store = store(&primary.url(), &clock, CheckoutDurability::Replica).await;
    let config = sale("durable", START, 10, 10, 5);
    store.create_event(&config).await.unwrap();
    let shopper = Identity::user("buyer").unwrap();
    let ticket = admitted(&store, &config.id, &shopper).await;
    let request = one_unit(&shopper, ticket);
    let ReserveOutcome::Reserved(order) = store.reserve(&config.id, &request).await.unwrap() else {
        panic!("not reserved");
    };
    let PayOutcome::Paid(_) = store
        .pay(&config.id, &shopper, order.order_id)
        .await
        .unwrap()
    else {
        panic!("not paid");
    };

    // The primary dies at once; the replica is promoted and a new store reads from it.
    primary.stop();
    assert_eq!(replica.cli(&["REPLICAOF", "NO", "ONE"]).trim(), "OK");
    let promoted = self::store(&replica.url(), &clock, CheckoutDurability::Applied).await;
    let kept = promoted
        .order(&config.id, order.order_id)
        .await
        .unwrap()
        .expect("the order is on the replica");
    assert_eq!(kept.status, OrderStatus::Paid);
}

#[tokio::test]
async fn under_replica_durability_a_checkout_no_replica_copied_is_not_acknowledged() {
    let (primary, replica) = primary_and_replica();
    let clock = ManualClock::new(START + 1);
    let durable = store(&primary.url(), &clock, CheckoutDurability::Replica).await;
    let applied = store(&primary.url(), &clock, CheckoutDurability::Applied).await;
    let config = sale("stalled", START, 10, 10, 5);
    durable.create_event(&config).await.unwrap();
    let first = Identity::user("first").unwrap();
    let second = Identity::user("second").unwrap();
    let first_ticket = admitted(&durable, &config.id, &first).await;
    let second_ticket = admitted(&durable, &config.id, &second).await;

    // The replica stalls: the durable store waits for it (a second) and then refuses to
    // acknowledge; a store without the setting answers at once.
    replica.pause();
    let waited = Instant::now();
    let refused = durable
        .reserve(&config.id, &one_unit(&first, first_ticket))
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Unavailable(reason)) if reason.contains("replica")),
        "{refused:?}"
    );
    assert!(waited.elapsed() >= Duration::from_millis(900));
    let answered = applied
        .reserve(&config.id, &one_unit(&second, second_ticket))
        .await
        .unwrap();
    assert!(
        matches!(answered, ReserveOutcome::Reserved(_)),
        "{answered:?}"
    );

    // Once the replica is back, the shopper's retry finds the order the refused answer made.
    replica.resume();
    let retried = durable
        .reserve(&config.id, &one_unit(&first, first_ticket))
        .await
        .unwrap();
    assert!(
        matches!(retried, ReserveOutcome::Existing(_)),
        "{retried:?}"
    );
}

#[tokio::test]
async fn fsync_durability_needs_a_redis_that_syncs_every_write() {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(START));
    let everysec = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "everysec"]);
    let refused = RedisStore::connect(&everysec.url(), Some(clock.clone()))
        .await
        .unwrap()
        .with_checkout_durability(&everysec.url(), CheckoutDurability::Fsync)
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Unavailable(reason)) if reason.contains("appendfsync always")),
        "{:?}",
        refused.err()
    );
    let always = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let accepted = RedisStore::connect(&always.url(), Some(clock))
        .await
        .unwrap()
        .with_checkout_durability(&always.url(), CheckoutDurability::Fsync)
        .await;
    assert!(accepted.is_ok());
}

/// What one kill of Redis lost: acknowledged joins and payments the restarted Redis does not have.
#[derive(Debug)]
struct Lost {
    joins_acknowledged: usize,
    joins_lost: usize,
    payments_acknowledged: usize,
    payments_lost: usize,
}

/// Joins and payments run flat out for a second and a half; Redis is killed (SIGKILL) the moment
/// the last one is acknowledged and started again from its append-only file.
async fn kill_during_a_sale(fsync: &str) -> Lost {
    let mut server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", fsync]);
    let clock = ManualClock::new(START + 1);
    let store = Arc::new(store(&server.url(), &clock, CheckoutDurability::Applied).await);
    let config = sale("restart", START, 1_000, 1_000, 100_000);
    store.create_event(&config).await.unwrap();
    let event = config.id.clone();

    // Orders reserved well before the kill, to be paid in its last moments.
    let mut unpaid = Vec::new();
    for index in 0..400 {
        let shopper = Identity::user(&format!("payer-{index}")).unwrap();
        let ticket = admitted(&store, &event, &shopper).await;
        let request = one_unit(&shopper, ticket);
        let ReserveOutcome::Reserved(order) = store.reserve(&event, &request).await.unwrap() else {
            panic!("not reserved");
        };
        unpaid.push((shopper, order.order_id));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let joins = Arc::new(Mutex::new(Vec::new()));
    let payments = Arc::new(Mutex::new(Vec::new()));
    let unpaid = Arc::new(Mutex::new(unpaid));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..8 {
        let (store, event, joins, payments, unpaid, stop) = (
            store.clone(),
            event.clone(),
            joins.clone(),
            payments.clone(),
            unpaid.clone(),
            stop.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let shopper = Identity::user(&format!("joiner-{worker}-{n}")).unwrap();
                if let Ok(JoinOutcome::Joined { ticket, .. }) =
                    store.join(&event, &shopper, TicketId::random()).await
                {
                    joins.lock().await.push((shopper, ticket.ticket_id));
                }
                let next = unpaid.lock().await.pop();
                if let Some((payer, order)) = next
                    && let Ok(PayOutcome::Paid(_)) = store.pay(&event, &payer, order).await
                {
                    payments.lock().await.push(order);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    server.stop();
    server.restart();

    let after = self::store(&server.url(), &clock, CheckoutDurability::Applied).await;
    let joins = joins.lock().await.clone();
    let payments = payments.lock().await.clone();
    let mut joins_lost = 0;
    for (shopper, ticket) in &joins {
        let kept = after.ticket(&event, shopper, false).await.unwrap();
        if kept.is_none_or(|kept| kept.ticket_id != *ticket) {
            joins_lost += 1;
        }
    }
    let mut payments_lost = 0;
    for order in &payments {
        let kept = after.order(&event, *order).await.unwrap();
        if kept.is_none_or(|kept| kept.status != OrderStatus::Paid) {
            payments_lost += 1;
        }
    }
    Lost {
        joins_acknowledged: joins.len(),
        joins_lost,
        payments_acknowledged: payments.len(),
        payments_lost,
    }
}

/// A killed Redis process loses nothing it acknowledged with either setting: Redis writes the
/// append-only file before it answers, and a process kill leaves what the kernel holds. What
/// `everysec` risks is the last second or two of a machine crash or a power cut, which no test on
/// one machine can cause; `always` syncs each write to the disk before answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_redis_restarts_from_its_append_only_file_with_everything_acknowledged() {
    for fsync in ["always", "everysec"] {
        let lost = kill_during_a_sale(fsync).await;
        println!("appendfsync {fsync}: {lost:?}");
        assert!(lost.joins_acknowledged > 100, "{fsync}: {lost:?}");
        assert!(lost.payments_acknowledged > 0, "{fsync}: {lost:?}");
        assert_eq!(
            (lost.joins_lost, lost.payments_lost),
            (0, 0),
            "{fsync}: {lost:?}"
        );
    }
}
