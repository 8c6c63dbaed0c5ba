//! A shop's own checkout that slows down and fails on purpose, in front of the server's
//! checkout, for events whose outflow follows the checkout's health (`checkout_target`).
//!
//! The scenario's `[checkout]` table sets the target the event is created with and the phases
//! (seconds from the start) during which the checkout is slow and failing. Every checkout and
//! payment call of the crowd goes through [`FaultyCheckout::answer`]: in a phase it first waits
//! a delay drawn evenly from 0 to `p95_ms / 0.95` (so that 95% of the added delays are under
//! `p95_ms`), then fails the call with probability `error_rate` (the shopper sees a `503` from the
//! shop and tries again, the server is not called), else makes the real call. What the crowd
//! experienced, added delay and the server's answer time together, is what the checkout's
//! health is computed from and reported through the admin API, as an external checkout would.
//! Nothing is reported that was not measured.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{Reply, TransportError};
use crate::clock::RunClock;

/// The `[checkout]` table of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutPlan {
    /// The event's `checkout_target`: what the outflow judges the checkout against.
    pub target: CheckoutTarget,
    /// The spell (seconds) each health report covers: long enough to hold the 20 answers the
    /// server needs to judge, even at the lowest outflow.
    #[serde(default = "default_report_window")]
    pub report_window_seconds: f64,
    /// When the checkout is slow and failing; healthy the rest of the time.
    #[serde(default)]
    pub phases: Vec<FaultPhase>,
}

fn default_report_window() -> f64 {
    10.0
}

/// The event's `checkout_target`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutTarget {
    /// The highest acceptable 95th percentile answer time, ms.
    pub p95_ms: u32,
    /// The highest acceptable share of failed answers, 0 to 1.
    pub max_error_rate: f64,
}

/// A spell during which the checkout is slow and failing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPhase {
    /// Seconds from the start of the sale.
    pub from_second: f64,
    /// Seconds from the start of the sale (exclusive).
    pub to_second: f64,
    /// The 95th percentile of the delay added to each call, ms.
    pub p95_ms: u32,
    /// The share of calls that fail, 0 to 1.
    pub error_rate: f64,
}

impl FaultPhase {
    /// Whether the phase breaks `target`, on either figure.
    pub fn is_unhealthy(&self, target: &CheckoutTarget) -> bool {
        self.p95_ms > target.p95_ms || self.error_rate > target.max_error_rate
    }

    /// How long it lasts, seconds.
    pub fn seconds(&self) -> f64 {
        self.to_second - self.from_second
    }

    /// The longest delay the phase adds to a call, ms.
    pub fn longest_delay_ms(&self) -> f64 {
        f64::from(self.p95_ms) / 0.95
    }
}

impl CheckoutPlan {
    /// Why the plan cannot be played, if it cannot: `(field, reason)`.
    pub fn invalid(&self) -> Option<(&'static str, &'static str)> {
        let share_ok = |share: f64| (0.0..=1.0).contains(&share);
        if !(1..=600_000).contains(&self.target.p95_ms) {
            return Some(("checkout.target.p95_ms", "must be between 1 and 600000"));
        }
        if !share_ok(self.target.max_error_rate) {
            return Some((
                "checkout.target.max_error_rate",
                "a share is between 0 and 1",
            ));
        }
        if !(self.report_window_seconds.is_finite() && self.report_window_seconds >= 1.0) {
            return Some(("checkout.report_window_seconds", "must be at least 1"));
        }
        for phase in &self.phases {
            if !(phase.from_second.is_finite()
                && phase.to_second.is_finite()
                && 0.0 <= phase.from_second
                && phase.from_second < phase.to_second)
            {
                return Some((
                    "checkout.phases",
                    "from_second must be at least 0 and before to_second",
                ));
            }
            if !share_ok(phase.error_rate) || phase.p95_ms > 600_000 {
                return Some((
                    "checkout.phases",
                    "error_rate is between 0 and 1, p95_ms at most 600000",
                ));
            }
        }
        None
    }

