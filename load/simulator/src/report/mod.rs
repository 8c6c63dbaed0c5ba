//! The report of a run: every figure computed from the journeys, the samples and the histograms,
//! the verdict that decides the exit code, and its three forms (Markdown, JSON, SVG plots).

pub mod calibration;
pub mod follow;
pub mod follow_markdown;
pub mod latency;
pub mod markdown;
pub mod order;
pub mod outflow;
pub mod plots;
pub mod stock;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::journey::{Journey, Outcome, WaitedOn};
use crate::run::RunData;
use crate::steps::to_rfc3339;
use calibration::CalibrationReport;
use follow::FollowReport;
use latency::LatencySummary;
use order::{Queued, Windows, count_inversions, spearman};
use outflow::{Busy, OutflowReport};
use stock::StockReport;

/// Who came and how they waited.
#[derive(Debug, Clone, Serialize)]
pub struct CrowdReport {
    pub shoppers: u32,
    pub bots: u32,
    pub bot_identities: u64,
    /// Shoppers whose admission came over a WebSocket.
    pub admitted_on_socket: u64,
    /// Shoppers (and bots) whose admission came from polling.
    pub admitted_polling: u64,
    /// The most queue sockets open at once.
    pub sockets_peak: u64,
}

/// How fast joins went through.
#[derive(Debug, Clone, Serialize)]
pub struct JoinReport {
    /// Identities that got a ticket.
    pub succeeded: u64,
    /// Join requests sent (retries and bots' repeats included).
    pub requests: u64,
    /// From the first join sent to the last ticket received.
    pub window_seconds: f64,
    /// Tickets per second over that window.
    pub per_second: f64,
    /// The most tickets received in one second.
    pub peak_per_second: u64,
}

/// Admission order against join order.
#[derive(Debug, Clone, Serialize)]
pub struct OrderReport {
    /// Identities that joined after the start and stayed in the queue.
    pub post_start_queued: u64,
    /// Pairs among them with a known join order and at least the later one admitted.
    pub ordered_pairs: u64,
    /// Of those, later joiners admitted first.
    pub inversions: u64,
    /// Pre-queue identities admitted.
    pub prequeue_admitted: u64,
    /// Rank correlation of pre-queue join order and admission order (near 0 for a fair draw).
    pub prequeue_spearman: Option<f64>,
    /// Post-start identities admitted.
    pub post_start_admitted: u64,
    /// Rank correlation of post-start join order and admission order: near 1 first come, first
    /// served; near 0 where an arrival window's draw ordered them.
    pub post_start_spearman: Option<f64>,
    /// The arrival windows the inversions were judged with: (opening, every later one), seconds.
    pub windows_seconds: (u32, u32),
}

/// Bots against the honest crowd.
#[derive(Debug, Clone, Serialize)]
pub struct BotReport {
    /// Bot tickets among all tickets.
    pub share_of_crowd: f64,
    /// Bot admissions among all admissions.
    pub share_of_admissions: f64,
    /// Where the share of admissions a draw of this size gives bots lies, 19 times in 20: the
    /// Wilson interval at 95%. A fair draw of a few thousand admissions moves a share near 1% by
    /// about a fifth of itself from run to run, so runs are pooled before a share near a limit
    /// is called above or below it (`load/bots_share.py`).
    pub share_of_admissions_95: (f64, f64),
    /// Bot identities admitted.
    pub admitted: u64,
    /// Every identity admitted, bots and shoppers: the size of the draw the share comes from.
    pub admissions: u64,
    /// With an opening window: bots' share of the tickets answered before it closed. The draw
    /// orders only those, so this, not the share of identities, is the share a fair draw gives
    /// bots of the admissions it makes.
    pub share_of_opening_window: Option<f64>,
    /// With an opening window: shoppers whose ticket came after it closed. When the crowd's
    /// arrival outlasts the window (a slow load generator stretches its ramp too), bots, who come
    /// at the opening second, hold more of the window than of the crowd.
    pub shoppers_after_opening_window: Option<u64>,
    /// Units bots paid for.
    pub units_paid: u64,
    /// The scenario's limit on the share of admissions, if it sets one.
    pub limit: Option<f64>,
}

