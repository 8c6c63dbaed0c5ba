//! The bodies of the admin event endpoints, validated with garde, and their mapping onto
//! [`EventConfig`]. Rules that span fields are checked on the resulting configuration by
//! [`check_config`], so a create and a live change obey the same rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::clock::{UnixMillis, parse_rfc3339};
use crate::domain::{
    CheckoutTarget, EventConfig, EventId, JoinDefences, Mode, OperatorStatus, PageBranding,
    Retention, Sku, UnitLimit,
};
use crate::error::{ApiError, FieldError};

/// Largest number of SKUs an event may sell.
const MAX_SKUS: usize = 1000;
/// Largest stock of one SKU.
const MAX_UNITS: u64 = 1_000_000_000;

/// `POST /v1/admin/events`.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateEvent)]
pub struct CreateEventBody {
    #[garde(custom(valid_event_id))]
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub id: String,
    #[garde(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// When the queue opens and the draw shuffles the pre-queue.
    #[garde(custom(valid_time))]
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// When joins into the pre-queue begin (default: `starts_at`).
    #[garde(inner(custom(valid_time)))]
    #[schema(format = DateTime)]
    pub prequeue_opens_at: Option<String>,
    /// Shoppers admitted per second (the leaky bucket's rate).
    #[garde(range(min = 0.001, max = 1_000_000.0))]
    #[schema(minimum = 0.001, maximum = 1_000_000.0)]
    pub outflow_per_second: f64,
    /// Most shoppers admitted at once after a quiet spell (default: one second's worth).
    #[garde(inner(range(min = 1, max = 1_000_000)))]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub outflow_burst: Option<u32>,
    /// Most admitted shoppers at once (`null`: no cap).
    #[garde(inner(range(min = 1)))]
    #[schema(minimum = 1)]
    pub max_active: Option<u32>,
    #[garde(skip)]
    pub cap_follows_stock: Option<bool>,
    /// How long an admission may wait for its checkout (default 300).
    #[garde(inner(range(min = 1, max = 86_400)))]
    #[schema(minimum = 1, maximum = 86_400)]
    pub admission_ttl_seconds: Option<u32>,
    /// How long a reservation holds its stock unpaid (default 600).
    #[garde(inner(range(min = 1, max = 86_400)))]
    #[schema(minimum = 1, maximum = 86_400)]
    pub reservation_ttl_seconds: Option<u32>,
    #[garde(skip)]
    pub allow_anonymous: Option<bool>,
    /// Units on sale per SKU.
    #[serde(default)]
    #[garde(custom(valid_inventory))]
    #[schema(value_type = BTreeMap<String, u64>)]
    pub inventory: BTreeMap<Sku, u64>,
    #[garde(skip)]
    pub mode: Option<Mode>,
    /// How long a head shopper without a page keeps the place (default 60).
    #[garde(inner(range(min = 1, max = 86_400)))]
    #[schema(minimum = 1, maximum = 86_400)]
    pub abandon_after_seconds: Option<u32>,
    /// Leading zero bits of SHA-256 a join's proof of work needs (`GET
    /// /v1/events/{event}/challenge`); 0, the default, turns it off. The server adds up to 8
    /// bits on its own while new identities join far faster than usual.
    #[garde(inner(range(max = 32)))]
    #[schema(minimum = 0, maximum = 32)]
    pub proof_difficulty: Option<u8>,
    /// Joins need an invitation (`POST /v1/admin/events/{event}/invitations`); default false.
    #[garde(skip)]
    pub invitation_only: Option<bool>,
    /// Seconds after the start during which arrivals are ordered by a seeded hash, not by the
    /// millisecond (speed is not merit; 60 is the suggested length; 0, the default, is off).
    #[garde(inner(range(max = 86_400)))]
    #[schema(minimum = 0, maximum = 86_400)]
    pub opening_window_seconds: Option<u32>,
    /// Every later span of this many seconds is an arrival window too: first in, first out by
    /// window of arrival (default 0: off).
    #[garde(inner(range(max = 86_400)))]
    #[schema(minimum = 0, maximum = 86_400)]
    pub arrival_window_seconds: Option<u32>,
    /// Most units one order may take: a number (in all), or `{"total": N, "per_sku": M}`
    /// (`per_sku`: of any one SKU). Default: no limit.
    #[garde(inner(custom(valid_limit)))]
    pub max_units_per_order: Option<UnitLimit>,
    /// Most units one shopper may have in paid and unpaid orders together: a number (in all),
    /// or `{"total": N, "per_sku": M}`. Default: no limit.
    #[garde(inner(custom(valid_limit)))]
    pub max_units_per_shopper: Option<UnitLimit>,
    /// How the queue and checkout pages look: `title`, `message`, `logo_url`, `colors`,
    /// `links`. Default: the plain look.
    #[garde(dive)]
    pub page: Option<PageBranding>,
    /// The checkout's health the outflow follows: while the checkout's p95 answer time is above
    /// `p95_ms` or its share of failures above `max_error_rate`, the outflow halves every 5 s
    /// (down to a tenth of `outflow_per_second`, at least one shopper a minute), then climbs
    /// back by a twentieth every 5 s while healthy, never above `outflow_per_second`.
    /// Absent (the default): the outflow stays at its set rate.
    #[garde(inner(custom(valid_target)))]
    pub checkout_target: Option<CheckoutTarget>,
    /// Once the event is closed, it is removed this many seconds later with everything kept for
    /// it (line, tickets, admissions, orders, stock), as `DELETE /v1/admin/events/{event}`
    /// would; the count starts when an operator closes it and stops if it is opened again.
    /// Absent (the default): kept until an operator removes it.
    #[garde(inner(range(max = MOST_RETENTION_SECONDS)))]
    #[schema(minimum = 0, maximum = 315_360_000)]
    pub retention_seconds: Option<u32>,
}

