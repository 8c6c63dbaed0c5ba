//! How long admitted shoppers take from admission to checkout, by how they heard of it.
//!
//! A page on a socket hears of its admission the moment a drain makes it; a page that polls
//! hears of it at its next poll, seconds later, and later still when the crowd's polls queue up.
//! Shoppers therefore reach the checkout out of the line's order, and which way a shopper is
//! pushed depends on their channel: against a line moving at `r` shoppers a second, a shopper
//! whose time is `d` seconds longer than the crowd's mean is passed by about `r·d` shoppers. Each
//! instance measures the times of the reservations it serves, per channel, and
//! [`crate::queue::chance`] turns them into places gained or lost. Before the first reservations
//! are measured (when a sale opens, and when an arrival window closes, the very moments a chance
//! is first told), the pages waiting say what they can: how often the polling ones come back,
//! and how many are on a socket.

use std::time::{Duration, Instant};

/// How a shopper hears of their admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Pushed on the queue page's socket.
    Socket,
    /// Read from the ticket view at the next poll.
    Polling,
}

/// The time from admission to checkout, in seconds, of one channel or of the whole crowd.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lag {
    pub mean: f64,
    /// One standard deviation.
    pub spread: f64,
}

/// The times of both channels and of the crowd they make together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LagFigures {
    pub socket: Lag,
    pub polling: Lag,
    pub crowd: Lag,
    /// The time between two reads of a polling page, once measured: a page told its chance at
    /// a read reads again no sooner than that (see [`crate::queue::chance`]).
    pub poll_gap: Option<Lag>,
}

impl LagFigures {
    /// Every shopper alike: one spread, whatever the channel.
    pub fn alike(spread: f64) -> Self {
        let lag = Lag { mean: 0.0, spread };
        Self {
            socket: lag,
            polling: lag,
            crowd: lag,
            poll_gap: None,
        }
    }

    /// The figures of a channel; the crowd's when it is not known.
    pub fn of(&self, channel: Option<Channel>) -> Lag {
        match channel {
            Some(Channel::Socket) => self.socket,
            Some(Channel::Polling) => self.polling,
            None => self.crowd,
        }
    }
}

/// What the pages waiting in an event show of their shoppers before any reaches the checkout.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WaitingPages {
    /// The time between two polls of one page, in seconds, once any page has polled twice.
    pub poll_gap: Option<Lag>,
    /// The share of waiting pages on a socket, when known.
    pub socket_share: Option<f64>,
}

/// Before anything is measured: a socket's page hears at once and its shopper takes a second
/// or so to choose. Cautious, as the share who buy is: it spreads the shoppers more than sockets
/// alone would.
const PRIOR_SOCKET: Lag = Lag {
    mean: 1.0,
    spread: 1.0,
};
/// Before any page has polled twice, a polling page is taken to come back every 3 s, as the
/// shipped one does (others poll every 5 s), and hears of its admission as a page polling at a
/// measured gap would (see [`polling_prior`]): 2.5 s ± 1.3 s. A looser guess (3 s ± 2 s) spread
/// the places a polling shopper may lose wider than pages polling every 5 s would, and the
/// shoppers told their chance at a sale's opening, when nobody has polled yet, were told 14%
/// where none bought and 44% where nearly all did.
const PRIOR_POLL_GAP: Lag = Lag {
    mean: 3.0,
    spread: 0.0,
};

/// A polling page that comes back every `gap` hears of its admission, on average, half a gap
/// late, more when the gaps vary (the time to the next poll from a moment picked at random),
/// evenly spread over the gap, and its shopper then takes a socket's time to choose.
fn polling_prior(gap: Lag) -> Lag {
    Lag {
        mean: PRIOR_SOCKET.mean + (gap.mean.powi(2) + gap.spread.powi(2)) / (2.0 * gap.mean),
        spread: (PRIOR_SOCKET.spread.powi(2) + gap.mean.powi(2) / 12.0).sqrt(),
    }
}

/// How many reservations each prior counts for.
const PRIOR_WEIGHT: f64 = 5.0;
/// How long an instance watches reservations before it trusts their times: at first it has seen
/// only the quickest shoppers (the slow ones have not reached the checkout yet), which would
/// make every time look short and alike.
const LAG_WATCH: Duration = Duration::from_secs(10);
/// Admission times are known to the second (the admission token's `iat`): a uniform error whose
/// variance, (1 s)²/12, is taken back out of the measured spread.
const ADMISSION_GRAIN_VARIANCE: f64 = 1.0 / 12.0;