    /// The phase in force `second` seconds after the start, if any.
    pub fn phase_at(&self, second: f64) -> Option<&FaultPhase> {
        self.phases
            .iter()
            .find(|phase| phase.from_second <= second && second < phase.to_second)
    }
}

/// One answer of the checkout as the crowd experienced it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CheckoutAnswer {
    /// When it arrived (Unix ms).
    pub at_ms: i64,
    /// From the call to the answer, added delay included, ms.
    pub latency_ms: u32,
    /// A failure: played by the shop, a 5xx from the server, or no answer at all.
    pub failed: bool,
}

/// The checkout's health over some answers, as the admin API takes it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HealthFigures {
    /// 95th percentile of the answer time (nearest rank), ms.
    pub p95_ms: u32,
    /// Share of answers that failed.
    pub error_rate: f64,
    /// How many answers.
    pub samples: u32,
}

impl HealthFigures {
    /// The figures of the answers that arrived in `(to_ms − window_ms, to_ms]`; `None` when none
    /// did.
    pub fn of(answers: &[CheckoutAnswer], to_ms: i64, window_ms: i64) -> Option<Self> {
        let mut latencies = Vec::new();
        let mut failed = 0u32;
        for answer in answers
            .iter()
            .filter(|a| a.at_ms <= to_ms && a.at_ms > to_ms - window_ms)
        {
            latencies.push(answer.latency_ms);
            failed += u32::from(answer.failed);
        }
        if latencies.is_empty() {
            return None;
        }
        latencies.sort_unstable();
        let rank = (latencies.len() * 95).div_ceil(100).max(1);
        let samples = u32::try_from(latencies.len()).unwrap_or(u32::MAX);
        Some(Self {
            p95_ms: latencies[rank - 1],
            error_rate: f64::from(failed) / f64::from(samples),
            samples,
        })
    }
}

/// The shop's checkout, played: adds each phase's delay and failures to the crowd's checkout
/// calls and keeps every answer.
#[derive(Debug)]
pub struct FaultyCheckout {
    /// The scenario's table.
    pub plan: CheckoutPlan,
    starts_at_ms: i64,
    clock: RunClock,
    rng: Mutex<StdRng>,
    answers: Mutex<Vec<CheckoutAnswer>>,
}

impl FaultyCheckout {
    /// The checkout of a sale starting at `starts_at_ms`, its draws seeded by `seed`.
    pub fn new(plan: CheckoutPlan, starts_at_ms: i64, clock: RunClock, seed: u64) -> Self {
        Self {
            plan,
            starts_at_ms,
            clock,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            answers: Mutex::new(Vec::new()),
        }
    }

    /// Plays the shop's checkout around `call` (a request to the server's checkout, not yet
    /// sent): the phase's delay, then its failure or the call itself; keeps what the caller
    /// experienced.
    pub async fn answer<F>(&self, call: F) -> Result<Reply, TransportError>
    where
        F: Future<Output = Result<Reply, TransportError>>,
    {
        let started = Instant::now();
        let second = (self.clock.now_ms() - self.starts_at_ms) as f64 / 1_000.0;
        let (delay, fails) = match self.plan.phase_at(second) {
            Some(phase) => {
                let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                let delay_ms = rng.gen_range(0.0..=phase.longest_delay_ms());
                (
                    Duration::from_secs_f64(delay_ms / 1_000.0),
                    rng.gen_bool(phase.error_rate),
                )
            }
            None => (Duration::ZERO, false),
        };
        tokio::time::sleep(delay).await;
        let reply = if fails {
            Ok(Reply {
                status: 503,
                body: json!({"type": "about:blank", "title": "the shop's checkout failed", "status": 503}),
                retry_after: None,
                sent_at: started,
                done_at: Instant::now(),
            })
        } else {
            call.await
        };
        let failed = reply.as_ref().map_or(true, |reply| reply.status >= 500);
        let done = Instant::now();
        self.keep(CheckoutAnswer {
            at_ms: self.clock.ms_at(done),
            latency_ms: u32::try_from((done - started).as_millis()).unwrap_or(u32::MAX),
            failed,
        });
        reply
    }

    fn keep(&self, answer: CheckoutAnswer) {
        self.answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(answer);
    }

