//! The verdict of whole (made-up) runs: what fails a run and what does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use super::*;
use crate::crowd::Timeline;
use crate::follow_watch::{FollowSample, FollowWatch};
use crate::journey::{AdmissionRecord, JoinRecord};
use crate::recorder::{Actor, Endpoint, Recorder};
use crate::sampler::QueueSample;
use crate::scenario::Scenario;
use std::sync::atomic::Ordering;

const START: i64 = 1_000_000;

/// A shopper who joined at `joined` (ms after the start) and paid, admitted at `admitted`.
fn paid(joined: i64, admitted: i64) -> Journey {
    let mut journey = Journey::new(Actor::Shopper, format!("s{joined}"));
    journey.join = Some(JoinRecord {
        sent_ms: START + joined,
        done_ms: START + joined + 5,
        prequeue: false,
    });
    journey.admission = Some(AdmissionRecord {
        seen_ms: START + admitted + 20,
        server_ms: Some(START + admitted),
    });
    journey.waited_on = WaitedOn::Socket;
    journey.outcome = Outcome::Paid;
    journey.units_reserved = 1;
    journey.units_paid = 1;
    journey
}

fn run(journeys: Vec<Journey>, sold: u64, server_errors: u64) -> RunData {
    // Two a second: the three made-up admissions at 0.1–0.4 s stay within both outflow bounds.
    let mut scenario =
        Scenario::parse("[event]\nunits = 3\noutflow_per_second = 2\noutflow_burst = 2\n").unwrap();
    scenario.name = "made-up".to_owned();
    RunData {
        timeline: Timeline {
            created_ms: START - 1_000,
            starts_at_ms: START,
            first_arrival_ms: START,
        },
        scenario,
        base_url: "http://127.0.0.1:1".to_owned(),
        event_id: "made-up".to_owned(),
        ended_ms: START + 3_000,
        journeys,
        samples: (0..12)
            .map(|i| QueueSample {
                at_ms: START + i * 250,
                queue_length: Some(1),
                serving: None,
                status: Some("open".to_owned()),
            })
            .collect(),
        histograms: BTreeMap::new(),
        errors: BTreeMap::new(),
        server_errors,
        shopper_refusals: 0,
        sockets_peak: 0,
        admin_final: Some(json!({"stats": {"sold": {"sku-1": sold}, "admitted": 3}})),
        inventory: vec![("sku-1".to_owned(), 3)],
        follow: None,
    }
}

#[test]
fn a_clean_sale_passes() {
    let report = Report::from_run(&run(
        vec![paid(0, 100), paid(50, 200), paid(100, 300)],
        3,
        0,
    ));
    assert!(report.verdict.passed, "{:?}", report.verdict.failures);
    assert_eq!(report.order.ordered_pairs, 3);
    assert_eq!(report.admitted_server, Some(3));
}

#[test]
fn selling_more_than_was_offered_fails() {
    let report = Report::from_run(&run(
        vec![paid(0, 100), paid(50, 200), paid(100, 300)],
        4,
        0,
    ));
    assert!(report.stock.oversold);
    assert!(!report.verdict.passed);
}

#[test]
fn a_single_server_error_fails() {
    let report = Report::from_run(&run(
        vec![paid(0, 100), paid(50, 200), paid(100, 300)],
        3,
        1,
    ));
    assert!(!report.verdict.passed);
}

#[test]
fn a_single_refusal_of_a_legitimate_shopper_fails() {
    let mut refused = run(vec![paid(0, 100), paid(50, 200), paid(100, 300)], 3, 0);
    refused.shopper_refusals = 1;
    let report = Report::from_run(&refused);
    assert!(!report.verdict.passed);
    assert!(
        report.verdict.failures[0].contains("1 answers refused legitimate shoppers"),
        "{:?}",
        report.verdict.failures
    );
    assert!(
        markdown::render(&report, &[]).contains("1 answers refused a legitimate shopper"),
        "the summary shows the count"
    );
}

#[test]
fn a_refusal_counts_for_shoppers_and_not_for_bots() {
    let recorder = Recorder::default();
    recorder.status(Actor::Bot, Endpoint::Join, 429);
    recorder.status(Actor::Shopper, Endpoint::Join, 409);
    recorder.status(Actor::Shopper, Endpoint::Join, 503);
    assert_eq!(recorder.live.shopper_refusals.load(Ordering::Relaxed), 0);
    recorder.status(Actor::Shopper, Endpoint::Join, 429);
    recorder.status(Actor::Shopper, Endpoint::Ticket, 403);
    assert_eq!(recorder.live.shopper_refusals.load(Ordering::Relaxed), 2);
}