/// Welford's running count, mean and sum of squared deviations of some times, in seconds: one
/// channel's times to the checkout here, the gaps between a page's reads in
/// [`crate::live::PollWatch`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Moments {
    count: f64,
    mean: f64,
    squares: f64,
}

impl Moments {
    pub(crate) fn add(&mut self, seconds: f64) {
        self.count += 1.0;
        let delta = seconds - self.mean;
        self.mean += delta / self.count;
        self.squares += delta * (seconds - self.mean);
    }

    /// These times and `other` together (Chan's pooling of two sets' moments).
    pub(crate) fn and(self, other: Self) -> Self {
        let count = self.count + other.count;
        if count <= 0.0 {
            return Self::default();
        }
        let delta = other.mean - self.mean;
        Self {
            count,
            mean: self.mean + delta * other.count / count,
            squares: self.squares
                + other.squares
                + delta * delta * self.count * other.count / count,
        }
    }

    /// `weight` times' worth of `prior`: its mean and spread, as if measured.
    fn of_prior(prior: Lag, weight: f64) -> Self {
        Self {
            count: weight,
            mean: prior.mean,
            squares: weight * prior.spread * prior.spread,
        }
    }

    /// These times less the error of timing admissions to the second.
    fn without_grain(self) -> Self {
        Self {
            squares: (self.squares - self.count * ADMISSION_GRAIN_VARIANCE).max(0.0),
            ..self
        }
    }

    /// Their mean and spread, once there is any.
    pub(crate) fn lag(self) -> Option<Lag> {
        (self.count > 0.0).then(|| Lag {
            mean: self.mean,
            spread: (self.squares / self.count).sqrt(),
        })
    }
}

/// The reservations one instance has served in an event, timed from their admissions.
#[derive(Debug, Clone, Default)]
pub struct PurchaseLags {
    /// When the first was measured.
    first: Option<Instant>,
    socket: Moments,
    polling: Moments,
}

impl PurchaseLags {
    /// A shopper who heard of their admission over `channel` reached the checkout at `at`,
    /// `lag_ms` after it.
    pub fn record(&mut self, at: Instant, channel: Channel, lag_ms: i64) {
        let seconds = lag_ms as f64 / 1000.0;
        if !seconds.is_finite() || seconds < -1.0 {
            return;
        }
        self.first.get_or_insert(at);
        match channel {
            Channel::Socket => self.socket.add(seconds),
            Channel::Polling => self.polling.add(seconds),
        }
    }