/// How journeys ended, shoppers and bots apart.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct OutcomeCount {
    pub shoppers: u64,
    pub bots: u64,
}

/// Pass or fail, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub passed: bool,
    pub failures: Vec<String>,
}

/// Every figure of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub base_url: String,
    pub event_id: String,
    pub starts_at: String,
    /// From the start to the end of the run.
    pub run_seconds: f64,
    pub crowd: CrowdReport,
    /// Latency per endpoint (bots' under `bot …`).
    pub endpoints: BTreeMap<String, LatencySummary>,
    pub joins: JoinReport,
    /// From the ticket to the admission (server time when known).
    pub join_to_admission: LatencySummary,
    /// From the server's admission to the `admitted` message on the socket.
    pub admission_push_delay: LatencySummary,
    pub outflow: OutflowReport,
    /// Admissions by the server's count, beside those the crowd saw (`outflow`).
    pub admitted_server: Option<u64>,
    /// Tickets by the server's count.
    pub joined_server: Option<u64>,
    pub order: OrderReport,
    pub bots: Option<BotReport>,
    pub outcomes: BTreeMap<String, OutcomeCount>,
    pub stock: StockReport,
    /// The chance of success shown against what came of it.
    pub calibration: CalibrationReport,
    /// Errors by kind: `endpoint status` or `endpoint transport kind`.
    pub errors: BTreeMap<String, u64>,
    /// HTTP 5xx answers, all endpoints.
    pub server_errors: u64,
    /// Answers `403` or `429` to legitimate shoppers (bots' refusals are in `errors` only).
    pub shopper_refusals: u64,
    /// Queue length over time: (seconds from the start, length).
    pub queue_length: Vec<(f64, u64)>,
    /// The outflow that followed the played checkout, when the scenario played one.
    pub checkout_follow: Option<FollowReport>,
    pub verdict: Verdict,
}

impl Report {
    /// Computes every figure of a run.
    pub fn from_run(run: &RunData) -> Self {
        let start = run.timeline.starts_at_ms;
        let journeys = &run.journeys;
        let admissions: Vec<i64> = journeys
            .iter()
            .filter_map(|j| j.admission)
            .map(|a| a.at_ms())
            .collect();
        let event = &run.scenario.event;
        // The server lets nobody who joined in the opening window through before it closes:
        // those seconds are not owed admissions.
        let held_until = start + i64::from(event.opening_window_seconds) * 1_000;
        let busy: Vec<Busy> = run
            .samples
            .iter()
            .map(|s| Busy {
                at_ms: s.at_ms,
                waiting: s.queue_length.unwrap_or(0) > 0
                    && s.status.as_deref() == Some("open")
                    && s.at_ms >= held_until,
            })
            .collect();
        let outflow = outflow::measure(
            &admissions,
            &busy,
            start,
            run.ended_ms,
            event.outflow_per_second,
            event.outflow_burst,
        );
        let checkout_follow = follow::from_run(run, &outflow.busy);
        let stock = stock::measure(run);
        let windows = Windows {
            starts_at_ms: start,
            opening_ms: i64::from(event.opening_window_seconds) * 1_000,
            every_ms: i64::from(event.arrival_window_seconds) * 1_000,
        };
        let mut order = order_report(journeys, windows);
        order.windows_seconds = (event.opening_window_seconds, event.arrival_window_seconds);
        let server_errors = run.server_errors;
        let bots = bot_report(journeys, windows, run.scenario.bots.max_share_of_admissions);
        let calibration = calibration::measure(journeys);
        let mut verdict = verdict(
            Judged {
                stock: &stock,
                calibration: &calibration,
                order: &order,
                outflow: &outflow,
                bots: bots.as_ref(),
                server_errors,
                shopper_refusals: run.shopper_refusals,
            },
            &admissions,
            run,
        );
        if let Some(follow) = &checkout_follow {
            verdict.failures.extend(follow.failures.iter().cloned());
            verdict.passed = verdict.failures.is_empty();
        }
        Self {
            scenario: run.scenario.name.clone(),
            base_url: run.base_url.clone(),
            event_id: run.event_id.clone(),
            starts_at: to_rfc3339(start),
            run_seconds: (run.ended_ms - start) as f64 / 1_000.0,
            crowd: crowd_report(run),
            endpoints: run
                .histograms
                .iter()
                .map(|(name, h)| (name.clone(), LatencySummary::from_micros(h)))
                .collect(),
            joins: join_report(run),
            join_to_admission: LatencySummary::from_millis(journeys.iter().filter_map(|j| {
                let (join, admission) = (j.join?, j.admission?);
                Some(admission.at_ms() - join.done_ms.max(start))
            })),
            admission_push_delay: LatencySummary::from_millis(
                journeys
                    .iter()
                    .filter(|j| j.waited_on == WaitedOn::Socket)
                    .filter_map(|j| j.admission)
                    .filter_map(|a| Some(a.seen_ms - a.server_ms?)),
            ),
            outflow,
            admitted_server: run
                .admin_final
                .as_ref()
                .and_then(|d| stock::counter(d, "admitted")),
            joined_server: run
                .admin_final
                .as_ref()
                .and_then(|d| stock::counter(d, "joined")),
            order,
            bots,
            outcomes: outcome_counts(journeys),
            stock,
            calibration,
            errors: run.errors.clone(),
            server_errors,
            shopper_refusals: run.shopper_refusals,
            queue_length: run
                .samples
                .iter()
                .filter_map(|s| Some(((s.at_ms - start) as f64 / 1_000.0, s.queue_length?)))
                .collect(),
            checkout_follow,
            verdict,
        }
    }
}

