//! Properties of random sales: whatever the interleaving of joins, leaves, touches, drains,
//! reservations, payments, pauses and clock steps, a store never oversells, never admits beyond
//! `rate × elapsed + burst` nor beyond `max_active`, admits latecomers in join order, never
//! moves the serving number back, and keeps one place per identity.
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
use waitroom::queue::SHOPPER;

use crate::harness::{Harness, item, sale, shopper, sku};

/// Shoppers in each random sale.
const SHOPPERS: usize = 6;

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
    Reserve {
        shopper: usize,
        tees: u64,
        caps: u64,
        key: Option<u8>,
    },
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
            1..=4_u32,
            prop::option::of(1..=4_u32),
            any::<bool>(),
        ),
        (1..=20_u32, 1..=20_u32, prop_oneof![Just(0_u32), 5..=30_u32]),
        (0..=6_u64, 0..=6_u64, 0..=5_000_i64),
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
        2 => (who.clone(), 0..=3_u64, 0..=2_u64, prop::option::of(0..2_u8)).prop_map(
            |(shopper, tees, caps, key)| Step::Reserve { shopper, tees, caps, key }
        ),
        1 => who.prop_map(Step::Pay),
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
    created: bool,
    ticket_id: TicketId,
    before: Option<Ticket>,
}

/// Everything seen of one random sale so far.
#[derive(Debug)]
pub struct Sale {
    config: EventConfig,
    now: UnixMillis,
    /// Shoppers admitted by drains, in admission order.
    admitted: Vec<TicketId>,
    /// The order in which tickets were created at or after the start (the tail joins).
    latecomers: HashMap<TicketId, usize>,
    /// Tickets created before the start (the drawn pre-queue).
    early: Vec<TicketId>,
    /// Every serving number seen, in order.
    servings: Vec<u64>,
    /// Every `active` count seen (drains and stats).
    actives: Vec<u64>,
    /// Joins and what they answered.
    joins: Vec<JoinSeen>,
    /// Orders made, with the ticket that made them.
    orders: Vec<(TicketId, OrderId)>,
    /// Replays answered, with the ticket they replayed for.
    replays: Vec<(TicketId, OrderId)>,
    /// Units the store said were paid for.
    paid: BTreeMap<Sku, u64>,
    /// Stats after the last step.
    stats: EventStats,
    /// Every shopper's ticket after the last step.
    tickets: Vec<Option<Ticket>>,
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
            sale.servings.push(drained.serving);
            sale.actives.push(drained.active);
        }
        Step::Reserve {
            shopper: n,
            tees,
            caps,
            key,
        } => {
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
                    sale.orders.push((order.ticket_id, order.order_id))
                }
                ReserveOutcome::Replayed(order) => {
                    sale.replays.push((request.ticket_id, order.order_id));
                }
                _ => {}
            }
        }
        Step::Pay(n) => {
            let Some(ticket) = &sale.tickets[n] else {
                return;
            };
            let ticket_id = ticket.ticket_id;
            let Some((_, order)) = sale.orders.iter().rev().find(|(t, _)| *t == ticket_id) else {
                return;
            };
            if let PayOutcome::Paid(order) = h.store.pay(&event, &shopper(n), *order).await.unwrap()
            {
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

/// Per SKU, `sold + reserved + left == offered`; what is sold is what the store said was paid;
/// a replayed reservation hands back the order its admission made, never a second one.
pub fn random_sales_never_oversell(sale: &Sale) -> Result<(), TestCaseError> {
    for (sku, &offered) in &sale.config.inventory {
        let count = |counts: &BTreeMap<Sku, u64>| counts.get(sku).copied().unwrap_or(0);
        let (left, sold, reserved) = (
            count(&sale.stats.stock_left),
            count(&sale.stats.sold),
            count(&sale.stats.reserved),
        );
        prop_assert_eq!(
            left + sold + reserved,
            offered,
            "{} in {:?}",
            sku,
            sale.stats
        );
        prop_assert_eq!(sold, count(&sale.paid), "{} sold", sku);
    }
    for replay in &sale.replays {
        prop_assert!(sale.orders.contains(replay), "replayed {:?}", replay);
    }
    let mut admissions: Vec<TicketId> = sale.orders.iter().map(|(t, _)| *t).collect();
    admissions.sort_unstable();
    admissions.dedup();
    prop_assert_eq!(
        admissions.len(),
        sale.orders.len(),
        "one order per admission"
    );
    Ok(())
}

/// Drains never admit more than `rate × (now − start) + burst`, and `active` never exceeds
/// `max_active`.
pub fn random_sales_never_admit_beyond_the_rate_or_the_cap(
    sale: &Sale,
) -> Result<(), TestCaseError> {
    let elapsed = u64::try_from(sale.now - sale.config.starts_at).unwrap_or(0);
    let allowed = sale.config.outflow_milli_per_second * elapsed
        + u64::from(sale.config.outflow_burst) * SHOPPER;
    let admitted = sale.admitted.len() as u64;
    prop_assert!(
        admitted * SHOPPER <= allowed,
        "{} admitted after {} ms",
        admitted,
        elapsed
    );
    prop_assert_eq!(
        sale.stats.admitted,
        admitted,
        "every admission came from a drain"
    );
    if let Some(max) = sale.config.max_active {
        let most = sale.actives.iter().copied().max().unwrap_or(0);
        prop_assert!(most <= u64::from(max), "{} active, cap {}", most, max);
    }
    Ok(())
}

/// Shoppers who join after the start are admitted in the order they joined, and all after the
/// drawn pre-queue.
pub fn random_sales_admit_latecomers_in_join_order(sale: &Sale) -> Result<(), TestCaseError> {
    let mut last_latecomer: Option<usize> = None;
    for ticket in &sale.admitted {
        match sale.latecomers.get(ticket) {
            Some(&order) => {
                prop_assert!(
                    last_latecomer.is_none_or(|last| last < order),
                    "out of join order"
                );
                last_latecomer = Some(order);
            }
            None => {
                prop_assert!(sale.early.contains(ticket), "admitted an unknown ticket");
                prop_assert!(
                    last_latecomer.is_none(),
                    "a drawn shopper after a latecomer"
                );
            }
        }
    }
    Ok(())
}

/// The serving number never moves back, and never passes the last score handed out.
pub fn random_sales_never_move_the_serving_number_back(sale: &Sale) -> Result<(), TestCaseError> {
    prop_assert!(
        sale.servings.windows(2).all(|pair| pair[0] <= pair[1]),
        "servings {:?}",
        sale.servings
    );
    prop_assert!(sale.stats.serving <= sale.stats.last_score);
    Ok(())
}

/// Each identity holds one place: a join while waiting or admitted answers the same ticket, the
/// queue holds exactly the waiting tickets, and the store's ticket is the last it gave out.
pub fn random_sales_keep_one_place_per_identity(sale: &Sale) -> Result<(), TestCaseError> {
    for join in &sale.joins {
        let before = join.before.as_ref();
        let held = before.filter(|t| t.status == TicketStatus::Waiting);
        if join.created {
            prop_assert!(held.is_none(), "a second place while waiting: {:?}", join);
        } else {
            prop_assert_eq!(Some(join.ticket_id), before.map(|t| t.ticket_id));
        }
    }
    let waiting = sale
        .tickets
        .iter()
        .flatten()
        .filter(|t| t.status == TicketStatus::Waiting)
        .count() as u64;
    prop_assert_eq!(waiting, sale.stats.queue_length);
    let issued = sale.joins.iter().filter(|j| j.created).count() as u64;
    prop_assert_eq!(issued, sale.stats.joined);
    Ok(())
}
