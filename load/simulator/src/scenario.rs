//! A scenario: the sale to play, read from a small TOML file where every field has a default.
//!
//! ```toml
//! name = "smoke"
//! [event]
//! outflow_per_second = 20
//! units = 30
//! [shoppers]
//! count = 200
//! arrival = "ramp"
//! arrival_seconds = 3
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkout_fault::CheckoutPlan;

/// Everything the simulator needs to know to play one sale.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// A short name, used in the event id and the report.
    pub name: String,
    /// The event the simulator creates through the admin API.
    pub event: EventPlan,
    /// The honest crowd.
    pub shoppers: ShopperPlan,
    /// The automated crowd.
    pub bots: BotPlan,
    /// Limits of the run itself.
    pub run: RunPlan,
    /// A shop's checkout that slows down and fails on purpose, and the target the outflow
    /// follows it by (none: the server's checkout as it is, no target).
    pub checkout: Option<CheckoutPlan>,
}

/// The settings of the event the simulator creates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventPlan {
    /// Shoppers admitted per second.
    pub outflow_per_second: f64,
    /// How many the outflow may admit at once after an idle spell.
    pub outflow_burst: u32,
    /// Cap on admitted shoppers who have not finished; none when unset.
    pub max_active: Option<u32>,
    /// How long an admission stays valid.
    pub admission_ttl_seconds: u32,
    /// Units offered, spread evenly over `skus` SKUs.
    pub units: u64,
    /// How many SKUs the units are spread over.
    pub skus: u32,
    /// A waiting shopper not seen for this long loses the place.
    pub abandon_after_seconds: u32,
    /// Leading zero bits of the proof of work every join must carry (0: none asked).
    pub proof_difficulty: u8,
    /// Seconds after the start whose arrivals the server orders by a seeded draw rather than by
    /// arrival time (0: off, plain first in, first out).
    pub opening_window_seconds: u32,
    /// Every later span of this many seconds is ordered the same way (0: off).
    pub arrival_window_seconds: u32,
}

impl Default for EventPlan {
    fn default() -> Self {
        Self {
            outflow_per_second: 50.0,
            outflow_burst: 50,
            max_active: None,
            admission_ttl_seconds: 120,
            units: 100,
            skus: 1,
            abandon_after_seconds: 60,
            proof_difficulty: 0,
            opening_window_seconds: 0,
            arrival_window_seconds: 0,
        }
    }
}

/// When shoppers arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Everyone joins the moment the sale starts.
    AtStart,
    /// Arrivals spread evenly over `arrival_seconds` after the start.
    #[default]
    Ramp,
    /// Arrivals spread evenly over `arrival_seconds` before the start, into the pre-queue.
    Prequeue,
}

/// How the honest shoppers behave.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShopperPlan {
    /// How many shoppers come.
    pub count: u32,
    /// When they come.
    pub arrival: Arrival,
    /// The length of the ramp or of the pre-queue window.
    pub arrival_seconds: f64,
    /// The share that waits on a WebSocket; the rest polls their ticket.
    pub websocket_share: f64,
    /// How often a polling shopper asks for their ticket.
    pub poll_interval_seconds: f64,
    /// The share that leaves the queue before being admitted.
    pub abandon_share: f64,
    /// Of those who reserve stock, the share that never pays.
    pub unpaid_share: f64,
    /// Units each shopper tries to buy.
    pub quantity: u32,
    /// Pause between admission and checkout, as a person reading the page.
    pub think_ms: u64,
    /// Where a join needs a proof of work: the hashes per second of a shopper's own device.
    /// The hash search is still done here, at the event's difficulty, but the shopper joins
    /// only once `hashes tried / device_hashes_per_second` has passed since the search began,
    /// as if each shopper solved on their own phone or laptop rather than on this one machine
    /// (bots are not slowed: they pay the search as it runs here). 0, the default: the shopper
    /// joins as soon as the search here ends.
    pub device_hashes_per_second: f64,
}

impl Default for ShopperPlan {
    fn default() -> Self {
        Self {
            count: 200,
            arrival: Arrival::Ramp,
            arrival_seconds: 2.0,
            websocket_share: 0.8,
            poll_interval_seconds: 1.0,
            abandon_share: 0.05,
            unpaid_share: 0.05,
            quantity: 1,
            think_ms: 100,
            device_hashes_per_second: 0.0,
        }
    }
}