/// What `PATCH` may set on the operator status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusChange {
    /// Stop the outflow; shoppers may still join.
    Paused,
    /// Resume: status follows the clock and the stock again.
    Open,
    /// End the event: no joins, no admissions.
    Closed,
}

/// `PATCH /v1/admin/events/{event}`: every field optional; `null` clears the optional ones.
#[derive(Debug, Default, Deserialize, garde::Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PatchEvent)]
pub struct PatchEventBody {
    #[garde(inner(length(min = 1, max = 200)))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[garde(inner(custom(valid_time)))]
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// `null` clears it (the pre-queue then opens at `starts_at`).
    #[serde(default, deserialize_with = "present")]
    #[garde(skip)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub prequeue_opens_at: Option<Option<String>>,
    #[garde(inner(range(min = 0.001, max = 1_000_000.0)))]
    #[schema(minimum = 0.001, maximum = 1_000_000.0)]
    pub outflow_per_second: Option<f64>,
    /// Most shoppers admitted at once after a quiet spell (default: one second's worth).
    #[garde(inner(range(min = 1, max = 1_000_000)))]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub outflow_burst: Option<u32>,
    /// `null` removes the cap.
    #[serde(default, deserialize_with = "present")]
    #[garde(skip)]
    #[schema(value_type = Option<u32>, minimum = 1)]
    pub max_active: Option<Option<u32>>,
    #[garde(skip)]
    pub cap_follows_stock: Option<bool>,
    /// How long an admission may wait for its checkout (default 300).
    #[garde(inner(range(min = 1, max = 86_400)))]
    #[schema(minimum = 1, maximum = 86_400)]
    pub admission_ttl_seconds: Option<u32>,
    /// How long a reservation holds its stock unpaid (default 600).
    #[garde(inner(range(min = 1, max = 86_400)))]
    #[schema(minimum = 1, maximum = 86_400)]
    pub reservation_ttl_seconds: Option<u32>,
    #[garde(skip)]
    pub allow_anonymous: Option<bool>,
    /// The total units per SKU: each SKU's stock left moves by the change (never below zero).
    #[garde(inner(custom(valid_inventory)))]
    #[schema(value_type = Option<BTreeMap<String, u64>>)]
    pub inventory: Option<BTreeMap<Sku, u64>>,
    #[garde(skip)]
    pub mode: Option<Mode>,
    /// How long a head shopper without a page keeps the place (default 60).
    #[garde(inner(range(min = 1, max = 86_400)))]
    #[schema(minimum = 1, maximum = 86_400)]
    pub abandon_after_seconds: Option<u32>,
    /// Leading zero bits of SHA-256 a join's proof of work needs (`GET
    /// /v1/events/{event}/challenge`); 0, the default, turns it off. The server adds up to 8
    /// bits on its own while new identities join far faster than usual.
    #[garde(inner(range(max = 32)))]
    #[schema(minimum = 0, maximum = 32)]
    pub proof_difficulty: Option<u8>,
    /// Joins need an invitation (`POST /v1/admin/events/{event}/invitations`); default false.
    #[garde(skip)]
    pub invitation_only: Option<bool>,
    /// Seconds after the start during which arrivals are ordered by a seeded hash, not by the
    /// millisecond (speed is not merit; 60 is the suggested length; 0, the default, is off).
    #[garde(inner(range(max = 86_400)))]
    #[schema(minimum = 0, maximum = 86_400)]
    pub opening_window_seconds: Option<u32>,
    /// Every later span of this many seconds is an arrival window too: first in, first out by
    /// window of arrival (default 0: off).
    #[garde(inner(range(max = 86_400)))]
    #[schema(minimum = 0, maximum = 86_400)]
    pub arrival_window_seconds: Option<u32>,
    /// `paused` stops the outflow, `open` resumes it, `closed` ends the event (no joins, no
    /// admissions, no new reservations; reservations made before may still be paid until they
    /// run out).
    #[garde(skip)]
    pub status: Option<StatusChange>,
    /// A number (in all) or `{"total": N, "per_sku": M}`; `null` removes the limit.
    #[serde(default, deserialize_with = "present")]
    #[garde(inner(inner(custom(valid_limit))))]
    #[schema(value_type = Option<UnitLimit>)]
    pub max_units_per_order: Option<Option<UnitLimit>>,
    /// A number (in all) or `{"total": N, "per_sku": M}`; `null` removes the limit.
    #[serde(default, deserialize_with = "present")]
    #[garde(inner(inner(custom(valid_limit))))]
    #[schema(value_type = Option<UnitLimit>)]
    pub max_units_per_shopper: Option<Option<UnitLimit>>,
    /// Replaces the page branding whole; `null` returns to the plain look.
    #[serde(default, deserialize_with = "present")]
    #[garde(dive)]
    #[schema(value_type = Option<PageBranding>)]
    pub page: Option<Option<PageBranding>>,
    /// The checkout's health the outflow follows: while the checkout's p95 answer time is above
    /// `p95_ms` or its share of failures above `max_error_rate`, the outflow halves every 5 s
    /// (down to a tenth of `outflow_per_second`, at least one shopper a minute), then climbs
    /// back by a twentieth every 5 s while healthy, never above `outflow_per_second`.
    /// `null` turns it off: the outflow returns to its set rate.
    #[serde(default, deserialize_with = "present")]
    #[garde(inner(inner(custom(valid_target))))]
    #[schema(value_type = Option<CheckoutTarget>)]
    pub checkout_target: Option<Option<CheckoutTarget>>,
    /// Once the event is closed, it is removed this many seconds later with everything kept for
    /// it (line, tickets, admissions, orders, stock), as `DELETE /v1/admin/events/{event}`
    /// would; the count starts when an operator closes it and stops if it is opened again.
    /// `null`: kept until an operator removes it.
    #[serde(default, deserialize_with = "present")]
    #[garde(inner(inner(range(max = MOST_RETENTION_SECONDS))))]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 315_360_000)]
    pub retention_seconds: Option<Option<u32>>,
}

