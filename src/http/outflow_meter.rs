//! The outflow actually achieved, measured from the store's `admitted` counter between reads.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::UnixMillis;
use crate::domain::EventId;

/// Samples shorter apart than this give no rate: too noisy to show an operator.
const MIN_SPELL_MS: i64 = 1_000;
/// Samples older than this are replaced: the rate shown is recent.
const MAX_SPELL_MS: i64 = 30_000;

/// Per event, the last `(time, admitted)` sample and the last rate measured.
#[derive(Debug, Default)]
pub struct OutflowMeter {
    samples: Mutex<HashMap<EventId, Sample>>,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: UnixMillis,
    admitted: u64,
    rate: Option<f64>,
}

impl OutflowMeter {
    /// Records the `admitted` counter read at `now`; returns admissions per second over the
    /// last spell, when one long enough has been seen.
    pub fn record(&self, event: &EventId, admitted: u64, now: UnixMillis) -> Option<f64> {
        let Ok(mut samples) = self.samples.lock() else {
            return None;
        };
        let fresh = Sample {
            at: now,
            admitted,
            rate: None,
        };
        let sample = samples.entry(event.clone()).or_insert(fresh);
        let spell = now - sample.at;
        if spell >= MIN_SPELL_MS {
            let rate = admitted.saturating_sub(sample.admitted) as f64 * 1000.0 / spell as f64;
            *sample = Sample {
                rate: if spell <= MAX_SPELL_MS {
                    Some(rate)
                } else {
                    None
                },
                ..fresh
            };
        }
        sample.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_admissions_over_the_spell_between_reads() {
        let meter = OutflowMeter::default();
        let event = EventId::parse("sale").unwrap();
        assert_eq!(meter.record(&event, 0, 0), None);
        assert_eq!(meter.record(&event, 5, 500), None);
        assert_eq!(meter.record(&event, 20, 2_000), Some(10.0));
        assert_eq!(meter.record(&event, 20, 2_100), Some(10.0));
    }
}
