//! Random sales for the property tests: their settings and steps (proptest strategies), and
//! the driver that plays one against a store and records what it saw.
//!
//! Each property runs 64 random sales of up to 48 steps against one store (a fresh event per
//! sale, so a store that needs a server starts it once per property). Sales run in either mode,
//! with bursts up to eight, and besides joins, leaves, drains, reservations and payments they
//! close, restock, report open and closed pages from two instances, drain from several
//! connections at once (on Redis, really at once) and tick (a run of drains at a steady pace).
//! The sale is driven from proptest through a tokio runtime's `block_on`; after every step the
//! driver observes the store (stats and every shopper's ticket) and the property checks the
//! whole sale so far.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use waitroom::clock::{Clock, UnixMillis};
use waitroom::domain::{
    DrainOutcome, EventConfig, EventId, EventStats, EventStatus, InstanceId, JoinOutcome, Mode,
    OperatorStatus, OrderId, PayOutcome, PresenceReport, ReserveOutcome, ReserveRequest, Sku,
    Ticket, TicketId, TicketStatus,
};

use crate::harness::{Harness, item, sale, shopper, sku};

/// Shoppers in each random sale.
const SHOPPERS: usize = 16;

/// The settings of a random sale.
#[derive(Debug, Clone)]
pub struct Shape {
    rate_milli_per_second: u64,
    burst: u32,
    max_active: Option<u32>,
    cap_follows_stock: bool,
    admission_ttl_seconds: u32,
    reservation_ttl_seconds: u32,
    abandon_after_seconds: u32,
    mode: Mode,
    tees: u64,
    caps: u64,
    starts_in_ms: i64,
}

/// One thing that happens during a random sale.
#[derive(Debug, Clone)]
pub enum Step {
    Join(usize),
    /// Every shopper joins, in order (a crowd arriving at once).
    JoinAll,
    Leave(usize),
    Touch(usize),
    Drain,
    /// Reserves with the admission of the `pick`th admitted shopper (or of shopper `pick` when
    /// nobody is admitted, which must be refused).
    Reserve {
        pick: usize,
        tees: u64,
        caps: u64,
        key: Option<u8>,
    },
    /// Pays the `pick`th order made so far.
    Pay(usize),
    Advance(i64),
    Pause(bool),
    Close,
    /// Adds units of `TEE` to the inventory.
    Restock(u64),
    /// Instance `instance` (of two) reports the page of `opened` open and that of `closed`
    /// closed.
    Presence {
        instance: usize,
        opened: Option<usize>,
        closed: Option<usize>,
    },
    /// Drains from every connection of the harness at once.
    ConcurrentDrains,
    /// An instance ticking: `count` drains, each `every_ms` after the last. (Single drains
    /// between random steps rarely keep a line waiting long enough for a store that admits a
    /// fraction of the rate to fall below the floor.)
    Ticks {
        count: u32,
        every_ms: i64,
    },
}

/// A random sale: its settings and what happens, in order.
#[derive(Debug, Clone)]
pub struct Plan {
    shape: Shape,
    steps: Vec<Step>,
}

fn shapes() -> impl Strategy<Value = Shape> {
    (
        (
            0..5_000_u64,
            1..=8_u32,
            prop::option::weighted(0.4, 1..=4_u32),
            prop::bool::weighted(0.3),
        ),
        (
            1..=20_u32,
            1..=20_u32,
            prop_oneof![Just(0_u32), 5..=60_u32],
            prop_oneof![3 => Just(Mode::Queue), 1 => Just(Mode::SafetyNet)],
        ),
        (0..=8_u64, 1..=8_u64, 0..=5_000_i64),
    )
        .prop_map(
            |((rate, burst, max_active, follows), (admit, hold, abandon, mode), (t, c, s))| Shape {
                rate_milli_per_second: rate,
                burst,
                max_active,
                cap_follows_stock: follows,
                admission_ttl_seconds: admit,
                reservation_ttl_seconds: hold,
                abandon_after_seconds: abandon,
                mode,
                tees: t,
                caps: c,
                starts_in_ms: s,
            },
        )
}