    /// The figures of the report window ending now.
    pub fn figures_now(&self) -> Option<HealthFigures> {
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        HealthFigures::of(
            &answers,
            self.clock.now_ms(),
            (self.plan.report_window_seconds * 1_000.0) as i64,
        )
    }

    /// Every answer so far.
    pub fn answers(&self) -> Vec<CheckoutAnswer> {
        self.answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn plan() -> CheckoutPlan {
        CheckoutPlan {
            target: CheckoutTarget {
                p95_ms: 800,
                max_error_rate: 0.05,
            },
            report_window_seconds: 10.0,
            phases: vec![FaultPhase {
                from_second: 20.0,
                to_second: 50.0,
                p95_ms: 2_500,
                error_rate: 0.2,
            }],
        }
    }

    fn answer(at_ms: i64, latency_ms: u32, failed: bool) -> CheckoutAnswer {
        CheckoutAnswer {
            at_ms,
            latency_ms,
            failed,
        }
    }

    #[test]
    fn the_figures_cover_only_the_window_and_take_the_nearest_rank_p95() {
        let mut answers: Vec<_> = (1..=100)
            .map(|n| answer(10_000 + n, n as u32 * 10, n % 5 == 0))
            .collect();
        answers.push(answer(10_000, 99_999, true));
        let figures = HealthFigures::of(&answers, 10_100, 100).unwrap();
        assert_eq!(figures.samples, 100);
        assert_eq!(figures.p95_ms, 950);
        assert_eq!(figures.error_rate, 0.2);
        assert_eq!(HealthFigures::of(&answers, 30_000, 1_000), None);
    }

    #[test]
    fn the_phase_in_force_runs_from_its_first_second_to_before_its_last() {
        let plan = plan();
        assert_eq!(plan.phase_at(19.999), None);
        assert_eq!(plan.phase_at(20.0).map(|p| p.p95_ms), Some(2_500));
        assert_eq!(plan.phase_at(50.0), None);
        assert!(plan.phases[0].is_unhealthy(&plan.target));
    }

    #[test]
    fn a_phase_that_ends_before_it_starts_is_refused() {
        let mut plan = plan();
        assert_eq!(plan.invalid(), None);
        plan.phases[0].to_second = 10.0;
        assert_eq!(
            plan.invalid().map(|(field, _)| field),
            Some("checkout.phases")
        );
    }

    #[tokio::test]
    async fn outside_a_phase_the_call_is_made_and_its_answer_kept() {
        let clock = RunClock::start();
        let checkout = FaultyCheckout::new(plan(), clock.now_ms(), clock, 7);
        let reply = checkout
            .answer(async {
                let now = Instant::now();
                Ok(Reply {
                    status: 201,
                    body: serde_json::Value::Null,
                    retry_after: None,
                    sent_at: now,
                    done_at: now,
                })
            })
            .await
            .unwrap();
        assert_eq!(reply.status, 201);
        let answers = checkout.answers();
        assert_eq!(answers.len(), 1);
        assert!(!answers[0].failed);
        assert!(answers[0].latency_ms < 100, "{}", answers[0].latency_ms);
    }

    #[tokio::test]
    async fn in_a_failing_phase_every_call_is_delayed_and_fails_without_reaching_the_server() {
        let mut plan = plan();
        plan.phases[0] = FaultPhase {
            from_second: 0.0,
            to_second: 600.0,
            p95_ms: 95,
            error_rate: 1.0,
        };
        let clock = RunClock::start();
        let checkout = FaultyCheckout::new(plan, clock.now_ms(), clock, 7);
        for _ in 0..20 {
            let reply = checkout
                .answer(async { Err(TransportError("the server was called".to_owned())) })
                .await
                .unwrap();
            assert_eq!(reply.status, 503);
        }
        let answers = checkout.answers();
        assert!(answers.iter().all(|a| a.failed));
        // Delays are drawn from 0 to 100 ms; the timer may add a few.
        assert!(answers.iter().all(|a| a.latency_ms <= 150), "{answers:?}");
        assert!(answers.iter().any(|a| a.latency_ms >= 50), "{answers:?}");
    }
}
