//! The chance of success: how likely a waiting shopper is to find something left to buy.
//!
//! Ahead of a shopper at position `p` stand the admitted shoppers who have not used their
//! admission yet and the `p − 1` shoppers waiting in front. Each of those buys with the share of
//! admitted shoppers who bought so far, the waiting ones only if they do not leave before their
//! own turn, and each buyer takes the units per order seen so far. The shopper can buy while
//! fewer buyers come first than the units left can serve: with the buyers ahead counted as a
//! binomial, the chance is its distribution function there.
//!
//! Leaving is measured as a rate per shopper and second of waiting (departures over the
//! shopper-seconds waited, [`Departures`]): a shopper `i` places ahead waits about `i / outflow`
//! seconds more and leaves in that time with `1 − e^(−rate·t)`. A share of departures over
//! departures and admissions would not do: while most of the crowd still waits (an arrival
//! window held shut, the first minutes of a big sale) it counts the few who left from anywhere in
//! the line against the few admitted from its head, and calls most of the line leavers.
//!
//! The shares are measured from the event's counters, starting from a cautious prior (every
//! admitted shopper buys, nobody leaves) that the counts outweigh as the sale goes on, so the
//! first shoppers are not promised more than the stock can give.
//!
//! Shoppers do not reach the checkout in the order they were admitted: a page on a socket hears
//! its admission at once, one that polls hears it seconds later, and people take different
//! times to choose. While the line moves at `r` shoppers a second, a shopper whose way from
//! admission to checkout takes `d` seconds longer than the crowd's is passed by about `r·d`
//! shoppers admitted after them (and passes as many when quicker), no more than wait behind.
//! With those times measured per channel ([`crate::queue::checkout_lag`]), the buyers first at
//! the checkout are the binomial count of those ahead plus a normal shift whose mean is `r`
//! times the gap between the shopper's channel and the crowd, and whose spread is `r` times
//! their channel's spread (buyers among them: times the share who buy). Without it, the
//! shoppers at the head of a fast line were promised units that quicker shoppers behind them
//! took, and a polling shopper was told the chance of one on a socket.
//!
//! A polling page hears of its admission only when it reads its ticket, and it is told its
//! chance at a read too: its next read is a whole gap between reads away, not the half gap a
//! page read at a random moment waits on average. A shopper admitted before then hears of it
//! then, and a gap of many seconds (a crowd's reads queue up) loses them the places of everyone
//! admitted meanwhile who hears sooner. So a polling shopper's race is run twice, at the polling
//! time and at the next read, and they are told the lesser chance.
//!
//! A sale of several SKUs is several races: a shopper finds something to buy when the SKU they
//! want is not gone before them, and the server does not know which they want. Each SKU's
//! demand is the share of the units taken so far that were of it (from a prior of its share of
//! the stock), and the chance is the sum over SKUs of their demand times the chance of that
//! SKU's race, whose buyers ahead are the shoppers ahead who buy it. Pooling the units instead
//! told shoppers wanting a SKU already sold out that they would find something.
//!
//! The counters are read every few seconds while positions move at every drain: the shoppers
//! admitted since the read have left the positions but their purchases are not in the units left
//! yet. They are counted ahead of everyone as unused admissions, from the event's count of
//! admissions at the read and now (a count of shoppers: the serving number is a score, and with
//! arrival windows scores are sparse and drawn, so its moves say nothing of how many went
//! through).

use std::sync::Arc;
use std::time::Instant;

use super::checkout_lag::{Channel, Lag, LagFigures};
use crate::domain::EventStats;

/// How many shoppers' worth the prior counts for against what is measured.
const PRIOR_WEIGHT: f64 = 5.0;

/// One SKU of a sale, as the chance of success sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkuOutlook {
    /// Units of it left.
    pub units_left: u64,
    /// Share of the buyers who want it (the SKUs' shares add up to 1).
    pub demand: f64,
}

/// What the counters of a sale say about the shoppers ahead of any place in its queue.
#[derive(Debug, Clone, PartialEq)]
pub struct SaleOutlook {
    /// Units left in stock, all SKUs together.
    pub units_left: u64,
    /// Each SKU's units left and demand; empty or one: the units are one race.
    pub skus: Arc<[SkuOutlook]>,
    /// Admitted shoppers who have not used their admission yet: all ahead of every waiting one.
    pub unused_admissions: u64,
    /// Units per order so far (1 before any order).
    pub units_per_order: f64,
    /// Share of admitted shoppers who buy.
    pub buy_share: f64,
    /// Waiting shoppers who leave (or are dropped), per shopper and second of waiting.
    pub leave_per_second: f64,
    /// The outflow that moves the line, shoppers per second (0 when unknown: nobody is counted
    /// as leaving).
    pub outflow_per_second: f64,
    /// Shoppers admitted in the event when the counters were read.
    pub admitted: u64,
    /// The time from admission to checkout, per channel (`None`: everyone reaches the checkout
    /// in the order admitted).
    pub lags: Option<LagFigures>,
    /// Shoppers waiting in the line: the most who can pass one of them come from behind.
    pub waiting: u64,
}