#[test]
fn a_later_joiner_admitted_first_fails() {
    let report = Report::from_run(&run(
        vec![paid(0, 300), paid(50, 200), paid(100, 400)],
        3,
        0,
    ));
    assert_eq!(report.order.inversions, 1);
    assert!(!report.verdict.passed);
}

#[test]
fn inside_an_opening_window_a_later_joiner_admitted_first_is_the_draw_not_an_inversion() {
    let mut data = run(vec![paid(0, 300), paid(50, 200), paid(100, 400)], 3, 0);
    data.scenario.event.opening_window_seconds = 60;
    let report = Report::from_run(&data);
    assert_eq!(report.order.inversions, 0);
    assert_eq!(report.order.ordered_pairs, 0);
    assert_eq!(report.order.windows_seconds, (60, 0));
    assert_eq!(report.order.post_start_admitted, 3);
    assert!((report.order.post_start_spearman.unwrap() - 0.5).abs() < 1e-12);
    assert!(report.verdict.passed, "{:?}", report.verdict.failures);
    assert!(markdown::render(&report, &[]).contains("an opening window of 60 s"));
}

#[test]
fn a_server_count_that_disagrees_with_the_payments_fails() {
    let report = Report::from_run(&run(vec![paid(0, 100), paid(50, 200)], 3, 0));
    assert!(!report.stock.oversold);
    assert!(!report.verdict.passed);
}

#[test]
fn bots_shares_compare_tickets_and_admissions() {
    let mut bot = paid(10, 50);
    bot.actor = Actor::Bot;
    let mut waiting = paid(200, 0);
    waiting.admission = None;
    waiting.outcome = Outcome::WaitingAtSoldOut;
    waiting.units_paid = 0;
    waiting.units_reserved = 0;
    let report = Report::from_run(&run(vec![bot, paid(0, 100), waiting], 2, 0));
    let bots = report.bots.unwrap();
    assert!((bots.share_of_crowd - 1.0 / 3.0).abs() < 1e-9);
    assert!((bots.share_of_admissions - 0.5).abs() < 1e-9);
    assert_eq!((bots.admitted, bots.admissions), (1, 2));
    let (low, high) = bots.share_of_admissions_95;
    assert!(low < 0.5 && 0.5 < high, "{low}..{high}");
}

#[test]
fn the_bots_interval_is_wilsons_and_narrows_with_the_draw() {
    // Reference values of the Wilson score interval at 95%.
    let (low, high) = wilson_95(23, 2300);
    assert!((low - 0.006_67).abs() < 1e-4, "{low}");
    assert!((high - 0.014_96).abs() < 1e-4, "{high}");
    let (low, high) = wilson_95(230, 23_000);
    assert!((low - 0.008_79).abs() < 1e-4, "{low}");
    assert!((high - 0.011_38).abs() < 1e-4, "{high}");
    assert_eq!(wilson_95(0, 0), (0.0, 1.0));
    let (low, high) = wilson_95(0, 100);
    assert!(low.abs() < 1e-12, "{low}");
    assert!((high - 0.036_99).abs() < 1e-4, "{high}");
}

#[test]
fn admitting_faster_than_the_outflow_allows_fails() {
    let mut data = run(vec![paid(0, 100), paid(50, 200), paid(100, 300)], 3, 0);
    data.scenario.event.outflow_per_second = 1.0;
    data.scenario.event.outflow_burst = 1;

    let report = Report::from_run(&data);

    assert!(report.outflow.exceeded);
    assert!(
        report
            .verdict
            .failures
            .iter()
            .any(|f| f.starts_with("the outflow broke its ceiling")),
        "{:?}",
        report.verdict.failures
    );
}

#[test]
fn admitting_too_few_while_shoppers_wait_fails_unless_a_cap_explains_it() {
    let mut data = run(vec![paid(0, 100), paid(50, 200), paid(100, 300)], 3, 0);
    // Two busy seconds at 20 a second owe at least 40 − 3; three came.
    data.scenario.event.outflow_per_second = 20.0;

    let report = Report::from_run(&data);
    assert!(report.outflow.short);
    assert!(
        report
            .verdict
            .failures
            .iter()
            .any(|f| f.starts_with("the outflow broke its floor")),
        "{:?}",
        report.verdict.failures
    );

    data.scenario.event.max_active = Some(3);
    let capped = Report::from_run(&data);
    assert!(capped.verdict.passed, "{:?}", capped.verdict.failures);
}

