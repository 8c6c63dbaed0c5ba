//! Whether the chance of success the server showed was right: shoppers grouped by the chance
//! they were first shown after the sale opened, each group's mean shown chance beside the share
//! of it that then bought (a reliability table), and the Brier score over all of them.
//!
//! Judged are the shoppers whose outcome answers the question "could they buy when their turn
//! came": those who left by choice, and those the end of the run cut off (still waiting, or
//! admitted as it stopped), are counted apart and not judged.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::journey::{Journey, Outcome};

/// Buckets of ten points: 0–10%, 10–20%, …, 90–100% (100% falls in the last).
const BUCKETS: usize = 10;

/// A bucket with at least this many shoppers is judged; fewer are too noisy to say.
pub const JUDGED_BUCKET_SHOPPERS: u64 = 200;

/// How far a judged bucket's share who bought may be from its mean shown chance.
pub const TOLERANCE: f64 = 0.10;

/// One shopper's shown chance and what came of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    /// The chance shown, 0 to 1.
    pub shown: f64,
    /// Whether the shopper then bought (reserved at least one unit).
    pub bought: bool,
}

/// One row of the reliability table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// The lower edge of the bucket, in percent.
    pub from_percent: u32,
    /// The upper edge, in percent.
    pub to_percent: u32,
    pub shoppers: u64,
    /// The mean chance shown to them, 0 to 1 (`None` for an empty bucket).
    pub mean_shown: Option<f64>,
    /// The share of them who bought, 0 to 1 (`None` for an empty bucket).
    pub share_bought: Option<f64>,
    /// How their journeys ended, by outcome: what a bucket that is off missed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub outcomes: BTreeMap<&'static str, u64>,
}

impl Bucket {
    /// Whether the bucket is large enough to judge and off by more than the tolerance.
    pub fn is_off(&self) -> bool {
        match (self.mean_shown, self.share_bought) {
            (Some(shown), Some(bought)) => {
                self.shoppers >= JUDGED_BUCKET_SHOPPERS && (shown - bought).abs() > TOLERANCE
            }
            _ => false,
        }
    }
}

/// The calibration of the chance of success over a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationReport {
    /// Shoppers judged: shown a chance after the start, with an outcome that answers it.
    pub judged: u64,
    /// Shoppers shown a chance who left by choice.
    pub left: u64,
    /// Shoppers shown a chance whose outcome the end of the run cut off.
    pub cut_off: u64,
    /// Mean squared difference between the chance shown and the outcome (0 is perfect; always
    /// showing 50% scores 0.25). `None` with nobody judged.
    pub brier: Option<f64>,
    pub buckets: Vec<Bucket>,
}

impl CalibrationReport {
    /// The buckets large enough to judge that are off by more than the tolerance.
    pub fn off_buckets(&self) -> impl Iterator<Item = &Bucket> {
        self.buckets.iter().filter(|b| b.is_off())
    }
}

/// The calibration of the shoppers' journeys (bots are not shown a page and are left out).
pub fn measure(journeys: &[Journey]) -> CalibrationReport {
    let (mut left, mut cut_off) = (0, 0);
    let mut forecasts = Vec::new();
    let mut outcomes = vec![BTreeMap::new(); BUCKETS];
    for journey in journeys.iter().filter(|j| !j.is_bot()) {
        let Some(shown) = journey.chance_shown else {
            continue;
        };
        match journey.outcome {
            Outcome::Left => left += 1,
            Outcome::WaitingAtEnd | Outcome::AdmittedAtEnd => cut_off += 1,
            outcome => {
                forecasts.push(Forecast {
                    shown,
                    bought: journey.units_reserved > 0,
                });
                *outcomes[bucket_of(shown)]
                    .entry(outcome.as_str())
                    .or_insert(0) += 1;
            }
        }
    }
    let mut buckets = reliability(&forecasts);
    for (bucket, outcomes) in buckets.iter_mut().zip(outcomes) {
        bucket.outcomes = outcomes;
    }
    CalibrationReport {
        judged: forecasts.len() as u64,
        left,
        cut_off,
        brier: brier_score(&forecasts),
        buckets,
    }
}

/// The mean of (shown − outcome)², the outcome 1 for a purchase and 0 otherwise.
pub fn brier_score(forecasts: &[Forecast]) -> Option<f64> {
    if forecasts.is_empty() {
        return None;
    }
    let sum: f64 = forecasts
        .iter()
        .map(|f| (f.shown - f64::from(u8::from(f.bought))).powi(2))
        .sum();
    Some(sum / forecasts.len() as f64)
}

/// The bucket a shown chance falls in.
fn bucket_of(shown: f64) -> usize {
    ((shown.clamp(0.0, 1.0) * BUCKETS as f64).floor() as usize).min(BUCKETS - 1)
}