/// The longest retention of a closed event: ten years.
const MOST_RETENTION_SECONDS: u32 = 315_360_000;

/// A field that is present (even as `null`) is `Some`; an absent one stays `None` (`default`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

fn valid_event_id(id: &str, _: &()) -> garde::Result {
    EventId::parse(id)
        .map(|_| ())
        .map_err(|error| garde::Error::new(error.to_string()))
}

fn valid_time(text: &str, _: &()) -> garde::Result {
    parse_rfc3339(text)
        .map(|_| ())
        .ok_or_else(|| garde::Error::new("not an RFC 3339 time like 2030-01-01T12:00:00Z"))
}

fn valid_inventory(inventory: &BTreeMap<Sku, u64>, _: &()) -> garde::Result {
    if inventory.len() > MAX_SKUS {
        return Err(garde::Error::new(format!("at most {MAX_SKUS} SKUs")));
    }
    match inventory.iter().find(|(_, units)| **units > MAX_UNITS) {
        Some((sku, _)) => Err(garde::Error::new(format!(
            "{sku}: at most {MAX_UNITS} units"
        ))),
        None => Ok(()),
    }
}

fn valid_limit(limit: &UnitLimit, _: &()) -> garde::Result {
    let parts = [limit.total, limit.per_sku];
    if parts
        .iter()
        .flatten()
        .any(|&units| !(1..=MAX_UNITS).contains(&units))
    {
        return Err(garde::Error::new(format!(
            "each limit is 1 to {MAX_UNITS} units (or null for none)"
        )));
    }
    Ok(())
}