fn crowd_report(run: &RunData) -> CrowdReport {
    let admitted_by = |how| {
        run.journeys
            .iter()
            .filter(|j| j.admission.is_some() && j.waited_on == how)
            .count() as u64
    };
    CrowdReport {
        shoppers: run.scenario.shoppers.count,
        bots: run.scenario.bots.count,
        bot_identities: run.journeys.iter().filter(|j| j.is_bot()).count() as u64,
        admitted_on_socket: admitted_by(WaitedOn::Socket),
        admitted_polling: admitted_by(WaitedOn::Polling),
        sockets_peak: run.sockets_peak,
    }
}

fn join_report(run: &RunData) -> JoinReport {
    let joins: Vec<_> = run.journeys.iter().filter_map(|j| j.join).collect();
    let first = joins.iter().map(|j| j.sent_ms).min().unwrap_or(0);
    let last = joins.iter().map(|j| j.done_ms).max().unwrap_or(0);
    let window_seconds = ((last - first) as f64 / 1_000.0).max(0.001);
    let mut per_second: BTreeMap<i64, u64> = BTreeMap::new();
    for join in &joins {
        *per_second.entry(join.done_ms / 1_000).or_default() += 1;
    }
    let requests = ["join", "bot join"]
        .iter()
        .filter_map(|name| run.histograms.get(*name))
        .map(|h| h.len())
        .sum();
    JoinReport {
        succeeded: joins.len() as u64,
        requests,
        window_seconds,
        per_second: joins.len() as f64 / window_seconds,
        peak_per_second: per_second.values().copied().max().unwrap_or(0),
    }
}

/// Whether a journey stayed in the queue to the end of its wait (not left, not lost).
fn stayed(journey: &Journey) -> bool {
    journey.admission.is_some()
        || matches!(
            journey.outcome,
            Outcome::WaitingAtSoldOut | Outcome::WaitingAtEnd
        )
}

