//! Fairness of the admission order: inversions among joins that certainly happened one after the
//! other, and the rank correlation between join order and admission order (for the pre-queue,
//! whose draw should leave none).

/// One identity in the queue, as the order measures need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// When its join was sent.
    pub join_sent_ms: i64,
    /// When its join was answered.
    pub join_done_ms: i64,
    /// When it was admitted; `None` when it was still waiting at the end.
    pub admitted_ms: Option<i64>,
    /// Without an admission: the last moment it was known not to be admitted yet (the server
    /// may admit it later, unseen).
    pub waiting_seen_ms: i64,
}

impl Queued {
    /// The time before which it was certainly not admitted.
    fn not_admitted_before(&self) -> i64 {
        self.admitted_ms.unwrap_or(self.waiting_seen_ms)
    }
}

/// The event's arrival windows, as the order measures need them: arrivals inside one window are
/// ordered by the server's draw, not by arrival time, so no two of them have an order to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Windows {
    /// When the sale starts (Unix ms).
    pub starts_at_ms: i64,
    /// Length of the opening window (0: none).
    pub opening_ms: i64,
    /// Length of every later window (0: none).
    pub every_ms: i64,
}

impl Windows {
    /// The window `[opens, closes)` an arrival at `at_ms` falls in, if any (as the server's
    /// `ArrivalWindows::window_at` finds it).
    pub fn window_at(&self, at_ms: i64) -> Option<(i64, i64)> {
        let elapsed = at_ms - self.starts_at_ms;
        if elapsed < 0 {
            return None;
        }
        if elapsed < self.opening_ms {
            return Some((self.starts_at_ms, self.starts_at_ms + self.opening_ms));
        }
        if self.every_ms <= 0 {
            return None;
        }
        let opens = self.starts_at_ms
            + self.opening_ms
            + (elapsed - self.opening_ms) / self.every_ms * self.every_ms;
        Some((opens, opens + self.every_ms))
    }

    /// A join as the order it is owed sees it: one placed inside a window may land anywhere
    /// among that window's arrivals, so it is taken as sent when the window opened and answered
    /// just before it closed. Two joins of one window then have no order; joins of different
    /// windows, or a window's and a later first-come one, keep theirs.
    pub fn widen(&self, queued: Queued) -> Queued {
        let sent = self
            .window_at(queued.join_sent_ms)
            .map_or(queued.join_sent_ms, |(opens, _)| opens);
        let done = self
            .window_at(queued.join_done_ms)
            .map_or(queued.join_done_ms, |(_, closes)| closes - 1);
        Queued {
            join_sent_ms: sent,
            join_done_ms: done,
            ..queued
        }
    }
}

/// Inversions and the pairs they were sought among.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inversions {
    /// Pairs where one join was answered before the other was sent, and the other was admitted.
    pub ordered_pairs: u64,
    /// Of those, pairs where the later joiner was admitted strictly before the earlier one
    /// (or while the earlier one never was).
    pub inverted: u64,
}

/// Counts inversions in O(n log n).
///
/// A pair counts only when A's join was answered before B's was sent: joins in flight at the
/// same time have no order the client can know. An inversion is B admitted strictly before A
/// (equal times are one outflow tick, so not an inversion). When A was never seen admitted, it
/// counts only if B was admitted before the last moment A was seen still waiting.
pub fn count_inversions(queued: &[Queued]) -> Inversions {
    // Every time compared, as ranks.
    let mut times: Vec<i64> = queued.iter().map(Queued::not_admitted_before).collect();
    times.sort_unstable();
    times.dedup();
    let rank = |t: i64| times.partition_point(|&x| x < t);

    let mut by_done: Vec<&Queued> = queued.iter().collect();
    by_done.sort_by_key(|q| q.join_done_ms);
    let mut by_sent: Vec<&Queued> = queued.iter().collect();
    by_sent.sort_by_key(|q| q.join_sent_ms);

    let mut earlier = Fenwick::new(times.len());
    let mut inserted = 0u64;
    let mut next_earlier = by_done.iter().peekable();
    let mut result = Inversions::default();
    for later in by_sent {
        while let Some(a) = next_earlier.next_if(|a| a.join_done_ms < later.join_sent_ms) {
            earlier.add(rank(a.not_admitted_before()));
            inserted += 1;
        }
        let Some(later_admitted) = later.admitted_ms else {
            continue;
        };
        result.ordered_pairs += inserted;
        result.inverted += inserted - earlier.count_up_to(rank(later_admitted));
    }
    result
}

