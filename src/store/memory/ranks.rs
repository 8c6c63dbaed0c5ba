//! Exact ranks of queue scores in O(log n): a Fenwick tree over the scores ever handed out.
//!
//! Scores are dense (`1..=last_score`), each handed out once and removed at most once, so a
//! Fenwick tree indexed by score counts how many shoppers still wait at or before any score. It
//! grows by one slot per new score, and answers a shopper's exact position without walking the
//! queue (the memory store's ZRANK).

/// Which scores are still in the queue, counted for rank queries.
#[derive(Debug, Default)]
pub(super) struct ScoreRanks {
    /// Fenwick nodes; slot `i` (1-based, slot 0 unused) sums the presence of scores
    /// `i - lowbit(i) + 1 ..= i`.
    tree: Vec<u64>,
}

fn lowbit(index: usize) -> usize {
    index & index.wrapping_neg()
}

impl ScoreRanks {
    /// The highest score recorded so far.
    pub(super) fn last(&self) -> u64 {
        self.tree.len().saturating_sub(1) as u64
    }

    /// Records the next score (`last() + 1`), present in the queue or not.
    pub(super) fn push(&mut self, present: bool) {
        if self.tree.is_empty() {
            self.tree.push(0);
        }
        let index = self.tree.len();
        let covered_from = index - lowbit(index);
        let below = self.prefix(index - 1) - self.prefix(covered_from);
        self.tree.push(below + u64::from(present));
    }

    /// Marks a present score as gone from the queue.
    pub(super) fn remove(&mut self, score: u64) {
        let mut index = score as usize;
        while index > 0 && index < self.tree.len() {
            self.tree[index] = self.tree[index].saturating_sub(1);
            index += lowbit(index);
        }
    }

    /// How many present scores are at or below `score`: the 1-based rank of a present score.
    pub(super) fn rank(&self, score: u64) -> u64 {
        let last = self.tree.len().saturating_sub(1);
        self.prefix((score as usize).min(last))
    }

    fn prefix(&self, mut index: usize) -> u64 {
        let mut sum = 0;
        while index > 0 {
            sum += self.tree[index];
            index -= lowbit(index);
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_count_the_scores_still_present() {
        let mut ranks = ScoreRanks::default();
        for score in 1..=100 {
            ranks.push(score % 10 != 0);
        }
        assert_eq!(ranks.last(), 100);
        assert_eq!(ranks.rank(9), 9);
        assert_eq!(ranks.rank(11), 10);
        ranks.remove(5);
        ranks.remove(50 - 1);
        assert_eq!(ranks.rank(11), 9);
        assert_eq!(ranks.rank(100), 90 - 2);
    }

    #[test]
    fn ranks_agree_with_counting_after_random_removals() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut ranks = ScoreRanks::default();
        let mut present = vec![false];
        for _ in 0..2_000 {
            if rng.gen_bool(0.6) || present.len() < 2 {
                let here = rng.gen_bool(0.9);
                ranks.push(here);
                present.push(here);
            } else {
                let score = rng.gen_range(1..present.len());
                if present[score] {
                    present[score] = false;
                    ranks.remove(score as u64);
                }
            }
            let probe = rng.gen_range(0..present.len());
            let counted = present[1..=probe].iter().filter(|p| **p).count() as u64;
            assert_eq!(ranks.rank(probe as u64), counted);
        }
    }
}
