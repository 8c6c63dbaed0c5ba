//! The judgements of the outflow that follows the checkout, on made-up reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::follow_watch::FollowSample;

const START: i64 = 1_000_000;
const SET: f64 = 30.0;
const BURST: u32 = 10;

fn plan(from: f64, to: f64) -> CheckoutPlan {
    CheckoutPlan {
        target: CheckoutTarget {
            p95_ms: 800,
            max_error_rate: 0.05,
        },
        report_window_seconds: 10.0,
        phases: vec![FaultPhase {
            from_second: from,
            to_second: to,
            p95_ms: 2_500,
            error_rate: 0.2,
        }],
    }
}

/// The outflow in force in each second, stepped as the server steps it every five seconds:
/// halved down to the floor while `unhealthy`, else up by `climb` of the set rate.
fn stepped(seconds: usize, unhealthy: impl Fn(usize) -> bool, climb: f64) -> Vec<f64> {
    let mut rate = SET;
    (0..seconds)
        .map(|second| {
            if second % 5 == 0 {
                rate = if unhealthy(second) {
                    (rate / 2.0).max(floor_per_second(SET))
                } else {
                    (rate + SET * climb).min(SET)
                };
            }
            rate
        })
        .collect()
}

/// A read in the middle of every second; admissions at `share` of the outflow in force.
fn reads(rates: &[f64], share: f64) -> Vec<FollowSample> {
    let mut admitted = 0.0;
    rates
        .iter()
        .enumerate()
        .map(|(second, &rate)| {
            let sample = FollowSample {
                at_ms: START + second as i64 * 1_000 + 500,
                took_ms: 0,
                effective_per_second: rate,
                admitted: (admitted + rate * share / 2.0) as u64,
            };
            admitted += rate * share;
            sample
        })
        .collect()
}

fn judge(plan: &CheckoutPlan, samples: Vec<FollowSample>, busy: &[bool]) -> FollowReport {
    let end_ms = START + samples.len() as i64 * 1_000;
    let watched = FollowWatch {
        samples,
        ..FollowWatch::default()
    };
    let frame = Frame {
        start_ms: START,
        end_ms,
        set: SET,
        burst: BURST,
        busy,
    };
    measure(plan, &watched, frame)
}

/// The server sees the fault from 22 s and its report window until 60 s.
fn fault_seen(second: usize) -> bool {
    (22..60).contains(&second)
}

#[test]
fn an_outflow_that_backs_off_during_the_fault_and_climbs_back_in_time_passes() {
    let rates = stepped(120, fault_seen, 1.0 / 20.0);
    let report = judge(&plan(20.0, 50.0), reads(&rates, 1.0), &[true; 120]);
    assert_eq!(report.failures, Vec::<String>::new());
    assert!(report.phases[0].judged);
    assert_eq!(report.phases[0].lowest_effective, Some(3.0));
    assert_eq!(report.lowest_effective, Some(3.0));
    let recovery = report.recovery.unwrap();
    // Back at 15/s from 95 s, read at 95.5 s.
    assert_eq!(recovery.back_to_half_after, Some(45.5));
    assert!(recovery.in_time());
}

#[test]
fn an_outflow_that_never_backs_off_during_a_long_fault_fails() {
    let report = judge(&plan(20.0, 50.0), reads(&[SET; 120], 1.0), &[true; 120]);
    assert!(!report.phases[0].backed_off);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(
        report.failures[0].contains("never went below its set rate of 30.00/s"),
        "{:?}",
        report.failures
    );
}

#[test]
fn an_unhealthy_phase_shorter_than_fifteen_seconds_is_not_judged() {
    let report = judge(&plan(20.0, 34.0), reads(&[SET; 120], 1.0), &[true; 120]);
    assert!(!report.phases[0].judged);
    assert_eq!(report.failures, Vec::<String>::new());
}

#[test]
fn an_outflow_above_the_set_rate_fails() {
    let mut rates = stepped(120, fault_seen, 1.0 / 20.0);
    rates[100] = 31.0;
    let report = judge(&plan(20.0, 50.0), reads(&rates, 1.0), &[true; 120]);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(report.failures[0].contains("reached 31.000/s, above its set rate"));
}

#[test]
fn an_outflow_still_low_past_the_time_the_policy_allows_fails() {
    // Climbing by a fortieth: half the set rate at 135 s, 85 s after the fault.
    let rates = stepped(180, fault_seen, 1.0 / 40.0);
    let report = judge(&plan(20.0, 50.0), reads(&rates, 1.0), &[true; 180]);
    let recovery = report.recovery.clone().unwrap();
    assert_eq!(recovery.back_to_half_after, Some(85.5));
    assert!(recovery.run_long_enough);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(report.failures[0].contains("not back to half its set rate within the 59.6 s"));
    assert!(!report.failures[0].contains("ended too soon"));
}

#[test]
fn a_run_that_ends_before_the_allowance_is_over_fails_and_says_so() {
    let rates = stepped(70, fault_seen, 1.0 / 20.0);
    let report = judge(&plan(20.0, 50.0), reads(&rates, 1.0), &[true; 70]);
    assert!(!report.recovery.unwrap().run_long_enough);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(report.failures[0].contains("not seen (the run ended too soon"));
}

