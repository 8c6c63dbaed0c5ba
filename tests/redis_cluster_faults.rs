//! A sale on a real Redis Cluster (three primaries, a replica each) through what a cluster goes
//! through in production: the event's slot moved to another node, a primary failed over (by an
//! operator, and by a crash), and scripts gone from the servers. Shoppers join, drains admit,
//! admitted shoppers reserve and pay, all the while; every test then checks that no shopper
//! who was told they joined lost their place, nobody was admitted twice and no unit was sold
//! twice.
//!
//! A crashed primary is the one fault that may lose acknowledged writes: Redis replicates
//! asynchronously, so what the primary acknowledged in its last moment may never reach the
//! replica that takes over. What survives is still one consistent history (each script's writes
//! reach a replica whole or not at all), which is what that test asserts; what was lost, it
//! measures and prints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::events::{sale, tshirt};
use support::redis_cluster::RedisCluster;
use waitroom::domain::{
    EventId, Identity, JoinOutcome, OrderId, OrderItem, PayOutcome, ReserveOutcome, ReserveRequest,
    TicketId, TicketStatus,
};
use waitroom::store::QueueStore;
use waitroom::store::redis::{RedisStore, event_key_prefix};

/// Units on sale in most tests: fewer than the shoppers the drains admit, so the last ones
/// compete for the last units.
const UNITS: u64 = 60;

/// How long an admitted shopper takes before reserving, and a reservation before it is paid.
const THINKING: Duration = Duration::from_millis(150);

/// What the shoppers were told, gathered while the sale runs.
#[derive(Default)]
struct Told {
    /// Shoppers told they joined, with their ticket.
    joined: Mutex<HashMap<Identity, TicketId>>,
    /// Every admission a drain answered, in order (one shopper twice is a double admission).
    admitted: Mutex<Vec<Identity>>,
    /// Orders whose payment was acknowledged.
    paid: Mutex<Vec<(Identity, OrderId)>>,
    /// Calls that failed and were tried again.
    retries: AtomicU64,
    /// Answers no healthy store gives in this sale (the event missing, an admission refused).
    anomalies: Mutex<Vec<String>>,
    /// The longest a call took (ms), retries inside the client included.
    slowest_ms: AtomicU64,
}

impl Told {
    fn anomaly(&self, what: String) {
        self.anomalies.lock().unwrap().push(what);
    }

    fn timed(&self, began: Instant) {
        let ms = began.elapsed().as_millis() as u64;
        self.slowest_ms.fetch_max(ms, Ordering::Relaxed);
    }
}

/// A sale running on a cluster until [`Sale::stop`].
struct Sale {
    store: Arc<RedisStore>,
    event: EventId,
    told: Arc<Told>,
    running: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    units: u64,
}

