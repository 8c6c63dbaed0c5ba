//! The outflow that follows the checkout, judged from the admin detail read every second: it
//! must back off during every unhealthy phase of at least [`JUDGED_PHASE_SECONDS`], never rise
//! above the set rate, be back to half the set rate within the time the policy allows after the
//! last unhealthy phase, and admit within the drain's bounds at the rate in force: since the
//! start never above it × time + burst, and over any stretch while shoppers waited never below
//! it × time − (burst + 1).
//!
//! The policy is the server's: while unhealthy the outflow halves every [`STEP_SECONDS`] down to
//! a tenth of the set rate; once healthy it climbs back by a twentieth of the set rate per step.

use serde::Serialize;

use crate::checkout_fault::{CheckoutPlan, CheckoutTarget, FaultPhase, HealthFigures};
use crate::follow_watch::{AuditedChanges, FollowSample, FollowWatch};
use crate::run::RunData;

/// The server's shortest time between two steps of the outflow.
pub const STEP_SECONDS: f64 = 5.0;
/// An unhealthy phase shorter than this is not judged: it may end before a step is due.
pub const JUDGED_PHASE_SECONDS: f64 = 15.0;
/// Seconds between a health report and the server's judgement of it: the simulator reports
/// every second and every instance judges every second.
const JUDGEMENT_LAG_SECONDS: f64 = 2.0;
/// What the counter may lag the bound by, in seconds of the set rate: the drain admits every
/// 150 ms, and a read of the admin detail takes a moment of its own.
const READ_SLACK_SECONDS: f64 = 0.2;

/// One phase of the played checkout, and whether the outflow backed off during it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseJudgement {
    /// The phase as played.
    pub phase: FaultPhase,
    /// What the crowd experienced during it (answers that arrived within it).
    pub measured: Option<HealthFigures>,
    /// Unhealthy and long enough to be judged.
    pub judged: bool,
    /// The lowest outflow in force read during it.
    pub lowest_effective: Option<f64>,
    /// Whether it went below the set rate during it.
    pub backed_off: bool,
}

/// The climb back after the last unhealthy phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovery {
    /// When the last unhealthy phase ended, seconds from the start.
    pub fault_ended_second: f64,
    /// How long the policy allows to be back to half the set rate, seconds.
    pub allowed_seconds: f64,
    /// How long it took, seconds after the fault ended (`None`: not seen).
    pub back_to_half_after: Option<f64>,
    /// Whether the run lasted long enough to see the whole allowance.
    pub run_long_enough: bool,
}

impl Recovery {
    /// Whether it was back in time.
    pub fn in_time(&self) -> bool {
        self.back_to_half_after
            .is_some_and(|after| after <= self.allowed_seconds)
    }
}

/// The outflow that followed the played checkout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowReport {
    /// The event's target.
    pub target: CheckoutTarget,
    /// The set rate, shoppers per second.
    pub set_per_second: f64,
    /// The lowest the policy backs off to.
    pub floor_per_second: f64,
    /// Reads of the admin detail.
    pub reads: u64,
    /// The lowest and highest outflow in force read.
    pub lowest_effective: Option<f64>,
    pub highest_effective: Option<f64>,
    pub phases: Vec<PhaseJudgement>,
    /// `None` when no phase was unhealthy.
    pub recovery: Option<Recovery>,
    /// Every span of about five seconds.
    pub spans: Vec<Span>,
    /// The largest excess of admissions since the start over the outflow in force × time +
    /// burst.
    pub max_excess: f64,
    /// The largest shortfall under the outflow in force × time − (burst + 1) between two reads
    /// while shoppers waited.
    pub max_shortfall: f64,
    /// How far the counter may miss either bound from the reads' timing alone.
    pub tolerance: f64,
    /// Health reports sent, and those the server took (`200`).
    pub reports_sent: u64,
    pub reports_accepted: u64,
    /// Checkout answers the crowd experienced, and those that failed.
    pub answers: u64,
    pub answers_failed: u64,
    /// The outflow's changes in the audit log.
    pub audited: Option<AuditedChanges>,
    /// What fails the run.
    pub failures: Vec<String>,
}

/// The lowest outflow the policy backs off to (shoppers per second): a tenth of the set rate,
/// at least one shopper a minute (rounded up to thousandths, as the server keeps it), never
/// above the set rate.
pub fn floor_per_second(set: f64) -> f64 {
    (set / 10.0).max(0.017).min(set)
}

/// The longest the policy takes to be back to half the set rate after a fault, seconds: the
/// report window (and the slowest answer of the fault) still shows it, then the judgement's lag,
/// a step already waited for, and the twentieths from the floor up to half.
pub fn recovery_allowance(set: f64, report_window_seconds: f64, longest_delay_ms: f64) -> f64 {
    let step_up = (set / 20.0).max(0.001);
    let steps = ((set / 2.0 - floor_per_second(set)) / step_up)
        .ceil()
        .max(0.0);
    report_window_seconds
        + longest_delay_ms / 1_000.0
        + JUDGEMENT_LAG_SECONDS
        + STEP_SECONDS
        + steps * STEP_SECONDS
}

