//! Exact ranks of queue scores: the scores still waiting, as a sorted list cut into chunks.
//!
//! Scores are mostly handed out in increasing order (joins go to the tail) but the entrants of an
//! arrival window take scores anywhere in their window's range, so the list must take inserts in
//! the middle. Chunks of at most [`CHUNK`] scores keep every insert and removal to one short
//! memmove, and a rank to a sum over the chunks plus one binary search (the memory store's ZRANK).

/// Most scores one chunk holds before it is split in two.
const CHUNK: usize = 1_024;

/// Which scores are still in the queue, counted for rank queries, and the highest handed out.
#[derive(Debug, Default)]
pub(super) struct ScoreRanks {
    /// Sorted, non-empty chunks; every score of a chunk is below every score of the next.
    chunks: Vec<Vec<u64>>,
    /// The highest score handed out so far, waiting or not.
    last: u64,
}

impl ScoreRanks {
    /// The highest score handed out so far.
    pub(super) fn last(&self) -> u64 {
        self.last
    }

    /// Hands out the next score at the tail (`last() + 1`), present in the queue or not.
    pub(super) fn push(&mut self, present: bool) -> u64 {
        self.last += 1;
        if present {
            self.insert(self.last);
        }
        self.last
    }

    /// Sets aside `count` scores above `last()` (an arrival window's range); returns the score
    /// below the range.
    pub(super) fn reserve(&mut self, count: u64) -> u64 {
        let base = self.last;
        self.last += count;
        base
    }

    /// The chunk a score belongs in: the first whose highest score is at or above it (or the
    /// last chunk).
    fn chunk_of(&self, score: u64) -> usize {
        let at = self
            .chunks
            .partition_point(|chunk| chunk.last().is_some_and(|high| *high < score));
        at.min(self.chunks.len().saturating_sub(1))
    }

    /// Records a present score (one not present already).
    pub(super) fn insert(&mut self, score: u64) {
        if self.chunks.is_empty() {
            self.chunks.push(vec![score]);
            return;
        }
        let at = self.chunk_of(score);
        let chunk = &mut self.chunks[at];
        let place = chunk.partition_point(|s| *s < score);
        chunk.insert(place, score);
        if chunk.len() > 2 * CHUNK {
            let upper = chunk.split_off(CHUNK);
            // The lower half keeps the room it grew for the whole: give it back, or every
            // chunk left behind the tail holds twice its scores' bytes or more.
            chunk.shrink_to_fit();
            self.chunks.insert(at + 1, upper);
        }
    }

    /// Marks a present score as gone from the queue.
    pub(super) fn remove(&mut self, score: u64) {
        if self.chunks.is_empty() {
            return;
        }
        let at = self.chunk_of(score);
        let chunk = &mut self.chunks[at];
        if let Ok(place) = chunk.binary_search(&score) {
            chunk.remove(place);
            if chunk.is_empty() {
                self.chunks.remove(at);
            }
        }
    }

    /// How many present scores are at or below `score`: the 1-based rank of a present score.
    pub(super) fn rank(&self, score: u64) -> u64 {
        let mut below = 0;
        for chunk in &self.chunks {
            match chunk.last() {
                Some(high) if *high <= score => below += chunk.len(),
                _ => return (below + chunk.partition_point(|s| *s <= score)) as u64,
            }
        }
        below as u64
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
    fn ranks_agree_with_counting_after_random_inserts_and_removals() {
        use rand::{Rng, SeedableRng};
        use std::collections::BTreeSet;
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut ranks = ScoreRanks::default();
        let mut present = BTreeSet::new();
        for _ in 0..20_000 {
            match rng.gen_range(0..10) {
                0..=3 => {
                    let here = rng.gen_bool(0.9);
                    let score = ranks.push(here);
                    if here {
                        present.insert(score);
                    }
                }
                4..=6 => {
                    // Inside the range handed out, as a window's entrants are.
                    let score = rng.gen_range(1..=ranks.last().max(1));
                    if score <= ranks.last() && present.insert(score) {
                        ranks.insert(score);
                    }
                }
                _ => {
                    let score = rng.gen_range(0..=ranks.last() + 10);
                    present.remove(&score);
                    ranks.remove(score);
                }
            }
            let probe = rng.gen_range(0..=ranks.last() + 10);
            assert_eq!(ranks.rank(probe), present.range(..=probe).count() as u64);
        }
    }
}