/// How the bots behave: many identities each, fast polling, retries that ignore `Retry-After`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotPlan {
    /// How many bots run.
    pub count: u32,
    /// How many user identities each bot signs in with and queues under.
    pub identities: u32,
    /// Pause between two requests of one bot.
    pub interval_ms: u64,
    /// The largest share of the admissions (0 to 1) the bots may take before the run fails;
    /// unset, the bots' share is reported and not judged.
    pub max_share_of_admissions: Option<f64>,
}

impl Default for BotPlan {
    fn default() -> Self {
        Self {
            count: 0,
            identities: 10,
            interval_ms: 20,
            max_share_of_admissions: None,
        }
    }
}

/// Limits of the run itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunPlan {
    /// Time between creating the event and its start (after everyone has signed in). Operators
    /// create a sale well ahead; a server may take a few seconds to pick up a new event.
    pub lead_seconds: f64,
    /// The run stops this long after the start, whatever is still going on.
    pub max_seconds: f64,
    /// HTTP requests in flight at once (the connection pool's size).
    pub http_connections: usize,
    /// WebSockets opened from one source address before moving to the next 127.0.0.N.
    pub sockets_per_address: u32,
    /// How often the queue's public state is sampled.
    pub sample_interval_ms: u64,
    /// Send `X-Forwarded-For` with a distinct documentation address per shopper (for a server
    /// that trusts loopback as a proxy), so each shopper is its own client to the rate limiter.
    pub forwarded_for: bool,
    /// Send every shopper's and bot's requests with one and the same `X-Forwarded-For` address,
    /// as a crowd behind a carrier's NAT, a campus or an office arrives (for a server that
    /// trusts loopback as a proxy). Takes precedence over `forwarded_for`.
    pub one_address: bool,
}

impl Default for RunPlan {
    fn default() -> Self {
        Self {
            lead_seconds: 6.0,
            max_seconds: 60.0,
            http_connections: 256,
            sockets_per_address: 20_000,
            sample_interval_ms: 250,
            forwarded_for: false,
            one_address: false,
        }
    }
}