fn steps() -> impl Strategy<Value = Step> {
    let who = 0..SHOPPERS;
    prop_oneof![
        4 => who.clone().prop_map(Step::Join),
        1 => Just(Step::JoinAll),
        1 => who.clone().prop_map(Step::Leave),
        1 => who.clone().prop_map(Step::Touch),
        3 => Just(Step::Drain),
        3 => (who.clone(), 0..=3_u64, 0..=2_u64, prop::option::of(0..2_u8)).prop_map(
            |(pick, tees, caps, key)| Step::Reserve { pick, tees, caps, key }
        ),
        2 => who.clone().prop_map(Step::Pay),
        3 => (0..4_000_i64).prop_map(Step::Advance),
        1 => any::<bool>().prop_map(Step::Pause),
        1 => Just(Step::Close),
        1 => (1..=4_u64).prop_map(Step::Restock),
        4 => (0..2_usize, prop::option::of(who.clone()), prop::option::of(who)).prop_map(
            |(instance, opened, closed)| Step::Presence { instance, opened, closed }
        ),
        2 => Just(Step::ConcurrentDrains),
        2 => (1..=20_u32, 50..=1_000_i64).prop_map(|(count, every_ms)| Step::Ticks { count, every_ms }),
    ]
}

fn plans() -> impl Strategy<Value = Plan> {
    (shapes(), prop::collection::vec(steps(), 1..=48))
        .prop_map(|(shape, steps)| Plan { shape, steps })
}

/// A join the driver saw, with what the store said about the shopper just before it.
#[derive(Debug, Clone)]
pub struct JoinSeen {
    pub who: usize,
    pub created: bool,
    pub ticket_id: TicketId,
    pub before: Option<Ticket>,
}

/// A drain the driver saw.
#[derive(Debug, Clone, Copy)]
pub struct DrainSeen {
    /// The store's time of the drain.
    pub at: UnixMillis,
    /// How many it admitted.
    pub admitted: u64,
    /// Shoppers it left waiting.
    pub waiting: u64,
    /// Whether the event was open for outflow.
    pub open: bool,
}

/// Everything seen of one random sale so far.
#[derive(Debug)]
pub struct Sale {
    pub config: EventConfig,
    pub now: UnixMillis,
    /// Shoppers admitted by drains, in admission order.
    pub admitted: Vec<TicketId>,
    /// Shoppers admitted at once by a safety-net join.
    pub admitted_at_join: u64,
    /// Reservations the store made for a shopper who held no unused admission at the time.
    pub reserved_without_admission: Vec<String>,
    /// Every drain, in order.
    pub drains: Vec<DrainSeen>,
    /// The operator closed the event and has not changed its status since.
    pub closed: bool,
    /// Tickets admitted or created while the event was closed (none may be).
    pub seated_while_closed: Vec<TicketId>,
    /// Per shopper, the last time the driver made sure the store saw them waiting: a join, a
    /// touch, their page reported opened or closed.
    pub seen_at: Vec<Option<UnixMillis>>,
    /// Per shopper, the instance whose report holds their open page.
    pub holder: Vec<Option<usize>>,
    /// Per instance, its last report (its heartbeat).
    pub beats: [Option<UnixMillis>; 2],
    /// Waiting shoppers dropped as gone although seen (themselves or through their page's
    /// instance) within the grace period.
    pub dropped_while_seen: Vec<String>,
    /// The order in which tickets were created at or after the start (the tail joins).
    pub latecomers: HashMap<TicketId, usize>,
    /// Tickets created before the start (the drawn pre-queue).
    pub early: Vec<TicketId>,
    /// Every serving number seen, in order.
    pub servings: Vec<u64>,
    /// Every `active` count seen (drains and stats).
    pub actives: Vec<u64>,
    /// Joins and what they answered.
    pub joins: Vec<JoinSeen>,
    /// Orders made, with the ticket that made them and its shopper.
    pub orders: Vec<(TicketId, OrderId, usize)>,
    /// Replays answered, with the ticket they replayed for.
    pub replays: Vec<(TicketId, OrderId)>,
    /// Units the store said were paid for.
    pub paid: BTreeMap<Sku, u64>,
    /// Stats after the last step.
    pub stats: EventStats,
    /// Every shopper's ticket after the last step.
    pub tickets: Vec<Option<Ticket>>,
}

