//! Latency percentiles from HDR histograms of microseconds, reported in milliseconds.

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::recorder::new_histogram;

/// The usual percentiles of one measure, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// How many values.
    pub count: u64,
    /// The mean.
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// The largest value.
    pub max_ms: f64,
}

impl LatencySummary {
    /// Summarises a histogram of microseconds.
    pub fn from_micros(histogram: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1_000.0;
        let at = |quantile: f64| ms(histogram.value_at_quantile(quantile));
        Self {
            count: histogram.len(),
            mean_ms: histogram.mean() / 1_000.0,
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: ms(histogram.max()),
        }
    }

    /// Summarises durations given in milliseconds (negative ones count as zero).
    pub fn from_millis(values: impl IntoIterator<Item = i64>) -> Self {
        let mut histogram = new_histogram();
        for value in values {
            histogram.saturating_record(value.max(0).unsigned_abs().saturating_mul(1_000).max(1));
        }
        Self::from_micros(&histogram)
    }
}

/// Points of the cumulative distribution of a histogram: (milliseconds, share at or below).
pub fn cdf_points(histogram: &Histogram<u64>) -> Vec<(f64, f64)> {
    let total = histogram.len();
    if total == 0 {
        return Vec::new();
    }
    histogram
        .iter_quantiles(2)
        .map(|step| {
            (
                step.value_iterated_to() as f64 / 1_000.0,
                step.count_since_last_iteration() as f64,
            )
        })
        .scan(0.0, |seen, (ms, count)| {
            *seen += count;
            Some((ms.max(0.001), *seen / total as f64))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn percentiles_of_one_to_a_thousand_milliseconds_are_where_expected() {
        let summary = LatencySummary::from_millis(1..=1_000);
        assert_eq!(summary.count, 1_000);
        // Three significant digits: within 0.1% of the exact value.
        assert!((summary.p50_ms - 500.0).abs() <= 0.5, "{}", summary.p50_ms);
        assert!((summary.p99_ms - 990.0).abs() <= 1.0, "{}", summary.p99_ms);
        assert!(
            (summary.max_ms - 1_000.0).abs() <= 1.0,
            "{}",
            summary.max_ms
        );
        assert!(
            (summary.mean_ms - 500.5).abs() <= 0.5,
            "{}",
            summary.mean_ms
        );
    }

    #[test]
    fn a_single_slow_request_shows_only_in_the_top_percentiles() {
        let summary = LatencySummary::from_millis(std::iter::repeat_n(2, 999).chain([3_000]));
        assert!((summary.p99_ms - 2.0).abs() < 0.01);
        assert!(summary.max_ms >= 2_990.0);
    }

    #[test]
    fn an_empty_measure_is_all_zeros() {
        let summary = LatencySummary::from_millis([]);
        assert_eq!(summary.count, 0);
        assert_eq!(summary.p99_ms, 0.0);
    }

    #[test]
    fn the_cdf_rises_to_one() {
        let mut histogram = new_histogram();
        for micros in [1_000, 2_000, 3_000, 4_000] {
            histogram.record(micros).unwrap();
        }
        let points = cdf_points(&histogram);
        assert!(
            points
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
        );
        assert!((points.last().unwrap().1 - 1.0).abs() < 1e-9);
    }
}
