//! How the pages of an event that poll come back, as this instance serves their ticket reads:
//! the gap between two reads of one page, and how many pages poll. Before any shopper reaches
//! the checkout, these say how late a polling shopper will hear of their admission (see
//! [`crate::queue::checkout_lag`]).
//!
//! One identity in [`SAMPLE_ONE_IN`] is followed, chosen by a hash of the identity, so the
//! memory kept stays a fraction of the crowd's.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use crate::domain::Identity;
use crate::queue::checkout_lag::{Lag, WaitingPages};

/// One identity in this many is followed.
const SAMPLE_ONE_IN: u64 = 8;
/// A longer gap is a page that went away and came back, not a poll.
const LONGEST_GAP: Duration = Duration::from_secs(60);
/// Reads closer than this are a page's retries or a reload, not its polls.
const SHORTEST_GAP: Duration = Duration::from_millis(200);
/// Past this many followed pages (and past twice what the last pruning kept), those not seen for
/// [`LONGEST_GAP`] are forgotten: once per doubling, not once per read, when most are live.
const PRUNE_ABOVE: usize = 25_000;

/// The followed pages and their gaps.
#[derive(Debug, Default)]
pub struct PollWatch {
    last_read: HashMap<Identity, Instant>,
    kept_at_last_prune: usize,
    /// Welford's count, mean and sum of squared deviations of the gaps, in seconds.
    count: f64,
    mean: f64,
    squares: f64,
    /// Picks the followed identities; fixed per instance.
    sampler: foldhash::fast::RandomState,
}

impl PollWatch {
    /// The page of `identity` read its waiting ticket at `at`.
    pub fn read(&mut self, identity: &Identity, at: Instant) {
        if !self
            .sampler
            .hash_one(identity)
            .is_multiple_of(SAMPLE_ONE_IN)
        {
            return;
        }
        if self.last_read.len() >= PRUNE_ABOVE.max(2 * self.kept_at_last_prune) {
            self.last_read
                .retain(|_, last| at.saturating_duration_since(*last) < LONGEST_GAP);
            self.kept_at_last_prune = self.last_read.len();
        }
        let Some(before) = self.last_read.insert(identity.clone(), at) else {
            return;
        };
        let gap = at.saturating_duration_since(before);
        if (SHORTEST_GAP..=LONGEST_GAP).contains(&gap) {
            let seconds = gap.as_secs_f64();
            self.count += 1.0;
            let delta = seconds - self.mean;
            self.mean += delta / self.count;
            self.squares += delta * (seconds - self.mean);
        }
    }

    /// What the waiting pages show at `at`, with `sockets` of them on a socket here: the gap
    /// between polls, and the share on a socket among those on a socket and those that polled
    /// within two gaps.
    pub fn pages(&self, at: Instant, sockets: usize) -> WaitingPages {
        let poll_gap = (self.count > 0.0).then(|| Lag {
            mean: self.mean,
            spread: (self.squares / self.count).sqrt(),
        });
        let recent = poll_gap.map_or(LONGEST_GAP, |gap| {
            Duration::from_secs_f64((2.0 * gap.mean).clamp(1.0, LONGEST_GAP.as_secs_f64()))
        });
        let polling = self
            .last_read
            .values()
            .filter(|last| at.saturating_duration_since(**last) <= recent)
            .count() as u64
            * SAMPLE_ONE_IN;
        let pages = polling + sockets as u64;
        WaitingPages {
            poll_gap,
            socket_share: (pages > 0).then(|| sockets as f64 / pages as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gap_between_polls_and_the_share_on_sockets_are_measured_on_a_sample() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut watch = PollWatch::default();
        let shoppers: Vec<Identity> = (0..4_000)
            .map(|n| Identity::user(&format!("shopper-{n}")).unwrap_or_else(|_| unreachable!()))
            .collect();
        // Each page reads every 4 s, then every 6 s: gaps of 4 and 6 s, a mean of 5 ± 1.
        for (n, shopper) in shoppers.iter().enumerate() {
            let offset = n as u64 % 1_000;
            for read_at in [0, 4_000, 10_000] {
                watch.read(shopper, at(offset + read_at));
            }
            // A retry right after a read is no poll.
            watch.read(shopper, at(offset + 10_050));
        }
        let pages = watch.pages(at(11_000), 1_000);
        let gap = pages.poll_gap.unwrap_or(Lag {
            mean: 0.0,
            spread: 0.0,
        });
        assert!((gap.mean - 5.0).abs() < 1e-9, "{pages:?}");
        assert!((gap.spread - 1.0).abs() < 1e-9, "{pages:?}");
        // About 4,000 polling (a sample of one in eight, counted eightfold) and 1,000 on sockets.
        let share = pages.socket_share.unwrap_or(0.0);
        assert!((0.17..0.23).contains(&share), "{pages:?}");
        // A minute later nobody has polled lately: all pages are on sockets.
        assert_eq!(watch.pages(at(80_000), 10).socket_share, Some(1.0));
        // Nobody at all: nothing known.
        assert_eq!(
            PollWatch::default().pages(at(0), 0),
            WaitingPages::default()
        );
    }
}
