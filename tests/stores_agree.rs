//! The two stores agree, answer for answer: random sales run step by step on the memory store
//! and on the Redis store side by side, on one manual clock and with the same ticket and order
//! ids, and every answer of one must equal the other's. The conformance suite checks each store
//! against the rules; this checks them against each other, covering what the rules leave to
//! the algorithm (which shopper, which count, which order, at which millisecond).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use support::redis_server::RedisServer;
use support::sale_words::{T0, sale, shopper, sku};
use waitroom::clock::ManualClock;
use waitroom::domain::{
    EventConfig, InstanceId, Mode, OperatorStatus, OrderId, OrderItem, PayOutcome, PresenceReport,
    ReserveRequest, TicketId, TicketStatus,
};
use waitroom::store::QueueStore;
use waitroom::store::memory::MemoryStore;
use waitroom::store::redis::RedisStore;

const SHOPPERS: usize = 5;

#[derive(Debug, Clone)]
enum Step {
    Join(usize),
    Leave(usize),
    Touch(usize),
    /// Instance `a` or `b` reports the shopper's page opened (`true`) or closed; a heartbeat too.
    Presence {
        from_b: bool,
        shopper: usize,
        opened: bool,
    },
    /// A heartbeat of instance `a` or `b` alone.
    Beat(bool),
    Read(usize, bool),
    Drain,
    Draw,
    Reserve {
        shopper: usize,
        tees: u64,
        caps: u64,
        key: Option<u8>,
    },
    Pay(usize),
    Order(usize),
    Advance(i64),
    Operator(OperatorStatus),
    Restock(u64),
    Discontinue,
    Reseed,
}

#[derive(Debug, Clone)]
struct Plan {
    config: EventConfig,
    steps: Vec<Step>,
}

fn instance(b: bool) -> InstanceId {
    InstanceId::parse(if b { "b" } else { "a" }).unwrap()
}

fn configs() -> impl Strategy<Value = EventConfig> {
    (
        (
            0..4_000_u64,
            1..=3_u32,
            prop::option::of(1..=3_u32),
            any::<bool>(),
        ),
        (1..=10_u32, 1..=10_u32, prop_oneof![Just(0_u32), 3..=15_u32]),
        (0..=5_u64, 0..=3_u64, 0..=3_000_i64, any::<bool>()),
    )
        .prop_map(
            |(
                (rate, burst, max_active, follows),
                (admit, hold, abandon),
                (tees, caps, starts, net),
            )| {
                // The store suite's sale, created at T0, with the random settings and a fixed
                // seed (so that both stores draw the same order).
                EventConfig {
                    name: "Agree".into(),
                    starts_at: T0 + starts,
                    outflow_milli_per_second: rate,
                    outflow_burst: burst,
                    max_active,
                    cap_follows_stock: follows,
                    admission_ttl_seconds: admit,
                    reservation_ttl_seconds: hold,
                    inventory: BTreeMap::from([(sku("TEE"), tees), (sku("CAP"), caps)]),
                    mode: if net { Mode::SafetyNet } else { Mode::Queue },
                    abandon_after_seconds: abandon,
                    seed_hash: String::new(),
                    seed: "c0ffee".into(),
                    ..sale("agree")
                }
            },
        )
}

fn steps() -> impl Strategy<Value = Step> {
    let who = 0..SHOPPERS;
    prop_oneof![
        4 => who.clone().prop_map(Step::Join),
        1 => who.clone().prop_map(Step::Leave),
        1 => who.clone().prop_map(Step::Touch),
        2 => (any::<bool>(), who.clone(), any::<bool>())
            .prop_map(|(from_b, shopper, opened)| Step::Presence { from_b, shopper, opened }),
        1 => any::<bool>().prop_map(Step::Beat),
        2 => (who.clone(), any::<bool>()).prop_map(|(n, touch)| Step::Read(n, touch)),
        3 => Just(Step::Drain),
        1 => Just(Step::Draw),
        2 => (who.clone(), 0..=2_u64, 0..=2_u64, prop::option::of(0..2_u8))
            .prop_map(|(shopper, tees, caps, key)| Step::Reserve { shopper, tees, caps, key }),
        1 => who.clone().prop_map(Step::Pay),
        1 => who.prop_map(Step::Order),
        3 => (0..5_000_i64).prop_map(Step::Advance),
        1 => prop_oneof![
            Just(OperatorStatus::Auto),
            Just(OperatorStatus::Paused),
            Just(OperatorStatus::Closed)
        ]
        .prop_map(Step::Operator),
        1 => (0..=6_u64).prop_map(Step::Restock),
        1 => Just(Step::Discontinue),
        1 => Just(Step::Reseed),
    ]
}