#[test]
fn an_outflow_that_follows_the_checkout_is_judged_at_the_rate_in_force_not_the_set_rate() {
    let mut data = run(vec![paid(0, 100), paid(50, 200), paid(100, 300)], 3, 0);
    data.scenario.event.outflow_per_second = 20.0;
    data.scenario.checkout = Some(
        Scenario::parse("[checkout]\ntarget = { p95_ms = 800, max_error_rate = 0.05 }\n")
            .unwrap()
            .checkout
            .unwrap(),
    );
    // The outflow in force was 1/s: three admissions in three seconds are no shortfall.
    let read = |second: i64, effective_per_second: f64| FollowSample {
        at_ms: START + second * 1_000 + 500,
        took_ms: 10,
        effective_per_second,
        admitted: second as u64 + 1,
    };
    data.follow = Some(FollowWatch {
        samples: vec![read(0, 1.0), read(1, 1.0), read(2, 1.0)],
        ..FollowWatch::default()
    });

    let report = Report::from_run(&data);
    assert!(report.outflow.short, "short of the set rate, as designed");
    assert!(report.verdict.passed, "{:?}", report.verdict.failures);

    data.follow = Some(FollowWatch {
        samples: vec![read(0, 1.0), read(1, 21.0), read(2, 1.0)],
        ..FollowWatch::default()
    });
    let above = Report::from_run(&data);
    assert_eq!(
        above.verdict.failures,
        ["the outflow in force reached 21.000/s, above its set rate of 20.00/s"]
    );
}

/// A run of `admitted` shoppers admitted, `bots` of them bots.
fn bots_among(bots: usize, admitted: usize) -> RunData {
    let journeys = (0..admitted)
        .map(|i| {
            let mut journey = paid(i as i64, 100 + i as i64);
            if i < bots {
                journey.actor = Actor::Bot;
            }
            journey
        })
        .collect();
    let mut data = run(journeys, admitted as u64, 0);
    // All admitted in a burst at 0.1 s, at a rate that the 3 s run fills: within both outflow
    // bounds.
    data.scenario.event.outflow_per_second = admitted as f64 / 3.0;
    data.scenario.event.outflow_burst = admitted as u32;
    data.scenario.event.units = admitted as u64;
    data.inventory = vec![("sku-1".to_owned(), admitted as u64)];
    data.admin_final = Some(json!({"stats": {"sold": {"sku-1": admitted}, "admitted": admitted}}));
    data
}

#[test]
fn bots_above_the_scenarios_share_of_admissions_beyond_chance_fail() {
    // 30 of 100: the 95% interval is 21.9–39.6%, wholly above a limit of 10%.
    let mut data = bots_among(30, 100);
    data.scenario.bots.max_share_of_admissions = Some(0.1);

    let report = Report::from_run(&data);

    assert!(!report.verdict.passed);
    assert_eq!(
        report.verdict.failures,
        [
            "bots took 30.00% of the admissions (30 of 100), above the scenario's limit of 10.00% \
             by more than chance explains (95% interval 21.89–39.58%)"
        ]
    );
}

#[test]
fn bots_above_the_limit_by_no_more_than_chance_pass_and_say_so() {
    // 2 of 100 is above 1.1%, but a fair draw of 100 at 1.1% gives 2 or more about one time in
    // three: the interval, 0.55–7.0%, holds the limit.
    let mut data = bots_among(2, 100);
    data.scenario.bots.max_share_of_admissions = Some(0.011);

    let report = Report::from_run(&data);

    assert!(report.verdict.passed, "{:?}", report.verdict.failures);
    let summary = markdown::render(&report, &[]);
    assert!(
        summary.contains("Above the limit of 1.10% by no more than chance explains"),
        "{summary}"
    );
}

#[test]
fn bots_within_the_scenarios_share_or_without_a_limit_pass() {
    let mut data = bots_among(1, 3);
    let unjudged = Report::from_run(&data);
    assert!(unjudged.verdict.passed, "{:?}", unjudged.verdict.failures);

    data.scenario.bots.max_share_of_admissions = Some(0.34);
    let within = Report::from_run(&data);
    assert!(within.verdict.passed, "{:?}", within.verdict.failures);
    let summary = markdown::render(&within, &[]);
    assert!(!summary.contains("Above the limit"), "{summary}");
}