    /// The figures at `at`: the priors (from what the waiting `pages` show) until reservations
    /// have been watched for [`LAG_WATCH`], then each channel's measured times with its prior
    /// counting for a few reservations, and the crowd as both channels together in the numbers
    /// measured.
    pub fn figures(&self, at: Instant, pages: WaitingPages) -> LagFigures {
        let watched = self
            .first
            .is_some_and(|first| at.saturating_duration_since(first) >= LAG_WATCH);
        let (socket, polling) = if watched {
            (self.socket, self.polling)
        } else {
            (Moments::default(), Moments::default())
        };
        // Measured poll gaps replace the prior's guess of them.
        let poll_gap = pages
            .poll_gap
            .filter(|gap| gap.mean > 0.0 && gap.mean.is_finite() && gap.spread.is_finite());
        let polling_prior = polling_prior(poll_gap.unwrap_or(PRIOR_POLL_GAP));
        // The priors count for the crowd as the waiting pages are split between the channels.
        let on_socket = pages
            .socket_share
            .filter(|share| share.is_finite())
            .map_or(0.5, |share| share.clamp(0.0, 1.0));
        let socket = socket.without_grain().and(Moments::of_prior(
            PRIOR_SOCKET,
            2.0 * PRIOR_WEIGHT * on_socket,
        ));
        let polling = polling.without_grain().and(Moments::of_prior(
            polling_prior,
            2.0 * PRIOR_WEIGHT * (1.0 - on_socket),
        ));
        // A channel nobody uses (no prior weight, nothing measured) keeps its prior.
        LagFigures {
            socket: socket.lag().unwrap_or(PRIOR_SOCKET),
            polling: polling.lag().unwrap_or(polling_prior),
            crowd: socket.and(polling).lag().unwrap_or(polling_prior),
            poll_gap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_priors_stand_until_reservations_have_been_watched_a_while() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut lags = PurchaseLags::default();
        let prior = lags.figures(at(0), WaitingPages::default());
        assert_eq!(prior.socket, PRIOR_SOCKET);
        // Five of each: the crowd's mean is halfway, its spread both spreads and the gap.
        assert!(close(prior.crowd.mean, 1.75), "{prior:?}");
        assert!(
            close(prior.crowd.spread, (1.375_f64 + 0.75_f64.powi(2)).sqrt()),
            "{prior:?}"
        );
        // The first seconds see only the quick: the priors stand.
        for i in 0..500 {
            lags.record(at(i), Channel::Socket, 300);
        }
        assert_eq!(lags.figures(at(9_999), WaitingPages::default()), prior);
    }

    #[test]
    fn before_any_page_has_polled_a_polling_page_is_taken_to_come_back_every_3_s() {
        let prior = PurchaseLags::default().figures(Instant::now(), WaitingPages::default());
        // Half of 3 s late and a second to choose; the second's spread and that of a moment
        // picked at random within 3 s.
        assert!(close(prior.polling.mean, 2.5), "{prior:?}");
        assert!(close(prior.polling.spread, 1.75_f64.sqrt()), "{prior:?}");
        // Never spread wider than a page measured to poll every 5 s.
        let five = WaitingPages {
            poll_gap: Some(Lag {
                mean: 5.0,
                spread: 0.0,
            }),
            socket_share: None,
        };
        let measured = PurchaseLags::default().figures(Instant::now(), five);
        assert!(
            prior.polling.spread < measured.polling.spread,
            "{prior:?} against {measured:?}"
        );
    }

    #[test]
    fn before_any_reservation_the_waiting_pages_set_the_priors() {
        // Pages poll every 6 s ± 2; a tenth of them are on a socket.
        let pages = WaitingPages {
            poll_gap: Some(Lag {
                mean: 6.0,
                spread: 2.0,
            }),
            socket_share: Some(0.1),
        };
        let figures = PurchaseLags::default().figures(Instant::now(), pages);
        assert_eq!(figures.socket, PRIOR_SOCKET);
        // Half a gap and a little more (40 / 12 s) late, plus the socket's own second.
        assert!(
            close(figures.polling.mean, 1.0 + 40.0 / 12.0),
            "{figures:?}"
        );
        assert!(close(figures.polling.spread, 4.0_f64.sqrt()), "{figures:?}");
        // The crowd is nine parts polling.
        let crowd_mean = 0.1 * 1.0 + 0.9 * figures.polling.mean;
        assert!(close(figures.crowd.mean, crowd_mean), "{figures:?}");
        // Nobody on a socket: the crowd is the polling pages.
        let polling_only = WaitingPages {
            socket_share: Some(0.0),
            ..pages
        };
        let figures = PurchaseLags::default().figures(Instant::now(), polling_only);
        assert!(
            close(figures.crowd.mean, figures.polling.mean),
            "{figures:?}"
        );
        assert_eq!(figures.socket, PRIOR_SOCKET);
    }

    #[test]
    fn each_channel_is_measured_on_its_own_and_the_crowd_is_both() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut lags = PurchaseLags::default();
        // 100 socket shoppers at 0.5 s; 900 polling ones at 4 s and 8 s (a spread of 2 s).
        for i in 0..1_000 {
            let (channel, lag_ms) = match i {
                0..100 => (Channel::Socket, 500),
                _ if i % 2 == 0 => (Channel::Polling, 4_000),
                _ => (Channel::Polling, 8_000),
            };
            lags.record(at(i * 10), channel, lag_ms);
        }
        let seen = lags.figures(at(10_000), WaitingPages::default());
        // Sockets: 100 alike (less the grain) and the prior's five at 1 s ± 1 s.
        let socket_mean = (100.0 * 0.5 + 5.0) / 105.0;
        assert!(close(seen.socket.mean, socket_mean), "{seen:?}");
        let socket_squares =
            5.0 + 100.0 * (0.5 - socket_mean).powi(2) + 5.0 * (1.0 - socket_mean).powi(2);
        assert!(
            close(seen.socket.spread, (socket_squares / 105.0).sqrt()),
            "{seen:?}"
        );
        // Polling: 450 at 4 s and 450 at 8 s, and the prior's five at 2.5 s ± 1.3 s.
        assert!(
            (seen.polling.mean - (900.0 * 6.0 + 12.5) / 905.0).abs() < 1e-9,
            "{seen:?}"
        );
        assert!((seen.polling.spread - 2.0).abs() < 0.05, "{seen:?}");
        // The crowd: mostly polling, so its mean is near theirs and a socket shopper is far
        // quicker than it.
        assert!(
            seen.crowd.mean > 5.0 && seen.crowd.mean < seen.polling.mean,
            "{seen:?}"
        );
        assert!(seen.crowd.spread > seen.polling.spread, "{seen:?}");
        // Nonsense is ignored.
        lags.record(at(10_000), Channel::Polling, -5_000);
        assert_eq!(lags.figures(at(10_000), WaitingPages::default()), seen);
    }
}