/// The run's figures the judgement needs besides what was watched.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// The sale's start (Unix ms).
    pub start_ms: i64,
    /// The run's end (Unix ms).
    pub end_ms: i64,
    /// The set rate and burst.
    pub set: f64,
    pub burst: u32,
    /// Whether shoppers waited throughout each second from the start.
    pub busy: &'a [bool],
}

/// The report of a run whose scenario played a checkout; `busy` says for each second from the
/// start whether shoppers waited throughout.
pub fn from_run(run: &RunData, busy: &[bool]) -> Option<FollowReport> {
    let plan = run.scenario.checkout.as_ref()?;
    let frame = Frame {
        start_ms: run.timeline.starts_at_ms,
        end_ms: run.ended_ms,
        set: run.scenario.event.outflow_per_second,
        burst: run.scenario.event.outflow_burst,
        busy,
    };
    Some(measure(plan, run.follow.as_ref()?, frame))
}

/// Judges the outflow that followed `plan`'s checkout.
pub fn measure(plan: &CheckoutPlan, watched: &FollowWatch, frame: Frame<'_>) -> FollowReport {
    let set = frame.set;
    let samples = &watched.samples;
    let second = |at_ms: i64| (at_ms - frame.start_ms) as f64 / 1_000.0;
    let effective = samples.iter().map(|s| s.effective_per_second);
    let phases: Vec<PhaseJudgement> = plan
        .phases
        .iter()
        .map(|phase| {
            let during = samples
                .iter()
                .filter(|s| (phase.from_second..=phase.to_second).contains(&second(s.at_ms)))
                .map(|s| s.effective_per_second);
            let lowest = during.reduce(f64::min);
            let to_ms = frame.start_ms + (phase.to_second * 1_000.0) as i64;
            PhaseJudgement {
                phase: *phase,
                measured: HealthFigures::of(
                    &watched.answers,
                    to_ms,
                    (phase.seconds() * 1_000.0) as i64,
                ),
                judged: phase.is_unhealthy(&plan.target) && phase.seconds() >= JUDGED_PHASE_SECONDS,
                lowest_effective: lowest,
                backed_off: lowest.is_some_and(|lowest| lowest < set),
            }
        })
        .collect();
    let recovery = recovery(plan, samples, frame);
    let mut report = FollowReport {
        target: plan.target,
        set_per_second: set,
        floor_per_second: floor_per_second(set),
        reads: samples.len() as u64,
        lowest_effective: effective.clone().reduce(f64::min),
        highest_effective: effective.reduce(f64::max),
        phases,
        recovery,
        spans: spans(plan, samples, &watched.reports, frame),
        max_excess: max_excess(samples, frame),
        max_shortfall: max_shortfall(samples, frame),
        tolerance: 1.0 + set * READ_SLACK_SECONDS,
        reports_sent: watched.reports.len() as u64,
        reports_accepted: watched.reports.iter().filter(|r| r.status == 200).count() as u64,
        answers: watched.answers.len() as u64,
        answers_failed: watched.answers.iter().filter(|a| a.failed).count() as u64,
        audited: watched.audited,
        failures: Vec::new(),
    };
    report.failures = failures(&report);
    report
}

fn recovery(plan: &CheckoutPlan, samples: &[FollowSample], frame: Frame<'_>) -> Option<Recovery> {
    let unhealthy = plan
        .phases
        .iter()
        .filter(|phase| phase.is_unhealthy(&plan.target));
    let ended = unhealthy.clone().map(|p| p.to_second).reduce(f64::max)?;
    let longest_delay = unhealthy
        .map(FaultPhase::longest_delay_ms)
        .fold(0.0, f64::max);
    let allowed = recovery_allowance(frame.set, plan.report_window_seconds, longest_delay);
    let ended_ms = frame.start_ms + (ended * 1_000.0) as i64;
    let back = samples
        .iter()
        .find(|s| s.at_ms >= ended_ms && s.effective_per_second >= frame.set / 2.0)
        .map(|s| (s.at_ms - ended_ms) as f64 / 1_000.0);
    Some(Recovery {
        fault_ended_second: ended,
        allowed_seconds: allowed,
        back_to_half_after: back,
        run_long_enough: frame.end_ms >= ended_ms + (allowed * 1_000.0) as i64,
    })
}