/// Admission order against join order. Joins inside an arrival window owe each other no order
/// (the window's draw places them), so inversions are counted with each such join widened to
/// its whole window.
fn order_report(journeys: &[Journey], windows: Windows) -> OrderReport {
    let post_start: Vec<Queued> = journeys
        .iter()
        .filter(|j| stayed(j))
        .filter_map(|j| {
            let join = j.join.filter(|join| !join.prequeue)?;
            Some(Queued {
                join_sent_ms: join.sent_ms,
                join_done_ms: join.done_ms,
                admitted_ms: j.admission.map(|a| a.at_ms()),
                waiting_seen_ms: j.waiting_seen_ms.unwrap_or(join.sent_ms),
            })
        })
        .collect();
    let widened: Vec<Queued> = post_start.iter().map(|q| windows.widen(*q)).collect();
    let inversions = count_inversions(&widened);
    let (post_joined, post_admitted): (Vec<f64>, Vec<f64>) = post_start
        .iter()
        .filter_map(|q| Some((q.join_done_ms as f64, q.admitted_ms? as f64)))
        .unzip();
    let (joined, admitted): (Vec<f64>, Vec<f64>) = journeys
        .iter()
        .filter_map(|j| {
            let join = j.join.filter(|join| join.prequeue)?;
            Some((join.done_ms as f64, j.admission?.at_ms() as f64))
        })
        .unzip();
    OrderReport {
        post_start_queued: post_start.len() as u64,
        ordered_pairs: inversions.ordered_pairs,
        inversions: inversions.inverted,
        prequeue_admitted: joined.len() as u64,
        prequeue_spearman: spearman(&joined, &admitted),
        post_start_admitted: post_joined.len() as u64,
        post_start_spearman: spearman(&post_joined, &post_admitted),
        windows_seconds: (0, 0),
    }
}

fn bot_report(journeys: &[Journey], windows: Windows, limit: Option<f64>) -> Option<BotReport> {
    let bots: Vec<&Journey> = journeys.iter().filter(|j| j.is_bot()).collect();
    if bots.is_empty() {
        return None;
    }
    let share = |part: usize, whole: usize| {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        }
    };
    let tickets = journeys.iter().filter(|j| j.join.is_some()).count();
    let admitted = journeys.iter().filter(|j| j.admission.is_some()).count();
    let bot_tickets = bots.iter().filter(|j| j.join.is_some()).count();
    let bot_admitted = bots.iter().filter(|j| j.admission.is_some()).count();
    let opening_window = (windows.opening_ms > 0).then(|| {
        let closes_ms = windows.starts_at_ms + windows.opening_ms;
        let in_window = |j: &Journey| j.join.is_some_and(|join| join.done_ms < closes_ms);
        let window_tickets = journeys.iter().filter(|j| in_window(j)).count();
        let window_bots = bots.iter().filter(|j| in_window(j)).count();
        let shoppers_after = journeys
            .iter()
            .filter(|j| !j.is_bot() && j.join.is_some_and(|join| join.done_ms >= closes_ms))
            .count();
        (share(window_bots, window_tickets), shoppers_after as u64)
    });
    Some(BotReport {
        share_of_crowd: share(bot_tickets, tickets),
        share_of_admissions: share(bot_admitted, admitted),
        share_of_admissions_95: wilson_95(bot_admitted as u64, admitted as u64),
        admitted: bot_admitted as u64,
        admissions: admitted as u64,
        share_of_opening_window: opening_window.map(|(share, _)| share),
        shoppers_after_opening_window: opening_window.map(|(_, after)| after),
        limit,
        units_paid: bots.iter().map(|j| j.units_paid).sum(),
    })
}

/// The Wilson score interval at 95% of a share of `part` in `whole`: unlike the normal
/// approximation it stays within 0 and 1 and holds for the few dozen bots a sale admits.
pub fn wilson_95(part: u64, whole: u64) -> (f64, f64) {
    if whole == 0 {
        return (0.0, 1.0);
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n = whole as f64;
    let p = part as f64 / n;
    let centre = p + Z * Z / (2.0 * n);
    let spread = Z * (p * (1.0 - p) / n + Z * Z / (4.0 * n * n)).sqrt();
    let scale = 1.0 + Z * Z / n;
    (
        ((centre - spread) / scale).max(0.0),
        ((centre + spread) / scale).min(1.0),
    )
}

fn outcome_counts(journeys: &[Journey]) -> BTreeMap<String, OutcomeCount> {
    let mut counts: BTreeMap<Outcome, OutcomeCount> = BTreeMap::new();
    for journey in journeys {
        let count = counts.entry(journey.outcome).or_default();
        if journey.is_bot() {
            count.bots += 1;
        } else {
            count.shoppers += 1;
        }
    }
    counts
        .into_iter()
        .map(|(outcome, count)| (outcome.as_str().to_owned(), count))
        .collect()
}

/// The figures the verdict judges.
struct Judged<'a> {
    stock: &'a StockReport,
    calibration: &'a CalibrationReport,
    order: &'a OrderReport,
    outflow: &'a OutflowReport,
    bots: Option<&'a BotReport>,
    server_errors: u64,
    shopper_refusals: u64,
}