impl Sale {
    /// Creates the event (open since a second ago by the servers' clock, `units` on sale) and
    /// starts two joiners, a drainer and a buyer.
    async fn start(urls: &str, id: &str, units: u64) -> Sale {
        let store = Arc::new(RedisStore::connect(urls, None).await.unwrap());
        let now = store.now().await.unwrap();
        let config = sale(id, now - 1_000, 40, 5, units);
        assert!(store.create_event(&config).await.unwrap());
        let event = config.id;
        let told = Arc::new(Told::default());
        let running = Arc::new(AtomicBool::new(true));
        let (admissions, mut to_buy) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for joiner in 0..2 {
            let (store, event, told, running) =
                (store.clone(), event.clone(), told.clone(), running.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while running.load(Ordering::Relaxed) {
                    let shopper = Identity::user(&format!("shopper-{joiner}-{n}")).unwrap();
                    let ticket = TicketId::random();
                    // The same join again after a failure: it answers the ticket if the first
                    // went through.
                    while running.load(Ordering::Relaxed) {
                        let began = Instant::now();
                        let joined = store.join(&event, &shopper, ticket).await;
                        told.timed(began);
                        match joined {
                            Ok(JoinOutcome::Joined { ticket, .. }) => {
                                told.joined
                                    .lock()
                                    .unwrap()
                                    .insert(shopper.clone(), ticket.ticket_id);
                                break;
                            }
                            Ok(JoinOutcome::NotAccepting(_)) => break,
                            Ok(other) => {
                                told.anomaly(format!("{shopper} joined: {other:?}"));
                                break;
                            }
                            Err(_) => {
                                told.retries.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                    }
                    n += 1;
                    tokio::time::sleep(Duration::from_millis(8)).await;
                }
            }));
        }
        {
            let (store, event, told, running) =
                (store.clone(), event.clone(), told.clone(), running.clone());
            tasks.push(tokio::spawn(async move {
                while running.load(Ordering::Relaxed) {
                    let began = Instant::now();
                    let drained = store.drain(&event).await;
                    told.timed(began);
                    match drained {
                        Ok(Some(outcome)) => {
                            for shopper in outcome.admitted {
                                told.admitted.lock().unwrap().push(shopper.identity.clone());
                                let _ = admissions.send((shopper.identity, shopper.ticket_id));
                            }
                        }
                        Ok(None) => told.anomaly("a drain found no event".into()),
                        Err(_) => {
                            told.retries.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
            }));
        }
        {
            let (store, event, told, running) =
                (store.clone(), event.clone(), told.clone(), running.clone());
            tasks.push(tokio::spawn(async move {
                // Each admitted shopper buys on their own, taking a moment before reserving and
                // before paying, so the event holds unused admissions and unpaid reservations
                // all along, as a real sale does.
                let mut buyers = Vec::new();
                while let Some((shopper, ticket)) = to_buy.recv().await {
                    if !running.load(Ordering::Relaxed) {
                        break;
                    }
                    let (store, event, told, running) =
                        (store.clone(), event.clone(), told.clone(), running.clone());
                    buyers.push(tokio::spawn(async move {
                        buy(&store, &event, &told, &running, shopper, ticket).await;
                    }));
                }
                for buyer in buyers {
                    buyer.await.unwrap();
                }
            }));
        }
        Sale {
            store,
            event,
            told,
            running,
            tasks,
            units,
        }
    }

    /// Stops the shoppers and waits for them.
    async fn stop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
        for task in self.tasks.drain(..) {
            task.await.unwrap();
        }
    }

    /// What the store holds now against what the shoppers were told.
    async fn audit(&self) -> Audit {
        let joined = self.told.joined.lock().unwrap().clone();
        let mut audit = Audit::default();
        for (shopper, ticket_id) in &joined {
            let ticket = retry(|| self.store.ticket(&self.event, shopper, false)).await;
            match ticket {
                Some(ticket) if ticket.ticket_id == *ticket_id => match ticket.status {
                    TicketStatus::Waiting => audit.waiting += 1,
                    TicketStatus::Admitted => audit.admitted.push(shopper.clone()),
                    other => audit.lost_places.push(format!("{shopper}: {other:?}")),
                },
                Some(_) => audit.lost_places.push(format!("{shopper}: another ticket")),
                None => audit.lost_places.push(format!("{shopper}: no ticket")),
            }
        }
        let told_admitted = self.told.admitted.lock().unwrap().clone();
        let mut seen = HashSet::new();
        audit.admitted_twice = told_admitted
            .iter()
            .filter(|shopper| !seen.insert((*shopper).clone()))
            .map(ToString::to_string)
            .collect();
        audit.admissions_undone = told_admitted
            .iter()
            .filter(|shopper| !audit.admitted.contains(shopper))
            .count();
        let paid = self.told.paid.lock().unwrap().clone();
        for (shopper, order) in paid {
            let now = retry(|| self.store.order(&self.event, order)).await;
            if !now.is_some_and(|order| order.status == waitroom::domain::OrderStatus::Paid) {
                audit.payments_lost.push(format!("{shopper}: {order}"));
            }
        }
        audit.stats = Some(retry(|| self.store.stats(&self.event)).await.unwrap());
        audit.units = self.units;
        audit.told_joined = joined.len();
        audit.told_admitted = told_admitted.len();
        audit.told_paid = self.told.paid.lock().unwrap().len();
        audit.retries = self.told.retries.load(Ordering::Relaxed);
        audit.slowest_ms = self.told.slowest_ms.load(Ordering::Relaxed);
        audit.anomalies = self.told.anomalies.lock().unwrap().clone();
        audit
    }
}

/// Reserves one unit for an admitted shopper and pays for it, trying again after failures with
/// the same order id and idempotency key.
async fn buy(
    store: &RedisStore,
    event: &EventId,
    told: &Told,
    running: &AtomicBool,
    shopper: Identity,
    ticket: TicketId,
) {
    let request = ReserveRequest {
        identity: shopper.clone(),
        ticket_id: ticket,
        order_id: OrderId::random(),
        idempotency_key: Some(format!("buy-{shopper}")),
        items: vec![OrderItem {
            sku: tshirt(),
            quantity: 1,
        }],
    };
    tokio::time::sleep(THINKING).await;
    let order = loop {
        if !running.load(Ordering::Relaxed) {
            return;
        }
        let began = Instant::now();
        let reserved = store.reserve(event, &request).await;
        told.timed(began);
        match reserved {
            Ok(ReserveOutcome::Reserved(order) | ReserveOutcome::Replayed(order)) => break order,
            Ok(ReserveOutcome::SoldOut(_)) => return,
            Ok(other) => {
                told.anomaly(format!("{shopper} reserved: {other:?}"));
                return;
            }
            Err(_) => {
                told.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    tokio::time::sleep(THINKING).await;
    while running.load(Ordering::Relaxed) {
        let began = Instant::now();
        let paid = store.pay(event, &shopper, order.order_id).await;
        told.timed(began);
        match paid {
            Ok(PayOutcome::Paid(_) | PayOutcome::AlreadyPaid(_)) => {
                told.paid.lock().unwrap().push((shopper, order.order_id));
                return;
            }
            Ok(other) => {
                told.anomaly(format!("{shopper} paid: {other:?}"));
                return;
            }
            Err(_) => {
                told.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Calls `call` until it succeeds (within 20 s).
async fn retry<T, F, C>(call: C) -> T
where
    C: Fn() -> F,
    F: std::future::Future<Output = Result<T, waitroom::store::StoreError>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match call().await {
            Ok(value) => return value,
            Err(error) => {
                assert!(
                    Instant::now() < deadline,
                    "the store stayed failing: {error}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[derive(Default, Debug)]
struct Audit {
    told_joined: usize,
    told_admitted: usize,
    told_paid: usize,
    retries: u64,
    slowest_ms: u64,
    /// Answers no healthy store gives in this sale.
    anomalies: Vec<String>,
    waiting: usize,
    /// Shoppers told they joined whose ticket is admitted now.
    admitted: Vec<Identity>,
    /// Shoppers told they joined who are neither waiting nor admitted with that ticket.
    lost_places: Vec<String>,
    /// Shoppers two drains answered as admitted.
    admitted_twice: Vec<String>,
    /// Admissions a drain answered that the store no longer holds.
    admissions_undone: usize,
    /// Payments acknowledged that the store no longer holds.
    payments_lost: Vec<String>,
    stats: Option<waitroom::domain::EventStats>,
    units: u64,
}

impl Audit {
    /// What holds whatever the fault: the store's own state is one consistent history.
    fn assert_consistent(&self) {
        let stats = self.stats.as_ref().unwrap();
        let sold = stats.sold.get(&tshirt()).copied().unwrap_or(0);
        let held = stats.reserved.get(&tshirt()).copied().unwrap_or(0);
        assert!(sold + held <= self.units, "oversold: {self:#?}");
        assert_eq!(
            stats.stock_left.get(&tshirt()).copied(),
            Some(self.units - sold - held),
            "{self:#?}"
        );
        // Every shopper the store counts as joined is waiting or was admitted once.
        assert_eq!(
            stats.queue_length + stats.admitted,
            stats.joined,
            "{self:#?}"
        );
        assert_eq!(stats.orders_paid, sold, "one unit an order: {self:#?}");
    }

    /// What holds when no acknowledged write may be lost: nothing told was undone.
    fn assert_nothing_lost(&self) {
        self.assert_consistent();
        assert!(self.anomalies.is_empty(), "anomalies: {self:#?}");
        assert!(self.lost_places.is_empty(), "lost places: {self:#?}");
        assert!(self.admitted_twice.is_empty(), "admitted twice: {self:#?}");
        assert_eq!(self.admissions_undone, 0, "{self:#?}");
        assert!(self.payments_lost.is_empty(), "{self:#?}");
        let stats = self.stats.as_ref().unwrap();
        assert_eq!(stats.joined as usize, self.told_joined, "{self:#?}");
    }

    fn summary(&self) -> String {
        let stats = self.stats.as_ref().unwrap();
        format!(
            "told joined {}, admitted {}, paid {}; store: joined {}, waiting {}, admitted {}, \
             sold {:?}; retries {}, slowest call {} ms; anomalies {}, lost places {}, admitted \
             twice {}, admissions undone {}, payments lost {}",
            self.told_joined,
            self.told_admitted,
            self.told_paid,
            stats.joined,
            stats.queue_length,
            stats.admitted,
            stats.sold.get(&tshirt()),
            self.retries,
            self.slowest_ms,
            self.anomalies.len(),
            self.lost_places.len(),
            self.admitted_twice.len(),
            self.admissions_undone,
            self.payments_lost.len(),
        )
    }
}

/// Runs `fault` on a blocking thread while the sale goes on, then lets the sale run a little
/// longer on the healed cluster.
async fn during_the_sale<T: Send + 'static>(
    sale_for: Duration,
    fault: impl FnOnce() -> T + Send + 'static,
) -> T {
    tokio::time::sleep(sale_for).await;
    let done = tokio::task::spawn_blocking(fault).await.unwrap();
    tokio::time::sleep(sale_for).await;
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_slot_moves_to_another_node_in_the_middle_of_a_sale() {
    let cluster = Arc::new(RedisCluster::start());
    // Enough units that the drains admit all through the migration.
    let mut sale = Sale::start(&cluster.urls(), "moving", 150).await;
    let slot = cluster.slot_of(&format!("{}st", event_key_prefix(&sale.event)));

    let moving = cluster.clone();
    let (source, target, batches) = during_the_sale(Duration::from_millis(700), move || {
        let (source, target) = moving.begin_migration(slot);
        // A few keys at a time, the sale going on in between: for most of the migration some
        // of the event's keys are on each node. The event's fixed keys go first and the ticket
        // buckets after them (an order a resharding tool may well take: it moves keys in the
        // order the node lists them), so that for a long while the queue and the state are on
        // the new node and the records of the shoppers at its head on the old one.
        let mut batches = 0;
        while moving.migrate_some(slot, &source, &target, 4, |key| !key.contains(":tk:")) > 0 {
            batches += 1;
            std::thread::sleep(Duration::from_millis(10));
        }
        moving.end_migration(slot, &target);
        (source, target, batches)
    })
    .await;
    sale.stop().await;

    assert_ne!(cluster.primary_of(slot).id, source.id);
    assert_eq!(cluster.primary_of(slot).id, target.id);
    let audit = sale.audit().await;
    eprintln!("reshard in {batches} batches: {}", audit.summary());
    assert!(
        batches > 10,
        "the migration was too short to overlap the sale"
    );
    audit.assert_nothing_lost();
    assert!(audit.told_admitted > 0 && audit.told_paid > 0, "{audit:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_fails_the_events_primary_over_in_the_middle_of_a_sale() {
    let cluster = Arc::new(RedisCluster::start());
    let mut sale = Sale::start(&cluster.urls(), "handover", UNITS).await;
    let slot = cluster.slot_of(&format!("{}st", event_key_prefix(&sale.event)));
    let primary = cluster.primary_of(slot);
    let replica = cluster.replica_of(&primary.id);

    let failing = cluster.clone();
    let replica_port = replica.port;
    during_the_sale(Duration::from_millis(700), move || {
        // A manual failover: the primary stops taking writes until its replica has them all.
        let reply = failing.node(replica_port).cli(&["CLUSTER", "FAILOVER"]);
        assert_eq!(reply.trim(), "OK");
        failing.wait_until_primary(replica_port, Duration::from_secs(10));
    })
    .await;
    sale.stop().await;

    assert_eq!(cluster.primary_of(slot).port, replica.port);
    let audit = sale.audit().await;
    eprintln!("manual failover: {}", audit.summary());
    audit.assert_nothing_lost();
    assert!(audit.told_admitted > 0 && audit.told_paid > 0, "{audit:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_primary_crashes_in_the_middle_of_a_sale_and_its_replica_takes_over() {
    let cluster = Arc::new(Mutex::new(RedisCluster::start()));
    let urls = cluster.lock().unwrap().urls();
    let mut sale = Sale::start(&urls, "crash", UNITS).await;
    let (slot, primary, replica) = {
        let cluster = cluster.lock().unwrap();
        let slot = cluster.slot_of(&format!("{}st", event_key_prefix(&sale.event)));
        let primary = cluster.primary_of(slot);
        let replica = cluster.replica_of(&primary.id);
        (slot, primary, replica)
    };

    let failing = cluster.clone();
    let took_over = during_the_sale(Duration::from_millis(700), move || {
        let mut cluster = failing.lock().unwrap();
        let began = Instant::now();
        cluster.node_mut(primary.port).stop();
        // The replica is promoted once the other primaries count the silent one as failed
        // (cluster-node-timeout, one second here).
        cluster.wait_until_primary(replica.port, Duration::from_secs(20));
        began.elapsed()
    })
    .await;
    sale.stop().await;

    assert_eq!(cluster.lock().unwrap().primary_of(slot).port, replica.port);
    let audit = sale.audit().await;
    eprintln!(
        "primary killed, replica primary after {took_over:?}: {}",
        audit.summary()
    );
    // Guaranteed: what survived is consistent (no oversell, every counted shopper waiting or
    // admitted once). Writes acknowledged just before the crash may be gone: measured above.
    audit.assert_consistent();
    assert!(audit.told_admitted > 0, "{audit:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_flushed_from_every_node_in_the_middle_of_a_sale_are_loaded_again() {
    let cluster = Arc::new(RedisCluster::start());
    let mut sale = Sale::start(&cluster.urls(), "flushed", UNITS).await;

    let flushing = cluster.clone();
    during_the_sale(Duration::from_millis(500), move || {
        for _ in 0..3 {
            for node in &flushing.nodes {
                assert_eq!(node.cli(&["SCRIPT", "FLUSH"]).trim(), "OK");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    })
    .await;
    sale.stop().await;

    let audit = sale.audit().await;
    eprintln!("scripts flushed: {}", audit.summary());
    audit.assert_nothing_lost();
    assert_eq!(
        audit.retries, 0,
        "a flushed script failed a call: {audit:#?}"
    );
}