impl SaleOutlook {
    /// The outlook from an event's counters.
    pub fn of(stats: &EventStats) -> Self {
        let live_reservations = stats
            .orders_reserved
            .saturating_sub(stats.orders_paid)
            .saturating_sub(stats.orders_expired);
        let unused = stats.active.saturating_sub(live_reservations);
        let finished = stats.admitted.saturating_sub(unused) as f64;
        let bought = stats.orders_reserved as f64;
        let buy_share = ((bought + PRIOR_WEIGHT) / (finished + PRIOR_WEIGHT)).clamp(0.0, 1.0);
        let orders = (stats.orders_paid + live_reservations) as f64;
        let units: u64 = stats.sold.values().chain(stats.reserved.values()).sum();
        Self {
            units_left: stats.units_left(),
            skus: sku_outlooks(stats),
            unused_admissions: unused,
            units_per_order: ((units as f64 + 1.0) / (orders + 1.0)).max(1.0),
            buy_share,
            leave_per_second: 0.0,
            outflow_per_second: 0.0,
            admitted: stats.admitted,
            lags: None,
            waiting: stats.queue_length,
        }
    }

    /// The same outlook with waiting shoppers leaving at `leave_per_second` each while the line
    /// moves at `outflow_per_second`.
    pub fn with_leaving(self, leave_per_second: f64, outflow_per_second: f64) -> Self {
        Self {
            leave_per_second,
            outflow_per_second,
            ..self
        }
    }

    /// The same outlook with shoppers reaching the checkout in the times `lags`, while the line
    /// moves at the outflow of [`Self::with_leaving`].
    pub fn with_lags(self, lags: LagFigures) -> Self {
        Self {
            lags: Some(lags),
            ..self
        }
    }

    /// Places a shopper on `channel` is expected to lose on the way to the checkout (negative:
    /// to gain), and their spread: the line's pace times the gap between the channel's mean time
    /// and the crowd's, and times the channel's spread.
    fn passing(&self, channel: Option<Channel>) -> Passing {
        let Some(lags) = self.lags else {
            return Passing::default();
        };
        self.passing_with(lags.of(channel))
    }

    /// Places lost (or gained) by a shopper whose time to the checkout is `lag`.
    fn passing_with(&self, lag: Lag) -> Passing {
        let (Some(lags), pace) = (self.lags, self.outflow_per_second) else {
            return Passing::default();
        };
        if !pace.is_finite() || pace <= 0.0 {
            return Passing::default();
        }
        let passing = Passing {
            mean: pace * (lag.mean - lags.crowd.mean),
            spread: pace * lag.spread,
        };
        if passing.mean.is_finite() && passing.spread.is_finite() {
            passing
        } else {
            Passing::default()
        }
    }

    /// For a polling shopper told their chance at a read, `waiting_ahead` places from their
    /// admission: the places lost by hearing of it no sooner than the next read. That read comes
    /// a gap from now, `gap − wait` after the admission when the wait for it is shorter; what a
    /// polling shopper takes beyond hearing of it (their mean time less the mean wait for the
    /// next read from a random moment: the page's answer, the choosing, the checkout) comes on
    /// top, spread as a socket's time is. `None` before any gap between reads is measured.
    fn next_read(&self, waiting_ahead: u64) -> Option<Passing> {
        let lags = self.lags?;
        let gap = lags.poll_gap?;
        let pace = self.outflow_per_second;
        let measured = gap.mean > 0.0 && gap.mean.is_finite() && gap.spread.is_finite();
        if !(measured && pace > 0.0 && pace.is_finite()) {
            return None;
        }
        let wait = waiting_ahead as f64 / pace;
        let to_next_read = (gap.mean.powi(2) + gap.spread.powi(2)) / (2.0 * gap.mean);
        let after_hearing = (lags.polling.mean - to_next_read).max(0.0);
        Some(self.passing_with(Lag {
            mean: gap.mean - wait + after_hearing,
            spread: lags.socket.spread,
        }))
    }

    /// The mean chance that one of the `waiting_ahead` shoppers in front leaves before their own
    /// turn: the one `i` places ahead waits `i / outflow` seconds, so over places spread evenly
    /// up to `T = waiting_ahead / outflow` the mean of `1 − e^(−rate·t)` is
    /// `1 − (1 − e^(−x)) / x` with `x = rate·T`.
    fn leave_share_ahead(&self, waiting_ahead: u64) -> f64 {
        if waiting_ahead == 0 || self.leave_per_second <= 0.0 || self.outflow_per_second <= 0.0 {
            return 0.0;
        }
        let x = self.leave_per_second * waiting_ahead as f64 / self.outflow_per_second;
        if x < 1e-9 {
            return x / 2.0;
        }
        (1.0 - (1.0 - (-x).exp()) / x).clamp(0.0, 1.0)
    }