#[test]
fn the_allowance_is_the_reports_lag_and_the_steps_from_the_floor_to_half() {
    assert_eq!(floor_per_second(SET), 3.0);
    assert_eq!(floor_per_second(0.1), 0.017);
    assert_eq!(floor_per_second(0.01), 0.01);
    // 10 s of window, 2.63 s of the slowest answer, 2 s of judgement, 5 s of a step under way,
    // then (15 − 3) / 1.5 = 8 steps of 5 s.
    let allowed = recovery_allowance(SET, 10.0, 2_500.0 / 0.95);
    assert!((allowed - (10.0 + 2.5 / 0.95 + 2.0 + 5.0 + 40.0)).abs() < 1e-9);
}

#[test]
fn admissions_at_the_set_rate_while_the_outflow_backed_off_break_the_ceiling() {
    let rates = stepped(120, fault_seen, 1.0 / 20.0);
    let mut samples = reads(&rates, 1.0);
    for (second, sample) in samples.iter_mut().enumerate() {
        sample.admitted = (SET * (second as f64 + 0.5)) as u64;
    }
    let report = judge(&plan(20.0, 50.0), samples, &[true; 120]);
    assert!(report.max_excess > 500.0, "{}", report.max_excess);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(report.failures[0].contains("exceeded the outflow in force"));
}

#[test]
fn admissions_below_the_outflow_in_force_break_the_floor_only_while_shoppers_wait() {
    let rates = stepped(120, fault_seen, 1.0 / 20.0);
    let waiting = judge(&plan(20.0, 50.0), reads(&rates, 0.5), &[true; 120]);
    assert_eq!(waiting.failures.len(), 1, "{:?}", waiting.failures);
    assert!(waiting.failures[0].contains("fell"));
    let idle = judge(&plan(20.0, 50.0), reads(&rates, 0.5), &[false; 120]);
    assert_eq!(idle.failures, Vec::<String>::new());
}

#[test]
fn a_slow_read_widens_the_ceiling_by_what_the_outflow_admits_while_it_is_under_way() {
    // Ten more admissions than 30/s allows between the first read and the last.
    let mut samples = reads(&[SET; 20], 1.0);
    for sample in samples.iter_mut().skip(10) {
        sample.admitted += 10 + u64::from(BURST);
    }
    let mut healthy = plan(20.0, 50.0);
    healthy.phases.clear();
    let instant = judge(&healthy, samples.clone(), &[true; 20]);
    assert!(
        (instant.max_excess - 10.0).abs() < 1e-9,
        "{}",
        instant.max_excess
    );
    assert_eq!(instant.failures.len(), 1, "{:?}", instant.failures);
    // Reads of 400 ms each: 0.4 s of the set rate more, 12 admissions.
    for sample in &mut samples {
        sample.took_ms = 400;
    }
    let slow = judge(&healthy, samples, &[true; 20]);
    assert!((slow.max_excess + 2.0).abs() < 1e-9, "{}", slow.max_excess);
    assert_eq!(slow.failures, Vec::<String>::new());
}

#[test]
fn a_drain_that_stalls_and_then_pays_what_it_owes_breaks_the_floor_not_the_ceiling() {
    // Nothing admitted between the reads at 9.5 s and 12.5 s, then the 90 owed at once.
    let mut samples = reads(&[SET; 30], 1.0);
    let stalled = samples[9].admitted;
    for sample in &mut samples[10..=12] {
        sample.admitted = stalled;
    }
    let mut healthy = plan(20.0, 50.0);
    healthy.phases.clear();
    let report = judge(&healthy, samples, &[true; 30]);
    assert!(report.max_excess <= 0.0, "{}", report.max_excess);
    // Three seconds at 30/s owe at least 90 − 11.
    assert!(
        (report.max_shortfall - 79.0).abs() < 1e-9,
        "{}",
        report.max_shortfall
    );
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(report.failures[0].starts_with("admissions fell 79.0 short"));
}

#[test]
fn each_row_of_the_table_holds_the_admissions_between_reads_against_the_outflow_in_force() {
    let rates = stepped(120, fault_seen, 1.0 / 20.0);
    let report = judge(&plan(20.0, 50.0), reads(&rates, 1.0), &[true; 120]);
    assert_eq!(report.spans.len(), 24);
    let first = &report.spans[0];
    // Reads at 0.5 s and 4.5 s: 120 admissions in 4 s at 30/s.
    assert_eq!((first.admitted, first.admitted_per_second), (120, 30.0));
    assert_eq!(first.effective_mean, 30.0);
    assert_eq!(first.phase, None);
    // Reads at 29.5 s (15/s) to 34.5 s (7.5/s since 30 s).
    let backing_off = &report.spans[6];
    assert_eq!(backing_off.phase.map(|p| p.p95_ms), Some(2_500));
    assert_eq!(
        (backing_off.effective_min, backing_off.effective_max),
        (7.5, 15.0)
    );
}

#[test]
fn no_read_of_the_outflow_in_force_fails() {
    let report = judge(&plan(20.0, 50.0), Vec::new(), &[]);
    assert_eq!(report.reads, 0);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
}