/// Slowest p95 a target may accept: ten minutes is already no checkout at all.
const MAX_TARGET_P95_MS: u32 = 600_000;

fn valid_target(target: &CheckoutTarget, _: &()) -> garde::Result {
    if !(1..=MAX_TARGET_P95_MS).contains(&target.p95_ms) {
        return Err(garde::Error::new(format!(
            "p95_ms is 1 to {MAX_TARGET_P95_MS} ms"
        )));
    }
    if !(0.0..=1.0).contains(&target.max_error_rate) {
        return Err(garde::Error::new("max_error_rate is a share from 0 to 1"));
    }
    Ok(())
}

fn time(field: &str, text: &str) -> Result<UnixMillis, ApiError> {
    parse_rfc3339(text).ok_or_else(|| ApiError::invalid_field(field, "not an RFC 3339 time"))
}

fn milli_per_second(rate: f64) -> u64 {
    (rate * 1000.0).round().max(1.0) as u64
}

impl CreateEventBody {
    /// The configuration of the new event, created at `now` with a fresh lottery seed.
    pub fn into_config(self, now: UnixMillis) -> Result<EventConfig, ApiError> {
        let id = EventId::parse(&self.id).map_err(|e| ApiError::invalid_field("id", e.0))?;
        let (seed, seed_hash) = crate::queue::new_seed();
        let config = EventConfig {
            id,
            name: self.name,
            starts_at: time("starts_at", &self.starts_at)?,
            prequeue_opens_at: match &self.prequeue_opens_at {
                Some(text) => Some(time("prequeue_opens_at", text)?),
                None => None,
            },
            outflow_milli_per_second: milli_per_second(self.outflow_per_second),
            outflow_burst: self
                .outflow_burst
                .unwrap_or_else(|| self.outflow_per_second.ceil().max(1.0) as u32),
            max_active: self.max_active,
            cap_follows_stock: self.cap_follows_stock.unwrap_or(false),
            admission_ttl_seconds: self.admission_ttl_seconds.unwrap_or(300),
            reservation_ttl_seconds: self.reservation_ttl_seconds.unwrap_or(600),
            allow_anonymous: self.allow_anonymous.unwrap_or(false),
            inventory: self.inventory,
            mode: self.mode.unwrap_or_default(),
            abandon_after_seconds: self.abandon_after_seconds.unwrap_or(60),
            max_units_per_order: self.max_units_per_order.unwrap_or_default(),
            max_units_per_shopper: self.max_units_per_shopper.unwrap_or_default(),
            operator_status: OperatorStatus::Auto,
            seed_hash,
            seed,
            created_at: now,
            defences: JoinDefences {
                proof_difficulty: self.proof_difficulty.unwrap_or(0),
                invitation_only: self.invitation_only.unwrap_or(false),
            },
            page: self.page,
            checkout_target: self.checkout_target,
            arrival_windows: crate::queue::ArrivalWindows::new(
                self.opening_window_seconds.unwrap_or(0),
                self.arrival_window_seconds.unwrap_or(0),
            ),
            retention: Retention {
                after_closed_seconds: self.retention_seconds,
                closed_at: None,
            },
        };
        check_config(&config)?;
        Ok(config)
    }
}

