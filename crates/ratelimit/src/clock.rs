//! Where the limiter, and the service around it, get the current time.
//!
//! Nothing that decides reads the system clock directly: it is handed a [`Clock`]. Production
//! uses [`SystemClock`]; tests use a manual clock and run minutes in milliseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The beat of a background loop: `while every.tick().await { … }` runs the body every
/// `period` until `stop` turns `true` (or its sender is gone). A tick that comes late is
/// delayed, not bunched: a slow store slows the loop rather than queueing steps. The background
/// loops of an instance (live statistics, the outflow's health, stored rules, alerts, refusal
/// tallies) all beat through it.
pub struct Every {
    ticks: tokio::time::Interval,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl Every {
    /// A beat every `period`, the first at once, until `stop` turns `true`.
    pub fn new(period: Duration, stop: tokio::sync::watch::Receiver<bool>) -> Self {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self { ticks, stop }
    }

    /// Waits for the next beat; `false` once the loop should stop.
    pub async fn tick(&mut self) -> bool {
        tokio::select! {
            _ = self.ticks.tick() => {}
            changed = self.stop.changed() => if changed.is_err() {
                return false;
            },
        }
        !*self.stop.borrow()
    }
}

/// Milliseconds since the Unix epoch, UTC. Every stored time in waitroom uses this unit.
pub type UnixMillis = i64;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current time in milliseconds since the Unix epoch.
    fn now_ms(&self) -> UnixMillis;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> UnixMillis {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as UnixMillis)
            .unwrap_or(0)
    }
}

/// Formats a time as RFC 3339 UTC with millisecond precision, the API's time format.
pub fn to_rfc3339(at: UnixMillis) -> String {
    let nanos = i128::from(at) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Parses an RFC 3339 time into milliseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<UnixMillis> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_milliseconds() {
        let at = 1_790_000_000_123;
        assert_eq!(parse_rfc3339(&to_rfc3339(at)), Some(at));
    }
}