/// Why a scenario cannot be played.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("scenario {path} is not valid TOML for a scenario: {source}")]
    Parse {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("scenario field {field}: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut scenario = Self::parse(&text).map_err(|source| ScenarioError::Parse {
            path: shown,
            source: Box::new(source),
        })?;
        if scenario.name.is_empty() {
            scenario.name = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sale".to_owned());
        }
        scenario.validate()?;
        Ok(scenario)
    }

    /// Parses scenario TOML, filling defaults.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Checks the values that would make the run meaningless.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let invalid = |field, reason| Err(ScenarioError::Invalid { field, reason });
        let share_ok = |share: f64| (0.0..=1.0).contains(&share);
        let positive = |value: f64| value.is_finite() && value > 0.0;
        let non_negative = |value: f64| value.is_finite() && value >= 0.0;
        if !positive(self.event.outflow_per_second) {
            return invalid("event.outflow_per_second", "must be above zero");
        }
        if self.event.skus == 0 || u64::from(self.event.skus) > self.event.units.max(1) {
            return invalid("event.skus", "must be between 1 and the number of units");
        }
        if !share_ok(self.shoppers.websocket_share)
            || !share_ok(self.shoppers.abandon_share)
            || !share_ok(self.shoppers.unpaid_share)
        {
            return invalid("shoppers.*_share", "shares are between 0 and 1");
        }
        if !non_negative(self.shoppers.arrival_seconds)
            || !positive(self.shoppers.poll_interval_seconds)
        {
            return invalid("shoppers", "durations must be positive");
        }
        if !non_negative(self.shoppers.device_hashes_per_second) {
            return invalid(
                "shoppers.device_hashes_per_second",
                "must be 0 (off) or a positive rate",
            );
        }
        if self.shoppers.quantity == 0 {
            return invalid("shoppers.quantity", "must be at least 1");
        }
        if self.bots.count > 0 && self.bots.identities == 0 {
            return invalid("bots.identities", "a bot needs at least one identity");
        }
        if self
            .bots
            .max_share_of_admissions
            .is_some_and(|share| !share_ok(share))
        {
            return invalid("bots.max_share_of_admissions", "a share is between 0 and 1");
        }
        if !positive(self.run.max_seconds) || !non_negative(self.run.lead_seconds) {
            return invalid("run", "durations must be positive");
        }
        if self.run.http_connections == 0 || self.run.sockets_per_address == 0 {
            return invalid("run", "connection limits must be at least 1");
        }
        if let Some((field, reason)) = self.checkout.as_ref().and_then(CheckoutPlan::invalid) {
            return invalid(field, reason);
        }
        Ok(())
    }

    /// The SKUs of the event and the units of each, the remainder going to the first ones.
    pub fn inventory(&self) -> Vec<(String, u64)> {
        let skus = u64::from(self.event.skus.max(1));
        let per_sku = self.event.units / skus;
        let remainder = self.event.units % skus;
        (0..skus)
            .map(|index| {
                let extra = u64::from(index < remainder);
                (format!("sku-{}", index + 1), per_sku + extra)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn an_empty_file_is_a_valid_scenario_of_defaults() {
        let scenario = Scenario::parse("").unwrap();
        assert!(scenario.validate().is_ok());
        assert_eq!(scenario.shoppers.arrival, Arrival::Ramp);
    }

    #[test]
    fn an_unknown_field_is_refused_rather_than_ignored() {
        assert!(Scenario::parse("[shoppers]\ncuont = 3\n").is_err());
    }

    #[test]
    fn a_share_above_one_is_refused() {
        let scenario = Scenario::parse("[shoppers]\nwebsocket_share = 1.5\n").unwrap();
        assert!(scenario.validate().is_err());
    }

    #[test]
    fn arrival_windows_and_the_device_rate_are_read_and_default_to_off() {
        let defaults = Scenario::parse("").unwrap();
        assert_eq!(defaults.event.opening_window_seconds, 0);
        assert_eq!(defaults.event.arrival_window_seconds, 0);
        assert_eq!(defaults.shoppers.device_hashes_per_second, 0.0);
        let scenario = Scenario::parse(
            "[event]\nopening_window_seconds = 60\narrival_window_seconds = 10\n\
             [shoppers]\ndevice_hashes_per_second = 144000.0\n",
        )
        .unwrap();
        assert!(scenario.validate().is_ok());
        assert_eq!(scenario.event.opening_window_seconds, 60);
        assert_eq!(scenario.event.arrival_window_seconds, 10);
        assert_eq!(scenario.shoppers.device_hashes_per_second, 144_000.0);
    }

    #[test]
    fn a_negative_window_or_device_rate_is_refused() {
        assert!(Scenario::parse("[event]\nopening_window_seconds = -1\n").is_err());
        let scenario = Scenario::parse("[shoppers]\ndevice_hashes_per_second = -5.0\n").unwrap();
        assert!(scenario.validate().is_err());
    }

    #[test]
    fn a_checkout_table_sets_the_target_and_its_phases() {
        let text = "[checkout]\ntarget = { p95_ms = 800, max_error_rate = 0.05 }\n\
                    phases = [{ from_second = 20, to_second = 50, p95_ms = 2500, error_rate = 0.2 }]\n";
        let scenario = Scenario::parse(text).unwrap();
        let checkout = scenario.checkout.as_ref().unwrap();
        assert_eq!(checkout.target.p95_ms, 800);
        assert_eq!(checkout.report_window_seconds, 10.0);
        assert_eq!(checkout.phases[0].to_second, 50.0);
        assert!(scenario.validate().is_ok());
        let bad = Scenario::parse("[checkout]\ntarget = { p95_ms = 0, max_error_rate = 0.05 }\n");
        assert!(bad.unwrap().validate().is_err());
    }

    #[test]
    fn units_spread_over_skus_add_up_to_the_total() {
        let scenario = Scenario::parse("[event]\nunits = 10\nskus = 3\n").unwrap();
        let inventory = scenario.inventory();
        assert_eq!(inventory.len(), 3);
        assert_eq!(inventory.iter().map(|(_, units)| units).sum::<u64>(), 10);
        assert_eq!(inventory[0], ("sku-1".to_owned(), 4));
    }
}