fn plans() -> impl Strategy<Value = Plan> {
    (configs(), prop::collection::vec(steps(), 1..=50))
        .prop_map(|(config, steps)| Plan { config, steps })
}

/// Ids handed out in the same order to both stores.
struct Ids(u128);

impl Ids {
    fn ticket(&mut self) -> TicketId {
        self.0 += 1;
        TicketId(uuid::Uuid::from_u128(self.0))
    }
    fn order(&mut self) -> OrderId {
        self.0 += 1;
        OrderId(uuid::Uuid::from_u128(self.0))
    }
}

/// Runs one step on a store and answers what it said, as text.
async fn answer(store: &dyn QueueStore, event: &EventConfig, step: &Step, ids: &mut Ids) -> String {
    let id = &event.id;
    let current = |n: usize| async move { store.ticket(id, &shopper(n), false).await.unwrap() };
    let answer = match step {
        Step::Join(n) => format!(
            "{:?}",
            store.join(id, &shopper(*n), ids.ticket()).await.unwrap()
        ),
        Step::Leave(n) => match current(*n).await {
            Some(t) => format!(
                "{:?}",
                store.leave(id, &shopper(*n), t.ticket_id).await.unwrap()
            ),
            None => "no ticket".into(),
        },
        Step::Touch(n) => format!("{:?}", store.touch(id, &[shopper(*n)]).await.unwrap()),
        Step::Presence {
            from_b,
            shopper: n,
            opened,
        } => {
            let mut report = PresenceReport::beat(instance(*from_b));
            if *opened {
                report.opened.push(shopper(*n));
            } else {
                report.closed.push(shopper(*n));
            }
            format!("{:?}", store.presence(id, &report).await.unwrap())
        }
        Step::Beat(from_b) => format!(
            "{:?}",
            store
                .presence(id, &PresenceReport::beat(instance(*from_b)))
                .await
                .unwrap()
        ),
        Step::Read(n, touch) => format!(
            "{:?}",
            store.ticket(id, &shopper(*n), *touch).await.unwrap()
        ),
        Step::Drain => format!("{:?}", store.drain(id).await.unwrap()),
        Step::Draw => format!("{:?}", store.draw(id).await.unwrap()),
        Step::Reserve {
            shopper: n,
            tees,
            caps,
            key,
        } => {
            let Some(ticket) = current(*n).await else {
                return "no ticket".into();
            };
            let lines = [("TEE", *tees), ("CAP", *caps)];
            let request = ReserveRequest {
                identity: shopper(*n),
                ticket_id: ticket.ticket_id,
                order_id: ids.order(),
                idempotency_key: key.map(|k| format!("key-{k}")),
                items: lines
                    .iter()
                    .filter(|(_, quantity)| *quantity > 0)
                    .map(|(name, quantity)| OrderItem {
                        sku: sku(name),
                        quantity: *quantity,
                    })
                    .collect(),
            };
            format!("{:?}", store.reserve(id, &request).await.unwrap())
        }
        Step::Pay(n) | Step::Order(n) => {
            let order = (1..=ids.0).rev().map(|i| OrderId(uuid::Uuid::from_u128(i)));
            let mut answer = "no order".to_owned();
            for order_id in order {
                if let Some(order) = store.order(id, order_id).await.unwrap()
                    && order.identity == shopper(*n)
                {
                    answer = if matches!(step, Step::Pay(_)) {
                        let paid: PayOutcome = store.pay(id, &shopper(*n), order_id).await.unwrap();
                        format!("{paid:?}")
                    } else {
                        format!("{order:?}")
                    };
                    break;
                }
            }
            answer
        }
        Step::Advance(_) => String::new(),
        Step::Operator(status) => {
            let mut config = store.event(id).await.unwrap().unwrap();
            config.operator_status = *status;
            format!("{:?}", store.update_event(&config).await.unwrap())
        }
        Step::Restock(tees) => {
            let mut config = store.event(id).await.unwrap().unwrap();
            config.inventory.insert(sku("TEE"), *tees);
            format!("{:?}", store.update_event(&config).await.unwrap())
        }
        Step::Reseed => {
            let mut config = store.event(id).await.unwrap().unwrap();
            config.seed = format!("{}0", config.seed);
            format!("{:?}", store.update_event(&config).await.unwrap())
        }
        Step::Discontinue => {
            let mut config = store.event(id).await.unwrap().unwrap();
            config.inventory.remove(&sku("CAP"));
            format!("{:?}", store.update_event(&config).await.unwrap())
        }
    };
    let stats = store.stats(id).await.unwrap();
    format!("{answer}\n{stats:?}")
}