    /// The chance at `position`, told over `channel` (`None`: not known yet), when
    /// `admitted_now` shoppers of the event have been admitted and `waiting_now` wait: those
    /// admitted since the counters were read stand ahead as unused admissions.
    pub fn chance_now(
        &self,
        position: u64,
        channel: Option<Channel>,
        admitted_now: u64,
        waiting_now: u64,
    ) -> f64 {
        let passed = admitted_now.saturating_sub(self.admitted);
        let unused = self.unused_admissions.saturating_add(passed);
        self.chance_of(position, channel, unused, waiting_now)
    }

    /// The chance, from 0 to 1 in hundredths, that a shopper waiting at `position` (1 = next)
    /// can still buy when their turn comes, whichever way they hear of their admission.
    pub fn chance_at(&self, position: u64) -> f64 {
        self.chance_over(position, None)
    }

    /// The same for a shopper who hears of their admission over `channel` (`None`: unknown).
    pub fn chance_over(&self, position: u64, channel: Option<Channel>) -> f64 {
        self.chance_of(position, channel, self.unused_admissions, self.waiting)
    }

    /// The chance with `unused` admissions ahead of everyone and `waiting` shoppers in the line
    /// (a socket asks at every frame: nothing is copied).
    fn chance_of(&self, position: u64, channel: Option<Channel>, unused: u64, waiting: u64) -> f64 {
        if self.units_left == 0 {
            return 0.0;
        }
        let waiting_ahead = position.saturating_sub(1);
        let ahead = unused.saturating_add(waiting_ahead);
        let stays = 1.0 - self.leave_share_ahead(waiting_ahead);
        let expected_buyers =
            unused as f64 * self.buy_share + waiting_ahead as f64 * self.buy_share * stays;
        // Shoppers who pass this one from behind buy as the admitted do.
        let share = if ahead == 0 {
            self.buy_share
        } else {
            expected_buyers / ahead as f64
        };
        let reach = |passing| Reach {
            ahead,
            // A count older than the position (read before the shopper's place moved) bounds
            // nothing.
            behind: waiting.checked_sub(position).unwrap_or(u64::MAX),
            passing,
        };
        let reaches = reach(self.passing(channel));
        // A polling shopper wins the race only if they would both at the polling time and at
        // their next read.
        let next_read = match channel {
            Some(Channel::Polling) => self.next_read(waiting_ahead).map(reach),
            _ => None,
        };
        let race = |q: f64, k: u64| {
            let chance = reaches.buyers_first_at_most(q, k);
            next_read
                .as_ref()
                .map_or(chance, |next| chance.min(next.buyers_first_at_most(q, k)))
        };
        // Buyers the units left can serve before this shopper, leaving them at least one unit.
        let servable = |units_left: u64| (units_left as f64 / self.units_per_order).ceil() as u64;
        let chance = if self.skus.len() <= 1 {
            race(share, servable(self.units_left).saturating_sub(1))
        } else {
            self.skus
                .iter()
                .filter(|sku| sku.units_left > 0)
                .map(|sku| {
                    let k = servable(sku.units_left).saturating_sub(1);
                    sku.demand * race(share * sku.demand, k)
                })
                .sum()
        };
        (chance.clamp(0.0, 1.0) * 100.0).round() / 100.0
    }
}

/// Each SKU's units left and demand: its share of the units taken (sold or held), counted from a
/// prior of its share of the units offered worth [`PRIOR_WEIGHT`] units.
fn sku_outlooks(stats: &EventStats) -> Arc<[SkuOutlook]> {
    let taken = |sku| {
        stats.sold.get(sku).copied().unwrap_or(0) + stats.reserved.get(sku).copied().unwrap_or(0)
    };
    let offered: u64 = stats
        .stock_left
        .iter()
        .map(|(sku, left)| left + taken(sku))
        .sum();
    let taken_all: u64 = stats.stock_left.keys().map(taken).sum();
    if offered == 0 {
        return Arc::new([]);
    }
    let weight = |sku, left: u64| {
        let offered_share = (left + taken(sku)) as f64 / offered as f64;
        taken(sku) as f64 + PRIOR_WEIGHT * offered_share
    };
    let total = taken_all as f64 + PRIOR_WEIGHT;
    stats
        .stock_left
        .iter()
        .map(|(sku, left)| SkuOutlook {
            units_left: *left,
            demand: weight(sku, *left) / total,
        })
        .collect()
}

