//! Properties of random sales: whatever the interleaving of joins, leaves, touches, drains,
//! reservations, payments, pauses and clock steps, a store never oversells, never admits beyond
//! `rate × elapsed + burst` nor beyond `max_active`, admits at least the rate while shoppers
//! wait, admits and seats nobody once closed, drops nobody seen within the grace period, admits
//! latecomers in join order, never moves the serving number back, and keeps one place per
//! identity.
//!
//! Each property is a check of everything seen of a [`Sale`] so far, run after every step by
//! [`crate::random_sale::check`].

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use waitroom::clock::UnixMillis;
use waitroom::domain::{Sku, TicketId, TicketStatus};
use waitroom::queue::SHOPPER;

use crate::random_sale::Sale;

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
    for (ticket, order) in &sale.replays {
        let first = sale
            .orders
            .iter()
            .any(|(t, o, _)| t == ticket && o == order);
        prop_assert!(first, "replayed {} for {}", order, ticket);
    }
    prop_assert!(
        sale.reserved_without_admission.is_empty(),
        "reserved without an unused admission: {:?}",
        sale.reserved_without_admission
    );
    let mut admissions: Vec<TicketId> = sale.orders.iter().map(|(t, _, _)| *t).collect();
    admissions.sort_unstable();
    admissions.dedup();
    prop_assert_eq!(
        admissions.len(),
        sale.orders.len(),
        "one order per admission"
    );
    Ok(())
}

/// Drains never admit more than `rate × (now − start) + burst` in all, nor, over the drains
/// after one at `t1` up to one at `t2`, more than `rate × (t2 − t1) + burst`; and `active` never
/// exceeds `max_active`. (The drain at `t1` spends credit earned before `t1`, so it belongs to
/// the span before: counting it here would forbid any drain from admitting more than the burst,
/// and with it any rate above one burst per drain.)
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
        admitted + sale.admitted_at_join,
        "every admission came from a drain or a safety-net join"
    );
    let started = |at: UnixMillis| at.max(sale.config.starts_at);
    for (first, from) in sale.drains.iter().enumerate() {
        let mut within = 0;
        for to in &sale.drains[first + 1..] {
            within += to.admitted;
            let span = u64::try_from(started(to.at) - started(from.at)).unwrap_or(0);
            let allowed = sale.config.outflow_milli_per_second * span
                + u64::from(sale.config.outflow_burst) * SHOPPER;
            prop_assert!(
                within * SHOPPER <= allowed,
                "{} admitted in {} ms",
                within,
                span
            );
        }
    }
    if let Some(max) = sale.config.max_active {
        let most = sale.actives.iter().copied().max().unwrap_or(0);
        prop_assert!(most <= u64::from(max), "{} active, cap {}", most, max);
    }
    Ok(())
}

/// While shoppers wait and no cap binds, the outflow keeps up: over the drains after one at
/// `t1` up to one at `t2`, all of them open and each leaving shoppers waiting, at least
/// `rate × (t2 − t1) − (burst + 1)` are admitted. A store that drops credit (a whole shopper
/// above the burst, or a fraction below one) at any gap between drains falls below it.
pub fn random_sales_admit_at_least_the_rate_while_shoppers_wait(
    sale: &Sale,
) -> Result<(), TestCaseError> {
    if sale.config.max_active.is_some() || sale.config.cap_follows_stock {
        return Ok(());
    }
    let slack = (u64::from(sale.config.outflow_burst) + 1) * SHOPPER;
    let owing = |drain: &crate::random_sale::DrainSeen| drain.open && drain.waiting > 0;
    for (first, from) in sale.drains.iter().enumerate() {
        if !owing(from) {
            continue;
        }
        let mut within = 0;
        for to in &sale.drains[first + 1..] {
            if !owing(to) {
                break;
            }
            within += to.admitted;
            let span = u64::try_from(to.at - from.at).unwrap_or(0);
            let owed = sale.config.outflow_milli_per_second * span;
            prop_assert!(
                within * SHOPPER + slack >= owed,
                "{} admitted in {} ms at {} milli-shoppers a second, burst {}",
                within,
                span,
                sale.config.outflow_milli_per_second,
                sale.config.outflow_burst
            );
        }
    }
    Ok(())
}

/// Once the operator closes the event (and until they change its status again), no drain
/// admits anyone and no join creates a ticket.
pub fn random_sales_admit_and_seat_nobody_once_closed(sale: &Sale) -> Result<(), TestCaseError> {
    prop_assert!(
        sale.seated_while_closed.is_empty(),
        "admitted or joined after the close: {:?}",
        sale.seated_while_closed
    );
    Ok(())
}

/// A waiting shopper is dropped as gone only when unseen for the whole grace period: not seen
/// themselves (a join, a touch, their page reported opened or closed) and not held by an
/// instance whose heartbeat came within it.
pub fn random_sales_drop_nobody_seen_within_the_grace_period(
    sale: &Sale,
) -> Result<(), TestCaseError> {
    prop_assert!(
        sale.dropped_while_seen.is_empty(),
        "{:?}",
        sale.dropped_while_seen
    );
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

/// Each identity holds one place: a join while waiting or admitted answers that very ticket, a
/// new ticket is only ever given to a shopper with none or one left or expired, the store's
/// ticket for each shopper is the last one it gave them, and the queue holds exactly the waiting
/// tickets.
pub fn random_sales_keep_one_place_per_identity(sale: &Sale) -> Result<(), TestCaseError> {
    let mut last_issued: BTreeMap<usize, TicketId> = BTreeMap::new();
    for join in &sale.joins {
        let before = join.before.as_ref();
        let held =
            before.filter(|t| matches!(t.status, TicketStatus::Waiting | TicketStatus::Admitted));
        if join.created {
            prop_assert!(held.is_none(), "a second place: {:?}", join);
            last_issued.insert(join.who, join.ticket_id);
        } else {
            prop_assert_eq!(
                Some(join.ticket_id),
                held.map(|t| t.ticket_id),
                "{:?}",
                join
            );
        }
    }
    for (who, ticket) in sale.tickets.iter().enumerate() {
        prop_assert_eq!(
            ticket.as_ref().map(|t| t.ticket_id),
            last_issued.get(&who).copied(),
            "shopper {}",
            who
        );
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