#[test]
fn with_an_opening_window_the_bots_share_of_its_tickets_is_told() {
    // Two bots and two shoppers join within a 1 s opening window, four shoppers after it.
    let mut data = bots_among(2, 8);
    for (i, journey) in data.journeys.iter_mut().enumerate() {
        let joined = if i < 4 { 100 } else { 1_500 };
        journey.join = Some(JoinRecord {
            sent_ms: START + joined,
            done_ms: START + joined + 5,
            prequeue: false,
        });
    }
    data.scenario.event.opening_window_seconds = 1;

    let bots = Report::from_run(&data).bots.unwrap();

    assert_eq!(bots.share_of_opening_window, Some(0.5));
    assert_eq!(bots.shoppers_after_opening_window, Some(4));
    assert_eq!(bots.share_of_admissions, 0.25);
}

#[test]
fn the_summary_names_the_verdict_and_each_failure() {
    let report = Report::from_run(&run(
        vec![paid(0, 300), paid(50, 200), paid(100, 400)],
        3,
        0,
    ));
    let summary = markdown::render(&report, &[]);
    assert!(summary.starts_with("# Flash-sale rehearsal: made-up (FAILED)"));
    assert!(summary.contains("**failure**: 1 order inversions"));
    assert!(summary.contains("**1 inversions**"));
}

#[test]
fn the_json_report_carries_every_section() {
    let report = Report::from_run(&run(
        vec![paid(0, 100), paid(50, 200), paid(100, 300)],
        3,
        0,
    ));
    let json = serde_json::to_value(&report).unwrap();
    for section in [
        "endpoints",
        "joins",
        "outflow",
        "order",
        "stock",
        "errors",
        "verdict",
    ] {
        assert!(json.get(section).is_some(), "{section} missing");
    }
    assert_eq!(json["stock"]["sold_server"], 3);
}

#[test]
fn the_three_plots_are_drawn_as_svg() {
    let data = run(vec![paid(0, 100), paid(50, 200), paid(100, 300)], 3, 0);
    let report = Report::from_run(&data);
    let mut histograms = BTreeMap::new();
    let mut join = crate::recorder::new_histogram();
    for micros in 1_000..1_100 {
        join.record(micros).unwrap();
    }
    histograms.insert("join".to_owned(), join);
    let dir = std::env::temp_dir().join(format!("waitroom-sim-plots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let written = plots::draw_all(&dir, &report, &histograms).unwrap();
    for path in &written {
        let svg = std::fs::read_to_string(path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", path.display());
        assert!(
            svg.contains("polyline") || svg.contains("<path"),
            "{} has no line",
            path.display()
        );
    }
    assert_eq!(written.len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Shoppers shown `shown` who then sat out the sale unsold, added to a clean sale.
fn with_unsold(mut data: RunData, shown: f64, unsold: usize) -> RunData {
    for i in 0..unsold {
        let mut waiting = Journey::new(Actor::Shopper, format!("w{i}"));
        waiting.chance_shown = Some(shown);
        waiting.outcome = Outcome::WaitingAtSoldOut;
        data.journeys.push(waiting);
    }
    data
}

#[test]
fn a_chance_of_success_far_from_the_outcome_in_a_large_bucket_fails() {
    let clean = || {
        let mut data = run(vec![paid(0, 100), paid(50, 200), paid(100, 300)], 3, 0);
        for journey in &mut data.journeys {
            journey.chance_shown = Some(1.0);
        }
        data
    };
    // Three of 203 shown 100% bought.
    let report = Report::from_run(&with_unsold(clean(), 1.0, 200));
    assert!(!report.verdict.passed);
    assert!(
        report.verdict.failures[0]
            .starts_with("the chance of success is off: 203 shoppers shown 90–100%"),
        "{:?}",
        report.verdict.failures
    );
    assert!(markdown::render(&report, &[]).contains("| 90–100% | 203 | 100.0% | 1.5% | **off** |"));

    // The same miss with too few shoppers to judge, and a right chance in a large bucket, pass.
    let small = Report::from_run(&with_unsold(clean(), 1.0, 100));
    assert!(small.verdict.passed, "{:?}", small.verdict.failures);
    let right = Report::from_run(&with_unsold(clean(), 0.0, 300));
    assert!(right.verdict.passed, "{:?}", right.verdict.failures);
    assert_eq!(right.calibration.brier, Some(0.0));
}