/// The drain's ceiling, which holds from the start: admissions never above the credit accrued at
/// the outflow in force plus the burst. (A drain that fell behind, say a server starved of CPU
/// for a few seconds, pays what it owes at once, so a stretch that begins during the delay may
/// see more than its own share; the floor below is what catches the delay.) Between two reads a
/// second apart the outflow steps at most once, so it was the higher of the two reads at most
/// and the lower at least. A read's figures are from some moment while it was under way: half
/// its time either side of its midpoint widens the span for this bound and narrows it for the
/// floor.
fn max_excess(samples: &[FollowSample], frame: Frame<'_>) -> f64 {
    let burst = f64::from(frame.burst);
    let base = samples
        .iter()
        .rposition(|s| s.at_ms <= frame.start_ms)
        .unwrap_or(0);
    let Some(from) = samples.get(base) else {
        return -burst;
    };
    // No credit accrues before the start.
    let since_start = |at_ms: i64| at_ms.max(frame.start_ms);
    let mut upper = 0.0;
    let mut excess = -burst;
    for pair in samples[base..].windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let dt = (since_start(b.at_ms) - since_start(a.at_ms)) as f64 / 1_000.0;
        upper += a.effective_per_second.max(b.effective_per_second) * dt;
        let admitted = b.admitted.saturating_sub(from.admitted) as f64;
        let blur = (from.took_ms + b.took_ms) as f64 / 2_000.0;
        let high = from.effective_per_second.max(b.effective_per_second);
        excess = f64::max(excess, admitted - (upper + high * blur) - burst);
    }
    excess
}

/// The drain's floor over every stretch between two reads while shoppers waited throughout:
/// admissions at least the outflow in force × time − (burst + 1).
fn max_shortfall(samples: &[FollowSample], frame: Frame<'_>) -> f64 {
    let burst = f64::from(frame.burst);
    let busy_second = |at_ms: i64| {
        let second = (at_ms - frame.start_ms).div_euclid(1_000);
        usize::try_from(second)
            .ok()
            .and_then(|second| frame.busy.get(second).copied())
            .unwrap_or(false)
    };
    let mut shortfall = -(burst + 1.0);
    for (i, from) in samples.iter().enumerate() {
        let mut lower = 0.0;
        let mut busy = busy_second(from.at_ms);
        for pair in samples[i..].windows(2) {
            let (a, b) = (pair[0], pair[1]);
            busy =
                busy && (a.at_ms..=b.at_ms).step_by(500).all(busy_second) && busy_second(b.at_ms);
            if !busy {
                break;
            }
            let dt = (b.at_ms - a.at_ms) as f64 / 1_000.0;
            lower += a.effective_per_second.min(b.effective_per_second) * dt;
            let admitted = b.admitted.saturating_sub(from.admitted) as f64;
            let blur = (from.took_ms + b.took_ms) as f64 / 2_000.0;
            let low = from.effective_per_second.min(b.effective_per_second);
            shortfall = f64::max(shortfall, (lower - low * blur) - (burst + 1.0) - admitted);
        }
    }
    shortfall
}

fn failures(r: &FollowReport) -> Vec<String> {
    let mut failures = Vec::new();
    if r.reads == 0 {
        failures.push("the outflow in force could not be read from the admin detail".to_owned());
        return failures;
    }
    for judged in r.phases.iter().filter(|p| p.judged && !p.backed_off) {
        failures.push(format!(
            "the outflow never went below its set rate of {:.2}/s while the checkout was unhealthy \
             from {:.0} s to {:.0} s",
            r.set_per_second, judged.phase.from_second, judged.phase.to_second
        ));
    }
    if let Some(highest) = r.highest_effective.filter(|&h| h > r.set_per_second) {
        failures.push(format!(
            "the outflow in force reached {highest:.3}/s, above its set rate of {:.2}/s",
            r.set_per_second
        ));
    }
    if let Some(recovery) = r.recovery.as_ref().filter(|rec| !rec.in_time()) {
        let seen = recovery
            .back_to_half_after
            .map_or_else(|| "not seen".to_owned(), |after| format!("{after:.1} s"));
        let cut = if recovery.run_long_enough {
            ""
        } else {
            " (the run ended too soon to see it: make run.max_seconds longer)"
        };
        failures.push(format!(
            "the outflow was not back to half its set rate within the {:.1} s the policy allows \
             after the checkout recovered at {:.0} s: {seen}{cut}",
            recovery.allowed_seconds, recovery.fault_ended_second
        ));
    }
    if r.max_excess > r.tolerance {
        failures.push(format!(
            "admissions since the start exceeded the outflow in force × time + burst by {:.1} \
             (tolerance {:.1})",
            r.max_excess, r.tolerance
        ));
    }
    if r.max_shortfall > r.tolerance {
        failures.push(format!(
            "admissions fell {:.1} short of the outflow in force × time − (burst + 1) while \
             shoppers waited (tolerance {:.1})",
            r.max_shortfall, r.tolerance
        ));
    }
    failures
}

#[path = "follow_spans.rs"]
mod spans;
pub use spans::Span;
use spans::spans;

#[cfg(test)]
#[path = "follow_tests.rs"]
mod tests;