/// Runs `property` over 64 random sales against the store `factory` builds.
/// Sales that once broke a property, played on every store before the random ones.
fn remembered() -> Vec<Plan> {
    vec![
        // A drain at the start leaves a shopper waiting, another joins, and the next drains come
        // 5.2 s later, from every connection at once: the whole credit (three shoppers at 0.573 a
        // second) is owed to the two waiting.
        Plan {
            shape: Shape {
                rate_milli_per_second: 573,
                burst: 1,
                max_active: None,
                cap_follows_stock: false,
                admission_ttl_seconds: 1,
                reservation_ttl_seconds: 1,
                abandon_after_seconds: 0,
                mode: Mode::Queue,
                tees: 0,
                caps: 1,
                starts_in_ms: 0,
            },
            steps: vec![
                Step::Join(0),
                Step::Join(0),
                Step::Join(1),
                Step::Join(0),
                Step::Join(0),
                Step::Drain,
                Step::Join(2),
                Step::Advance(1788),
                Step::Advance(3448),
                Step::ConcurrentDrains,
            ],
        },
    ]
}

pub fn check<F, Fut>(factory: F, property: fn(&Sale) -> Result<(), TestCaseError>)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Harness>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let harness = runtime.block_on(factory());
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let sales = AtomicU64::new(0);
    for plan in remembered() {
        let number = sales.fetch_add(1, Ordering::Relaxed);
        let event = EventId::parse(&format!("random-{number}")).unwrap();
        if let Err(failure) = runtime.block_on(run(&harness, event, plan.clone(), property)) {
            panic!("{failure}: {plan:?}");
        }
    }
    let result = runner.run(&plans(), |plan| {
        let number = sales.fetch_add(1, Ordering::Relaxed);
        let event = EventId::parse(&format!("random-{number}")).unwrap();
        runtime.block_on(run(&harness, event, plan, property))
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

async fn run(
    h: &Harness,
    event: EventId,
    plan: Plan,
    property: fn(&Sale) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    let base = h.clock.now_ms();
    let shape = plan.shape;
    let config = EventConfig {
        id: event.clone(),
        created_at: base,
        starts_at: base + shape.starts_in_ms,
        outflow_milli_per_second: shape.rate_milli_per_second,
        outflow_burst: shape.burst,
        max_active: shape.max_active,
        cap_follows_stock: shape.cap_follows_stock,
        admission_ttl_seconds: shape.admission_ttl_seconds,
        reservation_ttl_seconds: shape.reservation_ttl_seconds,
        abandon_after_seconds: shape.abandon_after_seconds,
        mode: shape.mode,
        inventory: BTreeMap::from([(sku("TEE"), shape.tees), (sku("CAP"), shape.caps)]),
        ..sale(event.as_str())
    };
    prop_assert!(h.store.create_event(&config).await.unwrap());
    let mut sale = Sale {
        config,
        now: base,
        admitted: Vec::new(),
        admitted_at_join: 0,
        reserved_without_admission: Vec::new(),
        drains: Vec::new(),
        closed: false,
        seated_while_closed: Vec::new(),
        seen_at: vec![None; SHOPPERS],
        holder: vec![None; SHOPPERS],
        beats: [None; 2],
        dropped_while_seen: Vec::new(),
        latecomers: HashMap::new(),
        early: Vec::new(),
        servings: Vec::new(),
        actives: Vec::new(),
        joins: Vec::new(),
        orders: Vec::new(),
        replays: Vec::new(),
        paid: BTreeMap::new(),
        stats: EventStats::default(),
        tickets: vec![None; SHOPPERS],
    };
    for step in plan.steps {
        take_step(h, &mut sale, step).await;
        observe(h, &mut sale).await;
        property(&sale)?;
    }
    Ok(())
}

async fn take_step(h: &Harness, sale: &mut Sale, step: Step) {
    let event = sale.config.id.clone();
    match step {
        Step::JoinAll => {
            for n in 0..SHOPPERS {
                join(h, sale, n).await;
            }
        }
        Step::Join(n) => join(h, sale, n).await,
        Step::Leave(n) => {
            if let Some(ticket) = &sale.tickets[n] {
                h.store
                    .leave(&event, &shopper(n), ticket.ticket_id)
                    .await
                    .unwrap();
            }
        }
        Step::Touch(n) => {
            h.store.touch(&event, &[shopper(n)]).await.unwrap();
            if is_waiting(sale, n) {
                sale.seen_at[n] = Some(h.clock.now_ms());
            }
        }
        Step::Drain => {
            let drained = h.store.drain(&event).await.unwrap().unwrap();
            record_drains(h, sale, vec![drained]);
        }
        Step::ConcurrentDrains => {
            let drains = h.drainers.iter().map(|store| store.drain(&event));
            let drained = futures_util::future::join_all(drains).await;
            let drained = drained.into_iter().map(|d| d.unwrap().unwrap()).collect();
            record_drains(h, sale, drained);
        }
        Step::Ticks { count, every_ms } => {
            for _ in 0..count {
                h.advance_ms(every_ms);
                let drained = h.store.drain(&event).await.unwrap().unwrap();
                record_drains(h, sale, vec![drained]);
            }
        }
        Step::Reserve {
            pick,
            tees,
            caps,
            key,
        } => {
            let admitted: Vec<usize> = (0..SHOPPERS)
                .filter(|n| {
                    sale.tickets[*n]
                        .as_ref()
                        .is_some_and(|t| t.status == TicketStatus::Admitted && !t.admission_used)
                })
                .collect();
            let n = if admitted.is_empty() {
                pick
            } else {
                admitted[pick % admitted.len()]
            };
            let Some(ticket) = &sale.tickets[n] else {
                return;
            };
            let mut items = Vec::new();
            if tees > 0 || caps == 0 {
                items.push(item("TEE", tees.max(1)));
            }
            if caps > 0 {
                items.push(item("CAP", caps));
            }
            let request = ReserveRequest {
                identity: shopper(n),
                ticket_id: ticket.ticket_id,
                order_id: OrderId::random(),
                idempotency_key: key.map(|k| format!("key-{k}")),
                items,
            };
            let may_reserve = ticket.status == TicketStatus::Admitted
                && !ticket.admission_used
                && ticket
                    .admission_expires_at
                    .is_some_and(|end| end > sale.now);
            match h.store.reserve(&event, &request).await.unwrap() {
                ReserveOutcome::Reserved(order) => {
                    if !may_reserve {
                        sale.reserved_without_admission
                            .push(format!("{order:?} for {ticket:?}"));
                    }
                    sale.orders.push((order.ticket_id, order.order_id, n));
                }
                ReserveOutcome::Replayed(order) => {
                    sale.replays.push((request.ticket_id, order.order_id));
                }
                _ => {}
            }
        }
        Step::Pay(pick) => {
            if sale.orders.is_empty() {
                return;
            }
            let (_, order_id, n) = sale.orders[pick % sale.orders.len()];
            let paid = h.store.pay(&event, &shopper(n), order_id).await.unwrap();
            if let PayOutcome::Paid(order) = paid {
                for line in &order.items {
                    *sale.paid.entry(line.sku.clone()).or_insert(0) += line.quantity;
                }
            }
        }
        Step::Advance(ms) => h.advance_ms(ms),
        Step::Pause(paused) => {
            let status = if paused {
                OperatorStatus::Paused
            } else {
                OperatorStatus::Auto
            };
            h.set_operator_status(&event, status).await;
            sale.closed = false;
        }
        Step::Close => {
            h.set_operator_status(&event, OperatorStatus::Closed).await;
            sale.closed = true;
        }
        Step::Restock(units) => {
            h.change(&event, |config| {
                *config.inventory.entry(sku("TEE")).or_insert(0) += units;
            })
            .await;
            *sale.config.inventory.entry(sku("TEE")).or_insert(0) += units;
        }
        Step::Presence {
            instance,
            opened,
            closed,
        } => {
            let report = PresenceReport {
                instance: InstanceId::parse(&format!("instance-{instance}")).unwrap(),
                opened: opened.iter().copied().map(shopper).collect(),
                closed: closed.iter().copied().map(shopper).collect(),
            };
            h.store.presence(&event, &report).await.unwrap();
            let now = h.clock.now_ms();
            sale.beats[instance] = Some(now);
            if let Some(n) = opened.filter(|n| is_waiting(sale, *n)) {
                sale.holder[n] = Some(instance);
                sale.seen_at[n] = Some(now);
            }
            if let Some(n) = closed.filter(|n| is_waiting(sale, *n))
                && sale.holder[n] == Some(instance)
            {
                sale.holder[n] = None;
                sale.seen_at[n] = Some(now);
            }
        }
    }
}

/// Shopper `n` joins; the driver notes what the store answered.
async fn join(h: &Harness, sale: &mut Sale, n: usize) {
    let event = sale.config.id.clone();
    let before = sale.tickets[n].clone();
    let outcome = h.store.join(&event, &shopper(n), TicketId::random()).await;
    if let JoinOutcome::Joined { ticket, created } = outcome.unwrap() {
        if created && sale.closed {
            sale.seated_while_closed.push(ticket.ticket_id);
        }
        if created {
            sale.holder[n] = None;
        }
        if ticket.status == TicketStatus::Waiting {
            sale.seen_at[n] = Some(h.clock.now_ms());
        }
        if created && ticket.status == TicketStatus::Admitted {
            sale.admitted_at_join += 1;
        }
        if created && sale.now >= sale.config.starts_at {
            let order = sale.latecomers.len();
            sale.latecomers.insert(ticket.ticket_id, order);
        } else if created {
            sale.early.push(ticket.ticket_id);
        }
        sale.joins.push(JoinSeen {
            who: n,
            created,
            ticket_id: ticket.ticket_id,
            before,
        });
    }
}

/// Records drains made at one moment (several at once count as one: their order inside the
/// store is not known, and together they must admit what one would).
fn record_drains(h: &Harness, sale: &mut Sale, drained: Vec<DrainOutcome>) {
    let mut seen = DrainSeen {
        at: h.clock.now_ms(),
        admitted: 0,
        waiting: u64::MAX,
        open: true,
    };
    for outcome in drained {
        if sale.closed {
            sale.seated_while_closed
                .extend(outcome.admitted.iter().map(|a| a.ticket_id));
        }
        sale.admitted
            .extend(outcome.admitted.iter().map(|a| a.ticket_id));
        seen.admitted += outcome.admitted.len() as u64;
        seen.waiting = seen.waiting.min(outcome.queue_length);
        seen.open &= outcome.status == Some(EventStatus::Open);
        sale.servings.push(outcome.serving);
        sale.actives.push(outcome.active);
    }
    sale.drains.push(seen);
}

async fn observe(h: &Harness, sale: &mut Sale) {
    let event = sale.config.id.clone();
    sale.now = h.clock.now_ms();
    let grace_ms = i64::from(sale.config.abandon_after_seconds) * 1_000;
    for n in 0..SHOPPERS {
        let ticket = h.store.ticket(&event, &shopper(n), false).await.unwrap();
        let dropped = is_waiting(sale, n)
            && ticket
                .as_ref()
                .is_some_and(|t| t.status == TicketStatus::Expired && t.admitted_at.is_none());
        let seen = sale.seen_at[n].max(sale.holder[n].and_then(|i| sale.beats[i]));
        if dropped && grace_ms > 0 && seen.is_some_and(|at| sale.now - at < grace_ms) {
            sale.dropped_while_seen.push(format!(
                "shopper {n} dropped at {} ms, seen at {seen:?}, grace {grace_ms} ms, page held by {:?}",
                sale.now,
                sale.holder[n]
            ));
        }
        sale.tickets[n] = ticket;
    }
    sale.stats = h.stats(&event).await;
    sale.servings.push(sale.stats.serving);
    sale.actives.push(sale.stats.active);
}

/// Whether shopper `n`'s ticket was waiting when the store was last observed.
fn is_waiting(sale: &Sale, n: usize) -> bool {
    sale.tickets[n]
        .as_ref()
        .is_some_and(|t| t.status == TicketStatus::Waiting)
}
