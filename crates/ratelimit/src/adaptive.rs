//! Adaptive limits: a moving baseline of each rule's traffic, and a tighter limit while traffic
//! runs far above it.
//!
//! Traffic is counted in samples (10 s by default). At the end of each sample its rate is compared
//! with the baseline, an exponentially weighted average with a configured half-life. A sample above
//! `multiple` times the baseline (and above a floor, since quiet rules are noisy) tightens the rule
//! to `tighten_factor` until a sample falls back under. The baseline takes in at most `multiple`
//! times itself from any sample, so a flood cannot become the new normal in one step, while a
//! lasting rise is still learned over a few half-lives.
//!
//! Only requests the rule let through are counted: a flood of refused requests from one client
//! must not tighten everyone's limit. The request path only adds to an atomic counter and reads
//! an atomic factor; the request that finds the sample over closes it, under a lock no other
//! request waits for.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The adaptive settings of a rule set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveSettings {
    /// Whether rules adapt.
    pub enabled: bool,
    /// Traffic above this multiple of the baseline tightens.
    pub multiple: f64,
    /// The tightened limit in thousandths.
    pub tighten_permille: i64,
    /// The baseline's half-life, ms.
    pub half_life_ms: i64,
    /// The sample length, ms.
    pub sample_ms: i64,
    /// Requests per second under which a rule never tightens.
    pub min_rate: f64,
}

/// The baseline of one rule, as a value (the pure part).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Baseline {
    /// Requests per second, averaged; `None` before the first sample.
    pub rate: Option<f64>,
    /// Whether the rule is tightened now.
    pub tightened: bool,
}

impl Baseline {
    /// Takes in one closed sample of `count` requests over `sample_ms`, preceded by `idle`
    /// empty samples.
    pub fn close_sample(self, count: u64, idle: u32, settings: &AdaptiveSettings) -> Baseline {
        let sample_s = settings.sample_ms.max(1) as f64 / 1000.0;
        let rate = count as f64 / sample_s;
        let keep = 0.5_f64.powf(settings.sample_ms as f64 / settings.half_life_ms.max(1) as f64);
        let Some(baseline) = self.rate else {
            return Baseline {
                rate: Some(rate),
                tightened: false,
            };
        };
        let baseline = baseline * keep.powi(i32::try_from(idle).unwrap_or(i32::MAX));
        let tightened = rate >= settings.min_rate && rate > settings.multiple * baseline;
        let learned = rate.min(settings.multiple * baseline.max(settings.min_rate));
        Baseline {
            rate: Some(baseline * keep + learned * (1.0 - keep)),
            tightened,
        }
    }
}

/// One rule's live traffic and factor, shared by all requests and kept across reloads.
#[derive(Debug, Default)]
pub struct TrafficTracker {
    count: AtomicU64,
    sample_start_ms: AtomicI64,
    permille: AtomicI64,
    baseline: Mutex<Baseline>,
}

impl TrafficTracker {
    /// A tracker with no history.
    pub fn new() -> Self {
        Self {
            permille: AtomicI64::new(1000),
            ..Self::default()
        }
    }

    /// The rule's factor in thousandths at `now_ms`, closing the sample when it is over.
    /// Reading it counts nothing: only what the rule lets through is counted
    /// ([`TrafficTracker::count_allowed`]), so refused and banned requests (one client flooding)
    /// cannot raise the baseline's sample and tighten the rule for everyone else.
    pub fn factor(&self, now_ms: i64, settings: &AdaptiveSettings) -> i64 {
        if !settings.enabled {
            return 1000;
        }
        let start = self.sample_start_ms.load(Ordering::Relaxed);
        if start == 0 {
            let _ = self.sample_start_ms.compare_exchange(
                0,
                now_ms,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        } else if now_ms >= start + settings.sample_ms {
            self.close(start, now_ms, settings);
        }
        self.permille.load(Ordering::Relaxed)
    }

    /// Counts one request the rule let through.
    pub fn count_allowed(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn close(&self, start: i64, now_ms: i64, settings: &AdaptiveSettings) {
        let Ok(mut baseline) = self.baseline.try_lock() else {
            return;
        };
        if self
            .sample_start_ms
            .compare_exchange(start, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let count = self.count.swap(0, Ordering::Relaxed);
        let samples = (now_ms - start) / settings.sample_ms.max(1);
        let idle = u32::try_from(samples.saturating_sub(1)).unwrap_or(u32::MAX);
        *baseline = baseline.close_sample(count, idle, settings);
        let permille = if baseline.tightened {
            settings.tighten_permille
        } else {
            1000
        };
        self.permille.store(permille, Ordering::Relaxed);
    }

    /// The rule's factor in thousandths now.
    pub fn permille(&self) -> i64 {
        self.permille.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AdaptiveSettings {
        AdaptiveSettings {
            enabled: true,
            multiple: 2.0,
            tighten_permille: 500,
            half_life_ms: 600_000,
            sample_ms: 10_000,
            min_rate: 20.0,
        }
    }

    #[test]
    fn traffic_far_above_its_baseline_tightens_and_relaxes_when_it_falls() {
        let tracker = TrafficTracker::new();
        let settings = settings();
        let mut now = 1_000_000;
        let mut run_sample = |per_second: u64| {
            for i in 0..per_second * 10 {
                tracker.factor(now + i as i64 * 1000 / per_second as i64, &settings);
                tracker.count_allowed();
            }
            now += 10_000;
            tracker.factor(now, &settings)
        };
        for _ in 0..6 {
            assert_eq!(run_sample(30), 1000);
        }
        assert_eq!(run_sample(200), 500);
        assert_eq!(run_sample(30), 1000);
    }

    #[test]
    fn a_quiet_rule_never_tightens() {
        let quiet = Baseline {
            rate: Some(0.5),
            tightened: false,
        };
        assert!(!quiet.close_sample(100, 0, &settings()).tightened);
    }
}
