//! Outflow: admissions per second against the set rate, over the seconds when someone was
//! waiting (an empty queue admits nobody, and that is no fault of the outflow), and its two
//! bounds: no prefix of the sale may admit more than `rate × elapsed + burst`, and no stretch of
//! busy seconds may admit fewer than `rate × length − (burst + 1)`.

use serde::Serialize;

/// A sample of the queue reduced to what the outflow maths needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// When it was sampled.
    pub at_ms: i64,
    /// Whether someone was waiting and the event was open.
    pub waiting: bool,
}

/// Outflow measured against the setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutflowReport {
    /// The set rate.
    pub set_per_second: f64,
    /// The set burst.
    pub burst: u32,
    /// Admissions in each second from the start.
    pub per_second: Vec<u64>,
    /// Whether the queue was busy (someone waiting, event open) throughout each second.
    pub busy: Vec<bool>,
    /// Seconds the queue was busy throughout.
    pub busy_seconds: u64,
    /// Admissions within those seconds.
    pub admitted_while_busy: u64,
    /// Admissions per busy second.
    pub actual_per_second: Option<f64>,
    /// Every admission seen.
    pub admitted_total: u64,
    /// Admissions per second from the start to the last admission, busy or not.
    pub over_run_per_second: Option<f64>,
    /// `actual / set`; 1.0 is exact.
    pub accuracy: Option<f64>,
    /// The largest number of admissions by which any prefix of the sale exceeded
    /// `rate × elapsed + burst`; zero or less when the bound held.
    pub max_excess: f64,
    /// Whether the bound was broken by more than one admission (the time stamps' rounding).
    pub exceeded: bool,
    /// The largest number of admissions by which a stretch of busy seconds fell short of
    /// `rate × length − (burst + 1)`; zero or less when the floor held.
    pub max_shortfall: f64,
    /// Whether the floor was broken by more than one admission (the time stamps' rounding).
    pub short: bool,
}

/// Counts admissions (Unix ms) into seconds from `start_ms`, `seconds` buckets.
pub fn per_second(admissions_ms: &[i64], start_ms: i64, seconds: usize) -> Vec<u64> {
    let mut buckets = vec![0; seconds];
    for &at in admissions_ms {
        let second = ((at - start_ms).max(0) / 1_000) as usize;
        if let Some(bucket) = buckets.get_mut(second) {
            *bucket += 1;
        }
    }
    buckets
}

/// For each second from `start_ms`, whether every sample from the last one at or before its
/// start to the first one at or after its end saw someone waiting.
pub fn busy_seconds(samples: &[Busy], start_ms: i64, seconds: usize) -> Vec<bool> {
    (0..seconds)
        .map(|second| {
            let from = start_ms + second as i64 * 1_000;
            let to = from + 1_000;
            let first = samples.iter().rposition(|s| s.at_ms <= from);
            let last = samples.iter().position(|s| s.at_ms >= to);
            match (first, last) {
                (Some(first), Some(last)) => samples[first..=last].iter().all(|s| s.waiting),
                _ => false,
            }
        })
        .collect()
}

/// The largest excess of admissions over `rate × elapsed + burst` at any admission.
pub fn max_excess(admissions_ms: &[i64], start_ms: i64, rate: f64, burst: u32) -> f64 {
    let mut sorted = admissions_ms.to_vec();
    sorted.sort_unstable();
    sorted
        .iter()
        .enumerate()
        .map(|(index, &at)| {
            let elapsed = (at - start_ms).max(0) as f64 / 1_000.0;
            (index + 1) as f64 - (rate * elapsed + f64::from(burst))
        })
        .fold(f64::NEG_INFINITY, f64::max)
        .max(-f64::from(burst))
}

/// The largest shortfall of admissions under `rate × length − (burst + 1)` over any stretch of
/// consecutive busy seconds (every stretch inside a run of busy seconds, not only the whole run:
/// a stall in the middle of a long run must not hide behind a burst at its start).
pub fn max_shortfall(per_second: &[u64], busy: &[bool], rate: f64, burst: u32) -> f64 {
    let slack = f64::from(burst) + 1.0;
    let mut worst = f64::NEG_INFINITY;
    for from in 0..per_second.len() {
        let mut admitted = 0;
        for (to, &in_second) in per_second.iter().enumerate().skip(from) {
            if !busy.get(to).copied().unwrap_or(false) {
                break;
            }
            admitted += in_second;
            let length = (to - from + 1) as f64;
            worst = worst.max(rate * length - slack - admitted as f64);
        }
    }
    worst.max(-slack)
}