/// What must hold of a store after any step, checked on each store on its own, so that both
/// stores being wrong the same way still fails: the queue holds exactly the waiting tickets,
/// each at its own position within the queue; the serving number never moves back nor passes the
/// last score handed out; and the cap on active shoppers is never exceeded.
async fn keeps_the_invariants(
    store: &dyn QueueStore,
    config: &EventConfig,
    serving_before: &mut u64,
) -> Result<(), TestCaseError> {
    let id = &config.id;
    let stats = store.stats(id).await.unwrap().unwrap();
    let mut positions = Vec::new();
    let mut waiting = 0;
    for n in 0..SHOPPERS {
        let Some(ticket) = store.ticket(id, &shopper(n), false).await.unwrap() else {
            continue;
        };
        if ticket.status == TicketStatus::Waiting {
            waiting += 1;
            positions.extend(ticket.position);
        } else {
            prop_assert_eq!(ticket.position, None, "{:?}", ticket);
        }
    }
    prop_assert_eq!(waiting, stats.queue_length, "{:?}", stats);
    positions.sort_unstable();
    if stats.drawn {
        let expected: Vec<u64> = (1..=waiting).collect();
        prop_assert_eq!(positions, expected, "{:?}", stats);
    }
    prop_assert!(stats.serving <= stats.last_score, "{:?}", stats);
    prop_assert!(stats.serving >= *serving_before, "{:?}", stats);
    *serving_before = stats.serving;
    if let Some(max) = config.max_active {
        prop_assert!(stats.active <= u64::from(max), "{:?}", stats);
    }
    Ok(())
}

#[test]
fn random_sales_get_the_same_answers_from_both_stores() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = RedisServer::start();
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&plans(), |plan| {
        runtime.block_on(async {
            server.cli(&["FLUSHALL"]);
            let clock = ManualClock::new(T0);
            let memory = MemoryStore::new(Arc::new(clock.clone()));
            let redis = RedisStore::connect(&server.url(), Some(Arc::new(clock.clone())))
                .await
                .unwrap();
            assert!(memory.create_event(&plan.config).await.unwrap());
            assert!(redis.create_event(&plan.config).await.unwrap());
            let (mut memory_ids, mut redis_ids) = (Ids(0), Ids(0));
            let (mut memory_serving, mut redis_serving) = (0, 0);
            for (i, step) in plan.steps.iter().enumerate() {
                if let Step::Advance(ms) = step {
                    clock.advance_ms(*ms);
                }
                let expected = answer(&memory, &plan.config, step, &mut memory_ids).await;
                let actual = answer(&redis, &plan.config, step, &mut redis_ids).await;
                prop_assert_eq!(expected, actual, "step {} {:?}", i, step);
                keeps_the_invariants(&memory, &plan.config, &mut memory_serving).await?;
                keeps_the_invariants(&redis, &plan.config, &mut redis_serving).await?;
            }
            Ok(())
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