/// Shopper-seconds a prior of nobody leaving counts for: five shoppers waiting a minute.
const PRIOR_EXPOSURE: f64 = PRIOR_WEIGHT * 60.0;

/// The rate at which waiting shoppers leave, measured by one instance from the queue lengths
/// its drains see and the event's count of departures: departures since its first read over the
/// shopper-seconds waited since then (every instance sees the same queue, so each measures the
/// same rate, and a restarted one starts afresh rather than divide old departures by its own
/// short watch).
#[derive(Debug, Clone, Default)]
pub struct Departures {
    /// Departures counted by the event when this instance first read them.
    baseline: Option<u64>,
    /// Shopper-seconds waited since then.
    exposure: f64,
    /// The latest drain's time and queue length: those shoppers waited until the next drain.
    last_drain: Option<(Instant, u64)>,
}

impl Departures {
    /// A drain at `at` left `queue_length` shoppers waiting.
    pub fn drained(&mut self, at: Instant, queue_length: u64) {
        if let Some((before, waiting)) = self.last_drain {
            self.waited(waiting, at.saturating_duration_since(before).as_secs_f64());
        }
        self.last_drain = Some((at, queue_length));
    }

    /// `queue_length` shoppers waited `seconds`.
    fn waited(&mut self, queue_length: u64, seconds: f64) {
        if self.baseline.is_some() && seconds.is_finite() && seconds > 0.0 {
            self.exposure += queue_length as f64 * seconds;
        }
    }

    /// Departures per shopper and second of waiting, given the event's count of `departed`
    /// (left or dropped) shoppers so far.
    pub fn per_second(&mut self, departed: u64) -> f64 {
        let baseline = *self.baseline.get_or_insert(departed);
        departed.saturating_sub(baseline) as f64 / (self.exposure + PRIOR_EXPOSURE)
    }
}

/// Places a shopper is expected to lose (or gain) to others on the way to the checkout.
#[derive(Debug, Clone, Copy, Default)]
struct Passing {
    mean: f64,
    spread: f64,
}

/// Who may reach the checkout before a waiting shopper.
struct Reach {
    /// Admitted and waiting shoppers ahead in the line.
    ahead: u64,
    /// Waiting shoppers behind.
    behind: u64,
    /// Places lost (or gained) on the way to the checkout.
    passing: Passing,
}

impl Reach {
    /// P(at most `k` buyers reach the checkout first), each of them buying with `q`. The
    /// shopper loses a normally spread number of places on the way (see [`Passing`]): the buyers
    /// first are the binomial count of those ahead plus that many times `q`, and the sum is taken
    /// as normal (with continuity correction). Nobody passes from behind who is not there, so
    /// when fewer than `k + 1` shoppers stand ahead and behind together, nobody can take the last
    /// unit, and no more places are lost on average than there are shoppers behind. Without a
    /// shift worth half a buyer, the binomial alone.
    fn buyers_first_at_most(&self, q: f64, k: u64) -> f64 {
        let q = q.clamp(0.0, 1.0);
        let spread = self.passing.spread * q;
        let mean = self.passing.mean.min(self.behind as f64) * q;
        if spread < 0.5 && mean.abs() < 0.5 {
            return binomial_cdf(self.ahead, q, k);
        }
        if self.ahead.saturating_add(self.behind) <= k {
            return 1.0;
        }
        let (n, k) = (self.ahead as f64, k as f64);
        let variance = n * q * (1.0 - q) + spread * spread;
        if variance <= 0.0 {
            return if n * q + mean <= k + 0.5 { 1.0 } else { 0.0 };
        }
        normal_cdf((k + 0.5 - n * q - mean) / variance.sqrt())
    }
}

/// P(X ≤ k) for X ~ Binomial(n, q): exact for small variances, the normal approximation (with
/// continuity correction) beyond, where it is within a fraction of a percent.
fn binomial_cdf(n: u64, q: f64, k: u64) -> f64 {
    if k >= n || q <= 0.0 {
        return 1.0;
    }
    if q >= 1.0 {
        return 0.0;
    }
    let (nf, kf) = (n as f64, k as f64);
    let variance = nf * q * (1.0 - q);
    if variance >= 25.0 {
        return normal_cdf((kf + 0.5 - nf * q) / variance.sqrt());
    }
    if q > 0.5 {
        // X ≤ k is n − X ≥ n − k, with n − X ~ Binomial(n, 1 − q).
        return 1.0 - binomial_cdf(n, 1.0 - q, n - k - 1);
    }
    // Small variance and q ≤ ½: n·q < 50, so (1 − q)^n stays far from underflow.
    let mut term = (1.0 - q).powf(nf);
    let mut sum = term;
    let ratio = q / (1.0 - q);
    for i in 0..k {
        term *= (nf - i as f64) / (i as f64 + 1.0) * ratio;
        sum += term;
        if term < 1e-15 && i as f64 > nf * q {
            break;
        }
    }
    sum.min(1.0)
}