/// The reliability table: every bucket, empty ones included, lowest first.
pub fn reliability(forecasts: &[Forecast]) -> Vec<Bucket> {
    let mut sums = [(0u64, 0.0f64, 0u64); BUCKETS];
    for forecast in forecasts {
        let (count, shown, bought) = &mut sums[bucket_of(forecast.shown)];
        *count += 1;
        *shown += forecast.shown;
        *bought += u64::from(forecast.bought);
    }
    let width = 100 / BUCKETS as u32;
    sums.iter()
        .zip(0u32..)
        .map(|(&(count, shown, bought), i)| Bucket {
            from_percent: i * width,
            to_percent: (i + 1) * width,
            shoppers: count,
            mean_shown: (count > 0).then(|| shown / count as f64),
            share_bought: (count > 0).then(|| bought as f64 / count as f64),
            outcomes: BTreeMap::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::Actor;

    fn forecasts(shown: f64, bought: usize, not_bought: usize) -> Vec<Forecast> {
        let yes = std::iter::repeat_n(
            Forecast {
                shown,
                bought: true,
            },
            bought,
        );
        let no = std::iter::repeat_n(
            Forecast {
                shown,
                bought: false,
            },
            not_bought,
        );
        yes.chain(no).collect()
    }

    #[test]
    fn the_brier_score_is_the_mean_squared_miss() {
        assert_eq!(brier_score(&[]), None);
        // Sure and right: 0. Sure and wrong: 1. Half: a quarter whatever happens.
        assert_eq!(brier_score(&forecasts(1.0, 3, 0)), Some(0.0));
        assert_eq!(brier_score(&forecasts(1.0, 0, 2)), Some(1.0));
        assert_eq!(brier_score(&forecasts(0.5, 1, 1)), Some(0.25));
        // 0.8 bought: 0.04; 0.8 not bought: 0.64; 0.1 not bought: 0.01.
        let mixed = [
            Forecast {
                shown: 0.8,
                bought: true,
            },
            Forecast {
                shown: 0.8,
                bought: false,
            },
            Forecast {
                shown: 0.1,
                bought: false,
            },
        ];
        let score = brier_score(&mixed).unwrap_or(f64::NAN);
        assert!((score - 0.69 / 3.0).abs() < 1e-12, "{score}");
    }

    #[test]
    fn the_table_groups_by_ten_points_with_100_percent_in_the_last_bucket() {
        let mut all = forecasts(0.0, 0, 4);
        all.extend(forecasts(0.09, 1, 0));
        all.extend(forecasts(0.1, 1, 1));
        all.extend(forecasts(0.95, 1, 0));
        all.extend(forecasts(1.0, 2, 1));
        let table = reliability(&all);
        assert_eq!(table.len(), 10);
        assert_eq!((table[0].from_percent, table[0].to_percent), (0, 10));
        assert_eq!((table[9].from_percent, table[9].to_percent), (90, 100));
        let counts: Vec<u64> = table.iter().map(|b| b.shoppers).collect();
        assert_eq!(counts, [5, 2, 0, 0, 0, 0, 0, 0, 0, 4]);
        let first_shown = table[0].mean_shown.unwrap_or(f64::NAN);
        assert!((first_shown - 0.018).abs() < 1e-12, "{first_shown}");
        assert_eq!(table[0].share_bought, Some(0.2));
        assert_eq!(table[1].share_bought, Some(0.5));
        assert_eq!((table[2].mean_shown, table[2].share_bought), (None, None));
        let last_shown = table[9].mean_shown.unwrap_or(f64::NAN);
        assert!((last_shown - 0.9875).abs() < 1e-12, "{last_shown}");
        assert_eq!(table[9].share_bought, Some(0.75));
    }

    #[test]
    fn only_a_large_bucket_more_than_ten_points_off_is_off() {
        let judged = JUDGED_BUCKET_SHOPPERS as usize;
        // Shown 100%, 37% bought: the estimator's old fault.
        let wrong = reliability(&forecasts(1.0, 37 * judged / 100, 63 * judged / 100));
        assert!(wrong[9].is_off());
        // The same miss in a bucket too small to judge.
        let small = reliability(&forecasts(1.0, 37, 63));
        assert!(!small[9].is_off());
        // Shown 50%, 41% bought: within ten points.
        let close = reliability(&forecasts(0.5, 41 * judged / 100, 59 * judged / 100));
        assert!(!close[5].is_off());
        // Shown 50%, 39% bought: beyond.
        let far = reliability(&forecasts(0.5, 39 * judged / 100, 61 * judged / 100));
        assert!(far[5].is_off());
    }

    fn shopper(shown: Option<f64>, outcome: Outcome, reserved: u64) -> Journey {
        let mut journey = Journey::new(Actor::Shopper, "s".to_owned());
        journey.chance_shown = shown;
        journey.outcome = outcome;
        journey.units_reserved = reserved;
        journey
    }

    #[test]
    fn shoppers_who_left_or_were_cut_off_are_counted_apart_and_bots_not_at_all() {
        let mut bot = shopper(Some(1.0), Outcome::Paid, 1);
        bot.actor = Actor::Bot;
        let journeys = [
            shopper(Some(0.9), Outcome::Paid, 1),
            shopper(Some(0.9), Outcome::ReservedUnpaid, 1),
            shopper(Some(0.9), Outcome::SoldOutAtCheckout, 0),
            shopper(Some(0.2), Outcome::WaitingAtSoldOut, 0),
            shopper(Some(0.5), Outcome::Left, 0),
            shopper(Some(0.5), Outcome::WaitingAtEnd, 0),
            shopper(Some(0.5), Outcome::AdmittedAtEnd, 0),
            shopper(None, Outcome::Paid, 1),
            bot,
        ];
        let report = measure(&journeys);
        assert_eq!((report.judged, report.left, report.cut_off), (4, 1, 2));
        assert_eq!(report.buckets[9].shoppers, 3);
        assert_eq!(report.buckets[9].share_bought, Some(2.0 / 3.0));
        assert_eq!(report.buckets[2].share_bought, Some(0.0));
        assert_eq!(report.off_buckets().count(), 0);
        // The judged journeys of a bucket, by how they ended.
        assert_eq!(
            report.buckets[9].outcomes,
            BTreeMap::from([
                (Outcome::Paid.as_str(), 1),
                (Outcome::ReservedUnpaid.as_str(), 1),
                (Outcome::SoldOutAtCheckout.as_str(), 1),
            ])
        );
        assert_eq!(
            report.buckets[2].outcomes,
            BTreeMap::from([(Outcome::WaitingAtSoldOut.as_str(), 1)])
        );
        assert!(report.buckets[5].outcomes.is_empty());
    }
}
