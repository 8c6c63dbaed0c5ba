//! Random sales for the property tests: their settings and steps (proptest strategies), and
//! the driver that plays one against a store and records what it saw.
//!
//! Each property runs 48 random sales of up to 40 steps against one store (a fresh event per
//! sale, so a store that needs a server starts it once per property). The sale is driven from
//! proptest through a tokio runtime's `block_on`; after every step the driver observes the
//! store (stats and every shopper's ticket) and the property checks the whole sale so far.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use waitroom::clock::{Clock, UnixMillis};
use waitroom::domain::{
    EventConfig, EventId, EventStats, JoinOutcome, OperatorStatus, OrderId, PayOutcome,
    ReserveOutcome, ReserveRequest, Sku, Ticket, TicketId, TicketStatus,
};

use crate::harness::{Harness, item, sale, shopper, sku};

/// Shoppers in each random sale.
const SHOPPERS: usize = 8;

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
    tees: u64,
    caps: u64,
    starts_in_ms: i64,
}

/// One thing that happens during a random sale.
#[derive(Debug, Clone)]
pub enum Step {
    Join(usize),
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
            1..=3_u32,
            prop::option::weighted(0.4, 1..=4_u32),
            prop::bool::weighted(0.3),
        ),
        (
            1..=20_u32,
            1..=20_u32,
            prop_oneof![Just(0_u32), 10..=60_u32],
        ),
        (0..=8_u64, 1..=8_u64, 0..=5_000_i64),
    )
        .prop_map(
            |((rate, burst, max_active, follows), (admit, hold, abandon), (t, c, s))| Shape {
                rate_milli_per_second: rate,
                burst,
                max_active,
                cap_follows_stock: follows,
                admission_ttl_seconds: admit,
                reservation_ttl_seconds: hold,
                abandon_after_seconds: abandon,
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
        1 => who.clone().prop_map(Step::Leave),
        1 => who.clone().prop_map(Step::Touch),
        3 => Just(Step::Drain),
        3 => (who.clone(), 0..=3_u64, 0..=2_u64, prop::option::of(0..2_u8)).prop_map(
            |(pick, tees, caps, key)| Step::Reserve { pick, tees, caps, key }
        ),
        2 => who.prop_map(Step::Pay),
        3 => (0..4_000_i64).prop_map(Step::Advance),
        1 => any::<bool>().prop_map(Step::Pause),
    ]
}

fn plans() -> impl Strategy<Value = Plan> {
    (shapes(), prop::collection::vec(steps(), 1..=40))
        .prop_map(|(shape, steps)| Plan { shape, steps })
}

/// A join the driver saw, with what the store said about the shopper just before it.
#[derive(Debug, Clone)]
pub struct JoinSeen {
    pub created: bool,
    pub ticket_id: TicketId,
    pub before: Option<Ticket>,
}

/// Everything seen of one random sale so far.
#[derive(Debug)]
pub struct Sale {
    pub config: EventConfig,
    pub now: UnixMillis,
    /// Shoppers admitted by drains, in admission order.
    pub admitted: Vec<TicketId>,
    /// Each drain's time and how many it admitted.
    pub drains: Vec<(UnixMillis, u64)>,
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

/// Runs `property` over 48 random sales against the store `factory` builds.
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
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let sales = AtomicU64::new(0);
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
        inventory: BTreeMap::from([(sku("TEE"), shape.tees), (sku("CAP"), shape.caps)]),
        ..sale(event.as_str())
    };
    prop_assert!(h.store.create_event(&config).await.unwrap());
    let mut sale = Sale {
        config,
        now: base,
        admitted: Vec::new(),
        drains: Vec::new(),
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
        Step::Join(n) => {
            let before = sale.tickets[n].clone();
            let outcome = h.store.join(&event, &shopper(n), TicketId::random()).await;
            if let JoinOutcome::Joined { ticket, created } = outcome.unwrap() {
                if created && sale.now >= sale.config.starts_at {
                    let order = sale.latecomers.len();
                    sale.latecomers.insert(ticket.ticket_id, order);
                } else if created {
                    sale.early.push(ticket.ticket_id);
                }
                sale.joins.push(JoinSeen {
                    created,
                    ticket_id: ticket.ticket_id,
                    before,
                });
            }
        }
        Step::Leave(n) => {
            if let Some(ticket) = &sale.tickets[n] {
                h.store
                    .leave(&event, &shopper(n), ticket.ticket_id)
                    .await
                    .unwrap();
            }
        }
        Step::Touch(n) => h.store.touch(&event, &[shopper(n)]).await.unwrap(),
        Step::Drain => {
            let drained = h.store.drain(&event).await.unwrap().unwrap();
            sale.admitted
                .extend(drained.admitted.iter().map(|a| a.ticket_id));
            let now = h.clock.now_ms();
            sale.drains.push((now, drained.admitted.len() as u64));
            sale.servings.push(drained.serving);
            sale.actives.push(drained.active);
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
            match h.store.reserve(&event, &request).await.unwrap() {
                ReserveOutcome::Reserved(order) => {
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
        }
    }
}

async fn observe(h: &Harness, sale: &mut Sale) {
    let event = sale.config.id.clone();
    sale.now = h.clock.now_ms();
    for n in 0..SHOPPERS {
        sale.tickets[n] = h.store.ticket(&event, &shopper(n), false).await.unwrap();
    }
    sale.stats = h.stats(&event).await;
    sale.servings.push(sale.stats.serving);
    sale.actives.push(sale.stats.active);
}
