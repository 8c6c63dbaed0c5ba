//! The rows of the report's table on the outflow that follows the checkout: spans of about
//! five seconds between the reads nearest their ends, with the phase played, the health
//! reported, the outflow in force and the admissions the server counted.

use serde::Serialize;

use super::Frame;
use crate::checkout_fault::{CheckoutPlan, FaultPhase, HealthFigures};
use crate::follow_watch::{FollowSample, HealthReport};

/// The width of the table's rows.
const SPAN_SECONDS: f64 = 5.0;

/// One row of the table: a span of about five seconds between two reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// Seconds from the start.
    pub from_second: f64,
    /// Seconds from the start.
    pub to_second: f64,
    /// The phase played during the span, if any.
    pub phase: Option<FaultPhase>,
    /// The last health report sent during it.
    pub reported: Option<HealthFigures>,
    /// The outflow in force, lowest and highest read.
    pub effective_min: f64,
    pub effective_max: f64,
    /// The outflow in force averaged over the span.
    pub effective_mean: f64,
    /// Admissions the server counted between the reads.
    pub admitted: u64,
    /// Those per second.
    pub admitted_per_second: f64,
}

/// The rows from the start to the end of the run; a row with fewer than two reads is left out.
pub(super) fn spans(
    plan: &CheckoutPlan,
    samples: &[FollowSample],
    reports: &[HealthReport],
    frame: Frame<'_>,
) -> Vec<Span> {
    let run_seconds = (frame.end_ms - frame.start_ms) as f64 / 1_000.0;
    let count = (run_seconds / SPAN_SECONDS).ceil().max(0.0) as usize;
    let at = |second: f64| frame.start_ms + (second * 1_000.0) as i64;
    (0..count)
        .filter_map(|k| {
            let (from, to) = (k as f64 * SPAN_SECONDS, (k + 1) as f64 * SPAN_SECONDS);
            let first = samples
                .iter()
                .rposition(|s| s.at_ms <= at(from))
                .or_else(|| samples.iter().position(|s| s.at_ms >= at(from)))?;
            let last = samples.iter().rposition(|s| s.at_ms <= at(to))?;
            let within = samples.get(first..=last).filter(|w| w.len() >= 2)?;
            let (a, b) = (within[0], within[within.len() - 1]);
            let dt = (b.at_ms - a.at_ms) as f64 / 1_000.0;
            let area: f64 = within
                .windows(2)
                .map(|p| (p[0].effective_per_second + p[1].effective_per_second) / 2.0)
                .zip(
                    within
                        .windows(2)
                        .map(|p| (p[1].at_ms - p[0].at_ms) as f64 / 1_000.0),
                )
                .map(|(rate, dt)| rate * dt)
                .sum();
            let rates = within.iter().map(|s| s.effective_per_second);
            let admitted = b.admitted.saturating_sub(a.admitted);
            Some(Span {
                from_second: from,
                to_second: to,
                phase: plan
                    .phases
                    .iter()
                    .find(|p| p.from_second < to && from < p.to_second)
                    .copied(),
                reported: reports
                    .iter()
                    .rfind(|r| (at(from)..at(to)).contains(&r.at_ms))
                    .map(|r| r.figures),
                effective_min: rates.clone().fold(f64::INFINITY, f64::min),
                effective_max: rates.fold(f64::NEG_INFINITY, f64::max),
                effective_mean: area / dt,
                admitted,
                admitted_per_second: admitted as f64 / dt,
            })
        })
        .collect()
}
