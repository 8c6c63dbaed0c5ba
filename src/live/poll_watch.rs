//! How the pages of an event that poll come back, as this instance serves their ticket reads:
//! the gap between two reads of one page, and how many pages poll. Before any shopper reaches
//! the checkout, these say how late a polling shopper will hear of their admission (see
//! [`crate::queue::checkout_lag`]).
//!
//! One identity in [`SAMPLE_ONE_IN`] is followed, chosen by a hash of the identity, so the
//! memory kept stays a fraction of the crowd's.
//!
//! The gap told is that of the latest reads, not of all since the start: a growing crowd's reads
//! queue up and come back slower and slower (5 s pages read every 12–17 s once 90,000 of them
//! poll on a busy machine), and the gap that decides how late a page hears of its admission is
//! the one of the moment.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use crate::domain::Identity;
use crate::queue::checkout_lag::{Moments, WaitingPages};

/// One identity in this many is followed.
const SAMPLE_ONE_IN: u64 = 8;
/// A longer gap is a page that went away and came back, not a poll.
const LONGEST_GAP: Duration = Duration::from_secs(60);
/// Reads closer than this are a page's retries or a reload, not its polls.
const SHORTEST_GAP: Duration = Duration::from_millis(200);
/// Gaps are gathered in windows of this long; the last full window and the current one are told.
const GAP_WINDOW: Duration = Duration::from_secs(15);
/// Past this many followed pages (and past twice what the last pruning kept), those not seen for
/// [`LONGEST_GAP`] are forgotten: once per doubling, not once per read, when most are live.
const PRUNE_ABOVE: usize = 25_000;

/// The followed pages and their gaps.
#[derive(Debug, Default)]
pub struct PollWatch {
    last_read: HashMap<Identity, Instant>,
    kept_at_last_prune: usize,
    /// The gaps of the window under way, since it started.
    current: Moments,
    current_from: Option<Instant>,
    /// The gaps of the window before.
    previous: Moments,
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
            let from = *self.current_from.get_or_insert(at);
            if at.saturating_duration_since(from) >= GAP_WINDOW {
                self.previous = std::mem::take(&mut self.current);
                self.current_from = Some(at);
            }
            self.current.add(gap.as_secs_f64());
        }
    }

    /// What the waiting pages show at `at`, with `sockets` of them on a socket here: the gap
    /// between polls (over the last window or two), and the share on a socket among those on a socket and those that polled
    /// within two gaps.
    pub fn pages(&self, at: Instant, sockets: usize) -> WaitingPages {
        let poll_gap = self.previous.and(self.current).lag();
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
    use crate::queue::checkout_lag::Lag;

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

    #[test]
    fn the_gap_told_is_that_of_the_latest_reads() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut watch = PollWatch::default();
        let shoppers: Vec<Identity> = (0..800)
            .map(|n| Identity::user(&format!("page-{n}")).unwrap_or_else(|_| unreachable!()))
            .collect();
        // Each page reads every 5 s for a minute, then every 13 s as the crowd's reads queue up.
        let mut reads: Vec<(u64, usize)> = Vec::new();
        for n in 0..shoppers.len() {
            let offset = (n as u64 * 37) % 5_000;
            let mut read_at = offset;
            while read_at < 60_000 {
                reads.push((read_at, n));
                read_at += 5_000;
            }
            while read_at < 100_000 {
                reads.push((read_at, n));
                read_at += 13_000;
            }
        }
        reads.sort_unstable();
        for (read_at, n) in reads {
            watch.read(&shoppers[n], at(read_at));
        }
        let gap = watch.pages(at(100_000), 0).poll_gap.map(|gap| gap.mean);
        // Over the whole watch, the gaps of 5 s outnumber those of 13 s; the last ones are 13 s.
        assert!(
            gap.is_some_and(|gap| (12.5..=13.0).contains(&gap)),
            "{gap:?}"
        );
    }
}