/// The standard normal distribution function (Abramowitz and Stegun 7.1.26, error < 1e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::Sku;

    fn outlook(units_left: u64, buy_share: f64, leave_per_second: f64) -> SaleOutlook {
        SaleOutlook {
            units_left,
            skus: Arc::new([]),
            unused_admissions: 0,
            units_per_order: 1.0,
            buy_share,
            leave_per_second,
            outflow_per_second: 10.0,
            admitted: 0,
            lags: None,
            waiting: 1_000_000,
        }
    }

    #[test]
    fn shoppers_admitted_since_the_counters_were_read_stand_ahead() {
        let read = SaleOutlook {
            admitted: 500,
            ..outlook(100, 1.0, 0.0)
        };
        assert_eq!(
            read.chance_now(100, Some(Channel::Polling), 500, 1_000),
            1.0
        );
        // Sixty admitted since the read will take sixty of the hundred units left.
        assert_eq!(read.chance_now(40, Some(Channel::Polling), 560, 1_000), 1.0);
        assert_eq!(read.chance_now(41, Some(Channel::Polling), 560, 1_000), 0.0);
        // A count behind the read (another instance's older snapshot) changes nothing.
        assert_eq!(
            read.chance_now(100, Some(Channel::Polling), 400, 1_000),
            1.0
        );
    }

    #[test]
    fn quicker_shoppers_behind_can_take_the_units_a_slow_one_was_in_line_for() {
        // 1,000 units, everyone admitted buys one, the line at 200 a second.
        let sale = outlook(1_000, 1.0, 0.0).with_leaving(0.0, 200.0);
        // Everyone taking the same time to the checkout: the first thousand places are sure.
        assert_eq!(sale.chance_at(600), 1.0);
        assert_eq!(sale.chance_at(1_000), 1.0);
        // Times spread by 2 s: 400 shoppers pass or are passed, so place 600 is not sure, place
        // 1,000 is an even chance and place 1,400 (a slow one's hope) is small but not nothing.
        let spread = sale.with_lags(LagFigures::alike(2.0));
        assert!((spread.passing(None).spread - 400.0).abs() < 1e-9);
        let at = |place| spread.chance_at(place);
        assert!((0.80..0.88).contains(&at(600)), "{}", at(600));
        assert!((0.45..=0.55).contains(&at(1_000)), "{}", at(1_000));
        assert!((0.10..0.20).contains(&at(1_400)), "{}", at(1_400));
        assert_eq!(at(2_200), 0.0);
        // The one next in line for the last unit can lose it to a quicker shopper behind.
        let last = outlook(1, 1.0, 0.0)
            .with_leaving(0.0, 200.0)
            .with_lags(LagFigures::alike(2.0));
        assert!(
            (0.45..=0.55).contains(&last.chance_at(1)),
            "{}",
            last.chance_at(1)
        );
        // Nobody behind: nobody passes. The last of two waiting for one unit gets it only by
        // passing the first.
        let short = SaleOutlook {
            waiting: 1,
            ..outlook(1, 1.0, 0.0)
                .with_leaving(0.0, 10.0)
                .with_lags(LagFigures::alike(2.0))
        };
        assert_eq!(short.chance_at(1), 1.0);
        let two = SaleOutlook {
            waiting: 2,
            ..short
        };
        assert!(
            (0.40..0.50).contains(&two.chance_at(2)),
            "{}",
            two.chance_at(2)
        );
        assert!(two.chance_at(1) > 0.5, "{}", two.chance_at(1));
        // Half the shoppers buying: half as many buyers pass.
        let half = outlook(1_000, 0.5, 0.0)
            .with_leaving(0.0, 200.0)
            .with_lags(LagFigures::alike(2.0));
        assert!(
            (0.45..=0.55).contains(&half.chance_at(2_000)),
            "{}",
            half.chance_at(2_000)
        );
        assert!(
            (0.80..0.88).contains(&half.chance_at(1_600)),
            "{}",
            half.chance_at(1_600)
        );
    }

    fn sku(name: &str) -> Sku {
        Sku::parse(name).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn a_shopper_finds_something_only_if_the_sku_they_want_is_left() {
        // Two SKUs taken alike so far (demand half and half); one is sold out.
        let stats = EventStats {
            sold: BTreeMap::from([(sku("CAP"), 100), (sku("TEE"), 60)]),
            reserved: BTreeMap::from([(sku("TEE"), 40)]),
            stock_left: BTreeMap::from([(sku("CAP"), 0), (sku("TEE"), 500)]),
            ..EventStats::default()
        };
        let sale = SaleOutlook::of(&stats);
        let demands: Vec<f64> = sale.skus.iter().map(|sku| sku.demand).collect();
        // 100 of 200 units taken each, the prior of five split 100:600 by the units offered.
        let cap = (100.0 + 5.0 * 100.0 / 700.0) / 205.0;
        assert!((demands[0] - cap).abs() < 1e-9, "{demands:?}");
        assert!((demands[0] + demands[1] - 1.0).abs() < 1e-9, "{demands:?}");
        // The shopper at the head finds the tee only: about an even chance, not a sure one.
        assert_eq!(sale.chance_at(1), ((1.0 - cap) * 100.0).round() / 100.0);

        // Four SKUs of 250 with nothing taken: 900 buyers ahead would leave a hundred units
        // pooled, but each SKU's share of them (225 on average) can exceed its 250.
        let four = EventStats {
            stock_left: ["A", "B", "C", "D"].map(|name| (sku(name), 250)).into(),
            ..EventStats::default()
        };
        let sale = SaleOutlook::of(&four);
        let chance = sale.chance_at(901);
        assert!((0.90..1.0).contains(&chance), "{chance}");
        // Pooled, the same place was sure.
        let pooled = SaleOutlook {
            skus: Arc::new([]),
            ..sale.clone()
        };
        assert_eq!(pooled.chance_at(901), 1.0);
        // At the thousandth place, an even chance that their SKU still has a unit; beyond the
        // stock, some chance still that the SKU they want is one the others bought less of.
        assert!(
            (0.4..0.6).contains(&sale.chance_at(1_000)),
            "{}",
            sale.chance_at(1_000)
        );
        assert_eq!(pooled.chance_at(1_001), 0.0);
        assert!(
            (0.05..0.5).contains(&sale.chance_at(1_010)),
            "{}",
            sale.chance_at(1_010)
        );
        assert!(sale.chance_at(1_100) < 0.05, "{}", sale.chance_at(1_100));
    }

    #[test]
    fn a_shopper_on_a_socket_is_quicker_to_the_checkout_than_one_who_polls() {
        // 1,000 units at 200 a second; sockets reach the checkout in 0.5 s ± 0.2, polling pages
        // in 8 s ± 4, and most of the crowd polls (its mean 7 s).
        let lags = LagFigures {
            socket: Lag {
                mean: 0.5,
                spread: 0.2,
            },
            polling: Lag {
                mean: 8.0,
                spread: 4.0,
            },
            crowd: Lag {
                mean: 7.0,
                spread: 4.5,
            },
            poll_gap: None,
        };
        let sale = outlook(1_000, 1.0, 0.0)
            .with_leaving(0.0, 200.0)
            .with_lags(lags);
        let socket = |place| sale.chance_over(place, Some(Channel::Socket));
        let polling = |place| sale.chance_over(place, Some(Channel::Polling));
        // The socket's shopper gains 1,300 places: sure well past the thousandth.
        assert_eq!(socket(2_000), 1.0);
        assert!(socket(2_450) < 0.05, "{}", socket(2_450));
        // The polling one loses 200 on average, give or take 800.
        assert!((0.55..0.75).contains(&polling(600)), "{}", polling(600));
        assert!((0.40..0.50).contains(&polling(900)), "{}", polling(900));
        // Told without knowing the channel: the crowd's spread, no gap.
        assert!(
            (0.45..=0.55).contains(&sale.chance_at(1_000)),
            "{}",
            sale.chance_at(1_000)
        );
        // Over a few shoppers, no more is lost than there are behind.
        let short = SaleOutlook {
            waiting: 3,
            ..sale.clone()
        };
        assert_eq!(short.chance_over(2, Some(Channel::Polling)), 1.0);
    }

    /// A crowd of 5 s pages whose reads have slowed to one every 13 s ± 4, a tenth on sockets,
    /// 1,000 units at 200 a second, as the flagship sale's window closes.
    fn congested_crowd(poll_gap: Option<Lag>) -> SaleOutlook {
        let lags = LagFigures {
            socket: Lag {
                mean: 1.0,
                spread: 1.0,
            },
            polling: Lag {
                mean: 8.1,
                spread: 3.9,
            },
            crowd: Lag {
                mean: 7.4,
                spread: 4.2,
            },
            poll_gap,
        };
        outlook(1_000, 1.0, 0.0)
            .with_leaving(0.0, 200.0)
            .with_lags(lags)
    }

    #[test]
    fn a_polling_shopper_told_at_a_read_hears_no_sooner_than_the_next_read() {
        let gap = Some(Lag {
            mean: 13.0,
            spread: 4.0,
        });
        let told_at_read = congested_crowd(gap);
        let anytime = congested_crowd(None);
        let polling = |sale: &SaleOutlook, place| sale.chance_over(place, Some(Channel::Polling));
        // At the 300th place, admitted in 1.5 s: a page read at a random moment would hear of it
        // about 7 s later and be nearly sure; this one reads again in 13 s, by when some 2,000
        // shoppers admitted after them have heard of theirs.
        assert!(polling(&anytime, 300) > 0.7, "{}", polling(&anytime, 300));
        assert!(
            polling(&told_at_read, 300) < 0.1,
            "{}",
            polling(&told_at_read, 300)
        );
        // Admitted more than a gap from now, the next read tells them nothing more.
        for place in [4_000, 5_000] {
            let (read, random) = (polling(&told_at_read, place), polling(&anytime, place));
            assert!((read - random).abs() <= 0.01, "{read} against {random}");
        }
        // A socket is told at once whatever the gap between reads.
        assert_eq!(
            told_at_read.chance_over(300, Some(Channel::Socket)),
            anytime.chance_over(300, Some(Channel::Socket))
        );
    }

    #[test]
    fn at_the_opening_the_chance_falls_over_a_few_seconds_of_the_line() {
        // 2,000 units at 100 a second, told before any page has polled or anyone bought: the
        // priors' times alone.
        let lags = crate::queue::checkout_lag::PurchaseLags::default().figures(
            Instant::now(),
            crate::queue::checkout_lag::WaitingPages::default(),
        );
        let sale = outlook(2_000, 1.0, 0.0)
            .with_leaving(0.0, 100.0)
            .with_lags(lags);
        let polling = |place| sale.chance_over(place, Some(Channel::Polling));
        let from = (1..4_000).find(|&place| polling(place) < 0.9).unwrap_or(0);
        let to = (1..4_000).find(|&place| polling(place) < 0.1).unwrap_or(0);
        // From 90% to 10% over under 4 s of the line (a spread of 1.3 s a shopper), not the 5 s
        // of a 2 s spread; centred a little before the 2,000th place (a polling shopper loses
        // the places of sockets behind).
        assert!(to - from < 400, "90% at {from}, 10% at {to}");
        let middle = (1..4_000).find(|&place| polling(place) < 0.5).unwrap_or(0);
        assert!((1_900..2_000).contains(&middle), "50% at {middle}");
    }

    #[test]
    fn with_every_shopper_buying_one_unit_the_first_units_left_places_are_sure() {
        let sure = outlook(100, 1.0, 0.0);
        assert_eq!(sure.chance_at(1), 1.0);
        assert_eq!(sure.chance_at(100), 1.0);
        assert_eq!(sure.chance_at(101), 0.0);
    }

    #[test]
    fn nothing_left_is_no_chance() {
        assert_eq!(outlook(0, 0.5, 0.5).chance_at(1), 0.0);
    }

    #[test]
    fn half_the_shoppers_buying_doubles_the_places_with_a_chance() {
        let half = outlook(100, 0.5, 0.0);
        assert!(half.chance_at(150) > 0.95, "{}", half.chance_at(150));
        assert!(
            (half.chance_at(200) - 0.5).abs() <= 0.05,
            "{}",
            half.chance_at(200)
        );
        assert!(half.chance_at(260) < 0.05, "{}", half.chance_at(260));
    }

    #[test]
    fn the_chance_never_rises_further_back() {
        let sale = SaleOutlook {
            units_left: 40,
            skus: Arc::new([]),
            unused_admissions: 7,
            units_per_order: 1.6,
            buy_share: 0.7,
            leave_per_second: 0.02,
            outflow_per_second: 5.0,
            admitted: 0,
            lags: None,
            waiting: 300,
        };
        // With and without shoppers passing one another on the way to the checkout.
        let lags = LagFigures {
            socket: Lag {
                mean: 0.5,
                spread: 1.0,
            },
            polling: Lag {
                mean: 4.0,
                spread: 3.0,
            },
            crowd: Lag {
                mean: 3.0,
                spread: 3.0,
            },
            poll_gap: None,
        };
        let timed = sale.clone().with_lags(lags);
        let sales = [
            (sale, None),
            (timed.clone(), None),
            (timed.clone(), Some(Channel::Socket)),
            (timed, Some(Channel::Polling)),
            (
                congested_crowd(Some(Lag {
                    mean: 13.0,
                    spread: 4.0,
                })),
                Some(Channel::Polling),
            ),
        ];
        for (sale, channel) in sales {
            let mut before = 1.0;
            for position in (1..400).chain((400..6_000).step_by(7)) {
                let chance = sale.chance_over(position, channel);
                assert!((0.0..=1.0).contains(&chance));
                assert!(chance <= before, "{chance} at {position} after {before}");
                before = chance;
            }
        }
    }

    #[test]
    fn shoppers_ahead_leave_in_proportion_to_how_long_they_wait() {
        // 100 units, everyone admitted buys; the line moves at 10 a second. Nobody leaving: the
        // first hundred places are sure.
        assert_eq!(outlook(100, 1.0, 0.0).chance_at(101), 0.0);
        // One in a hundred leaves per second of waiting: of the 119 ahead of place 120 (the last
        // waits 11.9 s) about 6% leave, about 112 buyers for 100 units.
        let leaving = outlook(100, 1.0, 0.01);
        assert!(leaving.chance_at(101) > 0.5, "{}", leaving.chance_at(101));
        assert!(leaving.chance_at(120) < 0.05, "{}", leaving.chance_at(120));
        // The same rate with a line moving ten times faster: shoppers ahead have no time to leave.
        let fast = SaleOutlook {
            outflow_per_second: 100.0,
            ..leaving
        };
        assert!(fast.chance_at(103) < 0.2, "{}", fast.chance_at(103));
    }

    #[test]
    fn departures_are_counted_against_the_time_waited_since_the_first_read() {
        let start = Instant::now();
        let at = |seconds: u64| start + std::time::Duration::from_secs(seconds);
        let mut departures = Departures::default();
        // Waiting before the first read does not count: the departures it saw are the baseline.
        departures.drained(at(0), 1_000);
        departures.drained(at(10), 10_000);
        assert_eq!(departures.per_second(40), 0.0);
        // 10,000 shoppers waiting 3 s, 30 of them leaving: one in a thousand a second, nearly
        // (the prior of nobody leaving counts for 300 shopper-seconds).
        departures.drained(at(13), 10_000);
        let rate = departures.per_second(70);
        assert!((rate - 30.0 / 30_300.0).abs() < 1e-12, "{rate}");
    }

    #[test]
    fn a_window_of_waiting_shoppers_is_not_taken_for_leavers() {
        // 550 left during a minute-long window of up to 100,000 waiting (4.5 million
        // shopper-seconds), 200 admitted at its close, 1,000 units, the line at 200 a second.
        let start = Instant::now();
        let at = |seconds: u64| start + std::time::Duration::from_secs(seconds);
        let mut departures = Departures::default();
        departures.per_second(0);
        departures.drained(at(0), 50_000);
        departures.drained(at(30), 100_000);
        departures.drained(at(60), 100_000);
        let sale = outlook(1_000, 1.0, 0.0).with_leaving(departures.per_second(550), 200.0);
        let sale = SaleOutlook {
            unused_admissions: 200,
            ..sale
        };
        // 800 units for those waiting: place 800 is (nearly) sure, place 820 is not.
        assert!(sale.chance_at(800) > 0.9, "{}", sale.chance_at(800));
        assert!(sale.chance_at(820) < 0.1, "{}", sale.chance_at(820));
    }

    #[test]
    fn the_exact_and_the_approximate_distribution_agree_where_they_meet() {
        // Variance just under and just over 25: the two branches give nearly the same answer.
        let exact = binomial_cdf(104, 0.5, 52);
        let approx = binomial_cdf(100, 0.5, 50);
        assert!((exact - approx).abs() < 0.02, "{exact} vs {approx}");
        assert!((binomial_cdf(10, 0.3, 3) - 0.6496).abs() < 1e-3);
        assert!((binomial_cdf(10, 0.9, 8) - 0.2639).abs() < 1e-3);
    }

    #[test]
    fn the_outlook_measures_the_sale_from_its_counters() {
        let tee = Sku::parse("TEE").unwrap_or_else(|_| unreachable!());
        let stats = EventStats {
            admitted: 105,
            active: 10,
            left: 45,
            abandoned: 0,
            orders_reserved: 50,
            orders_paid: 40,
            orders_expired: 5,
            sold: BTreeMap::from([(tee.clone(), 80)]),
            reserved: BTreeMap::from([(tee.clone(), 10)]),
            stock_left: BTreeMap::from([(tee, 30)]),
            ..EventStats::default()
        };
        let seen = SaleOutlook::of(&stats);
        // 5 live reservations, so 5 unused admissions; 100 finished, 50 bought.
        assert_eq!((seen.units_left, seen.unused_admissions), (30, 5));
        assert!((seen.buy_share - 55.0 / 105.0).abs() < 1e-9);
        assert!((seen.units_per_order - 91.0 / 46.0).abs() < 1e-9);
    }

    #[test]
    fn before_anything_is_measured_every_admitted_shopper_is_counted_as_a_buyer() {
        let fresh = SaleOutlook::of(&EventStats {
            stock_left: BTreeMap::from([(Sku::parse("TEE").unwrap_or_else(|_| unreachable!()), 3)]),
            ..EventStats::default()
        });
        assert_eq!((fresh.buy_share, fresh.leave_per_second), (1.0, 0.0));
        assert_eq!(fresh.chance_at(3), 1.0);
        assert_eq!(fresh.chance_at(4), 0.0);
    }
}