fn verdict(judged: Judged<'_>, admissions: &[i64], run: &RunData) -> Verdict {
    let Judged {
        stock,
        calibration,
        order,
        outflow,
        bots,
        server_errors,
        shopper_refusals,
    } = judged;
    let mut failures = Vec::new();
    if stock.oversold {
        failures.push(format!(
            "oversold: {} units offered, {:?} sold by the server's count, {} paid",
            stock.offered, stock.sold_server, stock.paid_client
        ));
    }
    if stock.sold_server.is_none() {
        failures.push(
            "the server's sold count could not be read from the admin event detail".to_owned(),
        );
    } else if !stock.consistent {
        failures.push(format!(
            "the server counts {:?} units sold, the shoppers paid for {} and reserved {} more",
            stock.sold_server, stock.paid_client, stock.reserved_unpaid_client
        ));
    }
    if server_errors > 0 {
        failures.push(format!("{server_errors} server errors (5xx)"));
    }
    // A defence that turns away a legitimate shopper is a failure of the sale, not a margin.
    if shopper_refusals > 0 {
        failures.push(format!(
            "{shopper_refusals} answers refused legitimate shoppers (403 or 429)"
        ));
    }
    if order.inversions > 0 {
        failures.push(format!(
            "{} order inversions among post-start joins",
            order.inversions
        ));
    }
    if outflow.exceeded {
        failures.push(format!(
            "the outflow broke its ceiling: {:.1} admissions above rate × time + burst",
            outflow.max_excess
        ));
    }
    // The floor holds only while nothing else caps the outflow: a `max_active` cap that is
    // reached admits fewer by design, and an outflow that follows the checkout is judged
    // against the rate in force instead (`follow`).
    // With windows every N seconds the queue always holds the open window's entrants, whom the
    // server may not let through yet, so a waiting queue does not show that anyone is owed.
    if outflow.short
        && run.scenario.event.max_active.is_none()
        && run.scenario.checkout.is_none()
        && run.scenario.event.arrival_window_seconds == 0
    {
        failures.push(format!(
            "the outflow broke its floor: {:.1} admissions short of rate × time − (burst + 1) \
             while shoppers waited",
            outflow.max_shortfall
        ));
    }
    // Judged beyond chance: a fair draw of a few thousand admissions puts a share near 1% a
    // fifth of itself above or below from run to run, so a bare comparison would fail about one
    // fair run in three. Only a share whose whole 95% interval lies above the limit fails; runs
    // near it are pooled (`load/bots_share.py`) to tell.
    if let (Some(limit), Some(bots)) = (run.scenario.bots.max_share_of_admissions, bots)
        && bots.share_of_admissions_95.0 > limit
    {
        failures.push(format!(
            "bots took {:.2}% of the admissions ({} of {}), above the scenario's limit of {:.2}% \
             by more than chance explains (95% interval {:.2}–{:.2}%)",
            bots.share_of_admissions * 100.0,
            bots.admitted,
            bots.admissions,
            limit * 100.0,
            bots.share_of_admissions_95.0 * 100.0,
            bots.share_of_admissions_95.1 * 100.0,
        ));
    }
    for bucket in calibration.off_buckets() {
        failures.push(format!(
            "the chance of success is off: {} shoppers shown {}–{}% (mean {:.1}%) of whom {:.1}% \
             bought, more than {:.0} points apart",
            bucket.shoppers,
            bucket.from_percent,
            bucket.to_percent,
            bucket.mean_shown.unwrap_or(0.0) * 100.0,
            bucket.share_bought.unwrap_or(0.0) * 100.0,
            calibration::TOLERANCE * 100.0
        ));
    }
    let crowd = run.scenario.shoppers.count + run.scenario.bots.count;
    if crowd > 0 && run.scenario.event.units > 0 && admissions.is_empty() {
        failures.push("nobody was admitted".to_owned());
    }
    Verdict {
        passed: failures.is_empty(),
        failures,
    }
}

#[cfg(test)]
mod tests;