/// A Fenwick tree counting inserted ranks.
struct Fenwick {
    counts: Vec<u64>,
}

impl Fenwick {
    fn new(size: usize) -> Self {
        Self {
            counts: vec![0; size + 1],
        }
    }

    fn add(&mut self, rank: usize) {
        let mut i = rank + 1;
        while i < self.counts.len() {
            self.counts[i] += 1;
            i += i & i.wrapping_neg();
        }
    }

    /// How many inserted ranks are `<= rank`.
    fn count_up_to(&self, rank: usize) -> u64 {
        let mut i = (rank + 1).min(self.counts.len() - 1);
        let mut total = 0;
        while i > 0 {
            total += self.counts[i];
            i -= i & i.wrapping_neg();
        }
        total
    }
}

/// Ranks from 1, ties sharing the mean of their ranks.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let mean_rank = (start + end + 1) as f64 / 2.0;
        for &index in &order[start..end] {
            ranks[index] = mean_rank;
        }
        start = end;
    }
    ranks
}

/// Spearman's rank correlation of two paired series (Pearson's on average ranks, correct with
/// ties); `None` with fewer than three pairs or a constant series.
pub fn spearman(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if xs.len() != ys.len() || xs.len() < 3 {
        return None;
    }
    let (rx, ry) = (average_ranks(xs), average_ranks(ys));
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let mut covariance = 0.0;
    let (mut vx, mut vy) = (0.0, 0.0);
    for (x, y) in rx.iter().zip(&ry) {
        covariance += (x - mx) * (y - my);
        vx += (x - mx).powi(2);
        vy += (y - my).powi(2);
    }
    if vx == 0.0 || vy == 0.0 {
        return None;
    }
    Some(covariance / (vx * vy).sqrt())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn queued(sent: i64, done: i64, admitted: Option<i64>) -> Queued {
        waiting(sent, done, admitted, 1_000)
    }

    fn waiting(sent: i64, done: i64, admitted: Option<i64>, seen: i64) -> Queued {
        Queued {
            join_sent_ms: sent,
            join_done_ms: done,
            admitted_ms: admitted,
            waiting_seen_ms: seen,
        }
    }

    const WINDOWS: Windows = Windows {
        starts_at_ms: 10_000,
        opening_ms: 60_000,
        every_ms: 0,
    };

    #[test]
    fn the_window_of_an_arrival_is_the_servers() {
        assert_eq!(WINDOWS.window_at(9_999), None);
        assert_eq!(WINDOWS.window_at(10_000), Some((10_000, 70_000)));
        assert_eq!(WINDOWS.window_at(69_999), Some((10_000, 70_000)));
        assert_eq!(WINDOWS.window_at(70_000), None);
        let every = Windows {
            every_ms: 10_000,
            ..WINDOWS
        };
        assert_eq!(every.window_at(70_000), Some((70_000, 80_000)));
        assert_eq!(every.window_at(95_000), Some((90_000, 100_000)));
        assert_eq!(Windows::default().window_at(10_000), None);
    }

    #[test]
    fn joins_of_one_window_owe_each_other_no_order() {
        // A joined first but the window's draw admitted B first: no inversion.
        let a = queued(10_100, 10_150, Some(30_000));
        let b = queued(40_000, 40_050, Some(20_000));
        assert_eq!(count_inversions(&[a, b]).inverted, 1);
        let widened = [WINDOWS.widen(a), WINDOWS.widen(b)];
        assert_eq!(count_inversions(&widened), Inversions::default());
    }

    #[test]
    fn a_join_after_the_window_still_queues_behind_it() {
        // B came after the window closed and was admitted before A, who came inside it.
        let a = queued(10_100, 10_150, Some(90_000));
        let b = queued(75_000, 75_050, Some(80_000));
        let widened = [WINDOWS.widen(a), WINDOWS.widen(b)];
        assert_eq!(
            count_inversions(&widened),
            Inversions {
                ordered_pairs: 1,
                inverted: 1
            }
        );
        // A join in flight as the window closed may have landed in it: it owes one of the
        // window's joins no order, but it is still owed its place before a join sent after it.
        let c = queued(69_990, 70_010, Some(85_000));
        let e = queued(20_000, 20_050, Some(95_000));
        assert_eq!(count_inversions(&[e, c]).inverted, 1);
        assert_eq!(
            count_inversions(&[WINDOWS.widen(e), WINDOWS.widen(c)]),
            Inversions::default()
        );
        let d = queued(70_020, 70_040, Some(80_000));
        assert_eq!(
            count_inversions(&[WINDOWS.widen(c), WINDOWS.widen(d)]).inverted,
            1
        );
    }

    fn brute_force(queued: &[Queued]) -> Inversions {
        let mut result = Inversions::default();
        for a in queued {
            for b in queued {
                let Some(b_at) = b.admitted_ms else { continue };
                if a.join_done_ms < b.join_sent_ms {
                    result.ordered_pairs += 1;
                    if b_at < a.admitted_ms.unwrap_or(a.waiting_seen_ms) {
                        result.inverted += 1;
                    }
                }
            }
        }
        result
    }

    #[test]
    fn admissions_in_join_order_have_no_inversion() {
        let line = [
            queued(0, 1, Some(10)),
            queued(2, 3, Some(11)),
            queued(4, 5, Some(12)),
        ];
        assert_eq!(
            count_inversions(&line),
            Inversions {
                ordered_pairs: 3,
                inverted: 0
            }
        );
    }

    #[test]
    fn a_later_joiner_admitted_first_is_one_inversion() {
        let line = [queued(0, 1, Some(20)), queued(2, 3, Some(10))];
        assert_eq!(count_inversions(&line).inverted, 1);
    }

    #[test]
    fn overlapping_joins_have_no_order_to_invert() {
        let line = [queued(0, 5, Some(20)), queued(2, 3, Some(10))];
        assert_eq!(
            count_inversions(&line),
            Inversions {
                ordered_pairs: 0,
                inverted: 0
            }
        );
    }

    #[test]
    fn admissions_in_the_same_tick_are_not_inversions() {
        let line = [queued(0, 1, Some(10)), queued(2, 3, Some(10))];
        assert_eq!(count_inversions(&line).inverted, 0);
    }

    #[test]
    fn an_earlier_joiner_left_waiting_while_a_later_one_is_admitted_is_an_inversion() {
        let line = [queued(0, 1, None), queued(2, 3, Some(10))];
        assert_eq!(count_inversions(&line).inverted, 1);
    }

    #[test]
    fn an_earlier_joiner_last_seen_waiting_before_the_later_admission_is_not_known_overtaken() {
        let line = [waiting(0, 1, None, 5), queued(2, 3, Some(10))];
        assert_eq!(count_inversions(&line).inverted, 0);
    }

    #[test]
    fn the_fast_count_agrees_with_counting_every_pair() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let line: Vec<Queued> = (0..rng.gen_range(0..40))
                .map(|_| {
                    let sent = rng.gen_range(0..100);
                    let done = sent + rng.gen_range(0..10);
                    let admitted = rng.gen_bool(0.8).then(|| rng.gen_range(0..60));
                    waiting(sent, done, admitted, rng.gen_range(0..80))
                })
                .collect();
            assert_eq!(count_inversions(&line), brute_force(&line));
        }
    }

    #[test]
    fn ties_share_the_mean_rank() {
        assert_eq!(
            average_ranks(&[10.0, 20.0, 20.0, 5.0]),
            vec![2.0, 3.5, 3.5, 1.0]
        );
    }

    #[test]
    fn the_same_order_correlates_fully_and_the_reverse_negatively() {
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!((spearman(&xs, &[10.0, 20.0, 30.0, 40.0, 50.0]).unwrap() - 1.0).abs() < 1e-12);
        assert!((spearman(&xs, &[5.0, 4.0, 3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12);
    }

    #[test]
    fn spearman_matches_the_textbook_formula_without_ties() {
        // d = rank differences 0, -2, 1, 1, 0: rho = 1 - 6 * 6 / (5 * 24) = 0.7
        let rho = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 4.0, 2.0, 3.0, 5.0]).unwrap();
        assert!((rho - 0.7).abs() < 1e-12, "{rho}");
    }

    #[test]
    fn a_shuffled_draw_correlates_weakly() {
        let mut rng = StdRng::seed_from_u64(3);
        let joins: Vec<f64> = (0..2_000).map(f64::from).collect();
        let mut draw = joins.clone();
        for i in (1..draw.len()).rev() {
            draw.swap(i, rng.gen_range(0..=i));
        }
        assert!(spearman(&joins, &draw).unwrap().abs() < 0.1);
    }

    #[test]
    fn too_few_pairs_have_no_correlation() {
        assert_eq!(spearman(&[1.0, 2.0], &[2.0, 1.0]), None);
    }
}