impl PatchEventBody {
    /// `config` with this change applied and checked.
    pub fn apply(self, mut config: EventConfig) -> Result<EventConfig, ApiError> {
        if let Some(name) = self.name {
            config.name = name;
        }
        if let Some(text) = &self.starts_at {
            config.starts_at = time("starts_at", text)?;
        }
        if let Some(opens) = self.prequeue_opens_at {
            config.prequeue_opens_at = match opens {
                Some(text) => Some(time("prequeue_opens_at", &text)?),
                None => None,
            };
        }
        if let Some(rate) = self.outflow_per_second {
            config.outflow_milli_per_second = milli_per_second(rate);
        }
        config.outflow_burst = self.outflow_burst.unwrap_or(config.outflow_burst);
        if let Some(max_active) = self.max_active {
            config.max_active = max_active;
        }
        config.cap_follows_stock = self.cap_follows_stock.unwrap_or(config.cap_follows_stock);
        config.admission_ttl_seconds = self
            .admission_ttl_seconds
            .unwrap_or(config.admission_ttl_seconds);
        config.reservation_ttl_seconds = self
            .reservation_ttl_seconds
            .unwrap_or(config.reservation_ttl_seconds);
        config.allow_anonymous = self.allow_anonymous.unwrap_or(config.allow_anonymous);
        if let Some(inventory) = self.inventory {
            config.inventory = inventory;
        }
        config.mode = self.mode.unwrap_or(config.mode);
        config.abandon_after_seconds = self
            .abandon_after_seconds
            .unwrap_or(config.abandon_after_seconds);
        let defences = &mut config.defences;
        defences.proof_difficulty = self.proof_difficulty.unwrap_or(defences.proof_difficulty);
        defences.invitation_only = self.invitation_only.unwrap_or(defences.invitation_only);
        if self.opening_window_seconds.is_some() || self.arrival_window_seconds.is_some() {
            let windows = &config.arrival_windows;
            config.arrival_windows = windows.with_lengths(
                self.opening_window_seconds
                    .unwrap_or(windows.opening_seconds),
                self.arrival_window_seconds.unwrap_or(windows.every_seconds),
            );
        }
        if let Some(limit) = self.max_units_per_order {
            config.max_units_per_order = limit.unwrap_or_default();
        }
        if let Some(limit) = self.max_units_per_shopper {
            config.max_units_per_shopper = limit.unwrap_or_default();
        }
        if let Some(page) = self.page {
            config.page = page;
        }
        if let Some(target) = self.checkout_target {
            config.checkout_target = target;
        }
        if let Some(seconds) = self.retention_seconds {
            config.retention.after_closed_seconds = seconds;
        }
        if let Some(status) = self.status {
            config.operator_status = match status {
                StatusChange::Paused => OperatorStatus::Paused,
                StatusChange::Open => OperatorStatus::Auto,
                StatusChange::Closed => OperatorStatus::Closed,
            };
        }
        check_config(&config)?;
        Ok(config)
    }
}

/// Rules across fields, for creates and changes alike.
pub fn check_config(config: &EventConfig) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if config
        .prequeue_opens_at
        .is_some_and(|opens| opens > config.starts_at)
    {
        errors.push(FieldError {
            field: "prequeue_opens_at".into(),
            message: "must not be after starts_at".into(),
        });
    }
    if config.max_active == Some(0) {
        errors.push(FieldError {
            field: "max_active".into(),
            message: "must be at least 1 (or null for no cap)".into(),
        });
    }
    if config.mode == Mode::SafetyNet && config.max_active.is_none() {
        errors.push(FieldError {
            field: "max_active".into(),
            message: "safety_net mode needs max_active, the cap under which shoppers pass".into(),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}