/// Measures the outflow of a sale.
pub fn measure(
    admissions_ms: &[i64],
    samples: &[Busy],
    start_ms: i64,
    end_ms: i64,
    rate: f64,
    burst: u32,
) -> OutflowReport {
    let seconds = ((end_ms - start_ms).max(0) as f64 / 1_000.0).ceil() as usize;
    let per_second = per_second(admissions_ms, start_ms, seconds);
    let busy = busy_seconds(samples, start_ms, seconds);
    let busy_count = busy.iter().filter(|&&b| b).count() as u64;
    let admitted_while_busy: u64 = per_second
        .iter()
        .zip(&busy)
        .filter(|(_, b)| **b)
        .map(|(n, _)| n)
        .sum();
    let actual = (busy_count > 0).then(|| admitted_while_busy as f64 / busy_count as f64);
    let excess = max_excess(admissions_ms, start_ms, rate, burst);
    let shortfall = max_shortfall(&per_second, &busy, rate, burst);
    let last = admissions_ms.iter().copied().max().unwrap_or(start_ms);
    let over_run_seconds = (last - start_ms) as f64 / 1_000.0;
    OutflowReport {
        set_per_second: rate,
        burst,
        per_second,
        busy,
        busy_seconds: busy_count,
        admitted_while_busy,
        actual_per_second: actual,
        admitted_total: admissions_ms.len() as u64,
        over_run_per_second: (over_run_seconds > 0.0)
            .then(|| admissions_ms.len() as f64 / over_run_seconds),
        accuracy: actual.map(|actual| actual / rate),
        max_excess: excess,
        exceeded: excess > 1.0,
        max_shortfall: shortfall,
        short: shortfall > 1.0,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn busy_throughout(seconds: i64) -> Vec<Busy> {
        (0..=seconds * 4)
            .map(|i| Busy {
                at_ms: i * 250,
                waiting: true,
            })
            .collect()
    }

    /// Admissions at exactly `rate` per second for `seconds`, evenly spaced.
    fn steady(rate: i64, seconds: i64) -> Vec<i64> {
        (0..rate * seconds).map(|i| i * 1_000 / rate).collect()
    }

    #[test]
    fn a_steady_outflow_at_the_set_rate_is_exact() {
        let report = measure(&steady(10, 10), &busy_throughout(10), 0, 10_000, 10.0, 10);
        assert_eq!(report.per_second, vec![10; 10]);
        assert_eq!(report.accuracy, Some(1.0));
        assert_eq!(report.admitted_total, 100);
        // 100 admissions, the last at 9.9 s.
        assert!((report.over_run_per_second.unwrap() - 100.0 / 9.9).abs() < 1e-9);
        assert!(!report.exceeded);
        assert!(!report.short, "{}", report.max_shortfall);
    }

    #[test]
    fn an_outflow_at_half_the_rate_breaks_the_floor() {
        let report = measure(&steady(5, 10), &busy_throughout(10), 0, 10_000, 10.0, 10);
        assert!(!report.exceeded);
        assert!(report.short);
        // Ten busy seconds at 10/s owe at least 100 − 11 admissions; 50 came.
        assert!(
            (report.max_shortfall - 39.0).abs() < 1e-9,
            "{}",
            report.max_shortfall
        );
    }

    #[test]
    fn a_stall_after_a_burst_breaks_the_floor() {
        // The burst and two good seconds, then five busy seconds with nobody admitted.
        let mut admissions = vec![0; 10];
        admissions.extend(steady(10, 2).into_iter().map(|t| t + 1));
        let report = measure(&admissions, &busy_throughout(7), 0, 7_000, 10.0, 10);
        assert!(report.short, "{}", report.max_shortfall);
        assert!(
            (report.max_shortfall - 39.0).abs() < 1e-9,
            "{}",
            report.max_shortfall
        );
    }

    #[test]
    fn one_admission_late_at_a_second_boundary_is_within_the_floor() {
        let mut admissions = steady(10, 10);
        admissions.retain(|&t| t != 9_900);
        let report = measure(&admissions, &busy_throughout(10), 0, 10_000, 10.0, 10);
        assert!(!report.short, "{}", report.max_shortfall);
    }

    #[test]
    fn an_outflow_at_twice_the_rate_breaks_the_bound() {
        let report = measure(&steady(20, 10), &busy_throughout(10), 0, 10_000, 10.0, 10);
        assert_eq!(report.accuracy, Some(2.0));
        assert!(report.exceeded);
        assert!(report.max_excess > 50.0, "{}", report.max_excess);
    }

    #[test]
    fn a_burst_at_the_start_within_the_setting_is_allowed() {
        let mut admissions = vec![0; 10];
        admissions.extend(steady(10, 5).into_iter().map(|t| t + 1));
        assert!(!measure(&admissions, &busy_throughout(5), 0, 5_000, 10.0, 10).exceeded);
    }

    #[test]
    fn seconds_with_an_empty_queue_do_not_count_against_the_outflow() {
        let mut samples = busy_throughout(10);
        for sample in samples.iter_mut().filter(|s| s.at_ms > 5_000) {
            sample.waiting = false;
        }
        let report = measure(&steady(10, 5), &samples, 0, 10_000, 10.0, 10);
        assert_eq!(report.busy_seconds, 5);
        assert_eq!(report.accuracy, Some(1.0));
        assert!(!report.short, "{}", report.max_shortfall);
    }

    #[test]
    fn a_second_without_samples_at_both_ends_is_not_busy() {
        let samples = [
            Busy {
                at_ms: 0,
                waiting: true,
            },
            Busy {
                at_ms: 500,
                waiting: true,
            },
        ];
        assert_eq!(busy_seconds(&samples, 0, 1), vec![false]);
    }

    #[test]
    fn admissions_before_the_start_count_in_the_first_second() {
        assert_eq!(per_second(&[-5, 10, 1_500], 0, 2), vec![2, 1]);
    }
}
