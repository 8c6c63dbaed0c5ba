//! What one order may take from the stock: the units left of each SKU, and the operator's
//! purchase limits per order and per shopper.
//!
//! Both stores decide a reservation with these functions (`lua/lib/stock.lua` mirrors them), so the
//! memory store and the Redis scripts refuse exactly the same orders.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::Sku;

/// Units left to sell of a SKU offered with `total` units, of which `sold` are paid for and
/// `held` are held by unpaid reservations; never below zero.
///
/// Derived, never kept as a running count: lowering a total below what is held keeps the
/// deficit (returned reservations refill it first), and a SKU removed and offered again keeps
/// what it sold.
pub fn left_in_stock(total: u64, sold: u64, held: u64) -> u64 {
    total.saturating_sub(sold.saturating_add(held))
}

/// How many units the stock-following cap counts for each admitted shopper: the most one
/// shopper may take in all under the purchase limits, or one unit when they set no total (an
/// unlimited shopper could take everything; counting one keeps the cap useful).
pub fn units_kept_per_admission(per_order: &UnitLimit, per_shopper: &UnitLimit) -> u64 {
    [per_order.total, per_shopper.total]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(1)
        .max(1)
}

/// Most units in all and of any one SKU; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
pub struct UnitLimit {
    /// Most units of all SKUs together.
    pub total: Option<u64>,
    /// Most units of any one SKU.
    pub per_sku: Option<u64>,
}

impl UnitLimit {
    /// Whether it limits anything.
    pub fn is_set(&self) -> bool {
        self.total.is_some() || self.per_sku.is_some()
    }

    /// Whether `units` (per SKU) stay within the limit.
    pub fn allows(&self, units: &BTreeMap<&Sku, u64>) -> bool {
        let sum: u64 = units.values().sum();
        self.total.is_none_or(|most| sum <= most)
            && self
                .per_sku
                .is_none_or(|most| units.values().all(|&n| n <= most))
    }
}

/// A bare number is a limit in total; an object names `total` and `per_sku`.
impl<'de> Deserialize<'de> for UnitLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Total(u64),
            Both {
                #[serde(default)]
                total: Option<u64>,
                #[serde(default)]
                per_sku: Option<u64>,
            },
        }
        Ok(match Written::deserialize(deserializer)? {
            Written::Total(total) => UnitLimit {
                total: Some(total),
                per_sku: None,
            },
            Written::Both { total, per_sku } => UnitLimit { total, per_sku },
        })
    }
}

/// Which purchase limit an order would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseLimit {
    /// `max_units_per_order`.
    PerOrder,
    /// `max_units_per_shopper`, counting the shopper's paid and held orders.
    PerShopper,
}

impl PurchaseLimit {
    /// The setting's name, as operators write it.
    pub fn setting(self) -> &'static str {
        match self {
            Self::PerOrder => "max_units_per_order",
            Self::PerShopper => "max_units_per_shopper",
        }
    }
}

/// What a shopper already has of an event: units in paid and unpaid orders.
pub struct Holdings<F> {
    /// Units of all SKUs together.
    pub in_all: u64,
    /// Units of one SKU.
    pub of_sku: F,
}

/// The limit an order of `wanted` units (per SKU) breaks, given what the shopper already has,
/// or `None` when it keeps within both.
pub fn broken_limit<F: Fn(&Sku) -> u64>(
    per_order: &UnitLimit,
    per_shopper: &UnitLimit,
    wanted: &BTreeMap<&Sku, u64>,
    has: &Holdings<F>,
) -> Option<PurchaseLimit> {
    if !per_order.allows(wanted) {
        return Some(PurchaseLimit::PerOrder);
    }
    let order_total: u64 = wanted.values().sum();
    let in_all_ok = per_shopper
        .total
        .is_none_or(|most| has.in_all.saturating_add(order_total) <= most);
    let per_sku_ok = per_shopper.per_sku.is_none_or(|most| {
        wanted
            .iter()
            .all(|(sku, units)| (has.of_sku)(sku).saturating_add(*units) <= most)
    });
    (!(in_all_ok && per_sku_ok)).then_some(PurchaseLimit::PerShopper)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(name: &str) -> Sku {
        Sku::parse(name).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn what_is_left_is_the_total_less_sold_and_held_never_below_zero() {
        assert_eq!(left_in_stock(10, 3, 2), 5);
        assert_eq!(left_in_stock(4, 3, 2), 0);
    }

    #[test]
    fn the_shopper_limit_counts_what_the_shopper_has_in_all_and_per_sku() {
        let (tee, cap) = (sku("TEE"), sku("CAP"));
        let none = UnitLimit::default();
        let shopper = UnitLimit {
            total: Some(4),
            per_sku: Some(2),
        };
        let has = Holdings {
            in_all: 3,
            of_sku: |s: &Sku| if s.as_str() == "TEE" { 1 } else { 2 },
        };
        let one_tee = BTreeMap::from([(&tee, 1)]);
        let one_cap = BTreeMap::from([(&cap, 1)]);
        let two_tees = BTreeMap::from([(&tee, 2)]);
        assert_eq!(broken_limit(&none, &shopper, &one_tee, &has), None);
        assert_eq!(
            broken_limit(&none, &shopper, &one_cap, &has),
            Some(PurchaseLimit::PerShopper)
        );
        assert_eq!(
            broken_limit(&none, &shopper, &two_tees, &has),
            Some(PurchaseLimit::PerShopper)
        );
        assert_eq!(
            broken_limit(&shopper, &none, &BTreeMap::from([(&tee, 3)]), &has),
            Some(PurchaseLimit::PerOrder)
        );
    }

    #[test]
    fn a_bare_number_limits_the_total() {
        let limit: UnitLimit = serde_json::from_str("3").unwrap_or_default();
        assert_eq!(limit.total, Some(3));
        assert_eq!(limit.per_sku, None);
    }
}
