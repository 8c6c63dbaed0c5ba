//! Stock: units offered against units sold, by the server's own count (the admin event detail)
//! and by what the shoppers paid for. Selling one unit more than offered fails the run.

use serde::Serialize;
use serde_json::Value;

use crate::run::RunData;

/// Stock offered, sold and paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockReport {
    /// Units offered, all SKUs.
    pub offered: u64,
    /// Units sold by the server's count, all SKUs; `None` when the detail had no such figure.
    pub sold_server: Option<u64>,
    /// Units the simulated crowd paid for.
    pub paid_client: u64,
    /// Units reserved and never paid (their stock returns when the reservation lapses).
    pub reserved_unpaid_client: u64,
    /// Whether more was sold or paid for than offered.
    pub oversold: bool,
    /// Whether the server's count lies between what was paid and what was paid or reserved.
    pub consistent: bool,
}

/// Compares the server's sold count with what the crowd bought.
pub fn measure(run: &RunData) -> StockReport {
    let offered: u64 = run.inventory.iter().map(|(_, units)| units).sum();
    let sold_server = run.admin_final.as_ref().and_then(sold_units);
    let paid_client: u64 = run.journeys.iter().map(|j| j.units_paid).sum();
    let reserved_client: u64 = run.journeys.iter().map(|j| j.units_reserved).sum();
    let reserved_unpaid_client = reserved_client - paid_client.min(reserved_client);
    compare(offered, sold_server, paid_client, reserved_unpaid_client)
}

/// The comparison itself.
pub fn compare(
    offered: u64,
    sold_server: Option<u64>,
    paid_client: u64,
    reserved_unpaid_client: u64,
) -> StockReport {
    let oversold = paid_client > offered || sold_server.is_some_and(|sold| sold > offered);
    let consistent = sold_server
        .is_some_and(|sold| (paid_client..=paid_client + reserved_unpaid_client).contains(&sold));
    StockReport {
        offered,
        sold_server,
        paid_client,
        reserved_unpaid_client,
        oversold,
        consistent,
    }
}

/// Units sold in an admin event detail: the first `sold` figure found (a number, or a map of
/// SKU to units, or a map of SKU to an object with `sold`), looking in `stats` first.
pub fn sold_units(detail: &Value) -> Option<u64> {
    if let Some(stats) = detail.get("stats")
        && let Some(sold) = sold_units(stats)
    {
        return Some(sold);
    }
    let object = detail.as_object()?;
    for key in ["sold", "sold_per_sku", "units_sold"] {
        if let Some(figure) = object.get(key).and_then(units_in) {
            return Some(figure);
        }
    }
    object
        .values()
        .filter(|v| v.is_object())
        .find_map(sold_units)
}

/// A plain counter of the admin event detail (`admitted`, `joined`, …), in `stats` or at the top.
pub fn counter(detail: &Value, key: &str) -> Option<u64> {
    detail
        .get("stats")
        .and_then(|stats| stats.get(key))
        .or_else(|| detail.get(key))
        .and_then(Value::as_u64)
}

/// A number, or the sum of a map's numbers (or of its objects' `sold` numbers).
fn units_in(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::Object(map) => map
            .values()
            .map(|v| v.as_u64().or_else(|| v.get("sold").and_then(Value::as_u64)))
            .sum(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn sold_per_sku_is_summed() {
        let detail = json!({"id": "e", "stats": {"queue_length": 3, "sold": {"a": 4, "b": 6}}});
        assert_eq!(sold_units(&detail), Some(10));
    }

    #[test]
    fn counters_are_read_from_the_stats() {
        let detail = json!({"stats": {"admitted": 12}});
        assert_eq!(counter(&detail, "admitted"), Some(12));
        assert_eq!(counter(&detail, "joined"), None);
    }

    #[test]
    fn a_plain_sold_number_is_read() {
        assert_eq!(sold_units(&json!({"sold": 7})), Some(7));
    }

    #[test]
    fn a_detail_without_sales_figures_has_none() {
        assert_eq!(
            sold_units(&json!({"id": "e", "stats": {"queue_length": 3}})),
            None
        );
    }

    #[test]
    fn one_unit_more_than_offered_is_an_oversell() {
        assert!(compare(100, Some(101), 100, 0).oversold);
        assert!(!compare(100, Some(100), 100, 0).oversold);
    }

    #[test]
    fn the_servers_count_may_include_live_reservations() {
        assert!(compare(100, Some(95), 90, 5).consistent);
        assert!(!compare(100, Some(96), 90, 5).consistent);
        assert!(!compare(100, Some(89), 90, 5).consistent);
    }
}
