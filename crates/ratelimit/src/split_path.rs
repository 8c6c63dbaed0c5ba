//! A request path split into its segments once, for matching it against every rule's patterns.

/// Segments of a path split once; longer paths keep their first segments and their count.
pub const MAX_SEGMENTS: usize = 12;

/// The path without its leading slash and one trailing slash; `None` when it has no leading
/// slash (no pattern matches it).
pub(super) fn normalised(path: &str) -> Option<&str> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    path.strip_prefix('/')
}

/// Calls `found` with the index of every `/` in `bytes`, in order. Eight bytes are tested at a
/// time (a zero-byte test on the word XOR `'/'`): searching byte by byte, or with `str::split`,
/// cost more than matching the whole rule set. The test can flag a byte after a true match
/// falsely, so each flagged byte is checked.
fn for_each_slash(bytes: &[u8], mut found: impl FnMut(usize)) {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const SLASHES: u64 = u64::from_le_bytes([b'/'; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])) ^ SLASHES;
        let mut flagged = word.wrapping_sub(ONES) & !word & HIGHS;
        while flagged != 0 {
            let at = base + flagged.trailing_zeros() as usize / 8;
            if bytes.get(at) == Some(&b'/') {
                found(at);
            }
            flagged &= flagged - 1;
        }
        base += 8;
    }
    for (offset, byte) in chunks.remainder().iter().enumerate() {
        if *byte == b'/' {
            found(base + offset);
        }
    }
}

/// A request path split into its segments, once for all the patterns it is matched against.
/// The segments are kept as where they start and end, not as slices: a split less than half
/// the size to build and to pass around.
#[derive(Debug, Clone, Copy)]
pub struct SplitPath<'a> {
    path: &'a str,
    /// The path as [`normalised`].
    rest: &'a [u8],
    /// How many segments it has; `None` when it does not start with `/`.
    pub(super) count: Option<usize>,
    /// Where each of the first [`MAX_SEGMENTS`] segments starts in `rest`.
    starts: [u32; MAX_SEGMENTS],
    /// Where each of them ends (at its `/`, or at the end of `rest`).
    ends: [u32; MAX_SEGMENTS],
}

impl<'a> SplitPath<'a> {
    /// Splits `path` (without query).
    pub fn new(path: &'a str) -> Self {
        let mut split = SplitPath {
            path,
            rest: &[],
            count: None,
            starts: [0; MAX_SEGMENTS],
            ends: [0; MAX_SEGMENTS],
        };
        let Some(rest) = normalised(path) else {
            return split;
        };
        split.rest = rest.as_bytes();
        if rest.is_empty() {
            split.count = Some(0);
            return split;
        }
        // A path is far shorter than 4 GiB (servers refuse long ones well before).
        let offset = |at: usize| u32::try_from(at).unwrap_or(u32::MAX);
        let mut count = 0;
        for_each_slash(split.rest, |at| {
            if let Some(slot) = split.ends.get_mut(count) {
                *slot = offset(at);
            }
            count += 1;
            if let Some(slot) = split.starts.get_mut(count) {
                *slot = offset(at + 1);
            }
        });
        if let Some(slot) = split.ends.get_mut(count) {
            *slot = offset(rest.len());
        }
        split.count = Some(count + 1);
        split
    }

    /// The path as given.
    pub fn as_str(&self) -> &'a str {
        self.path
    }

    /// How many segments it has; `None` when it does not start with `/`.
    pub fn segments(&self) -> Option<usize> {
        self.count
    }

    /// Where segment `index` starts in the normalised path, and its length, for an index below
    /// [`MAX_SEGMENTS`] and the segment count.
    pub(super) fn span(&self, index: usize) -> (usize, usize) {
        match (self.starts.get(index), self.ends.get(index)) {
            (Some(start), Some(end)) => (*start as usize, end.saturating_sub(*start) as usize),
            _ => (0, 0),
        }
    }

    /// `len` bytes of the normalised path from `start` (empty when out of bounds).
    pub(super) fn bytes(&self, start: usize, len: usize) -> &'a [u8] {
        self.rest.get(start..start + len).unwrap_or_default()
    }

    /// The eight bytes of the normalised path from `start`, as a little-endian word; `None`
    /// when fewer are left.
    pub(super) fn word_at(&self, start: usize) -> Option<u64> {
        let bytes = self.rest.get(start..start.checked_add(8)?)?;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slash_is_found_once_whatever_its_neighbours() {
        for path in [
            "",
            "/",
            "a/b",
            "//./a/./",
            "/.",
            "x/.//.//./////.y",
            "abcdefgh/ijklmnop/",
        ] {
            let mut found = Vec::new();
            for_each_slash(path.as_bytes(), |at| found.push(at));
            let expected: Vec<usize> = path.match_indices('/').map(|(at, _)| at).collect();
            assert_eq!(found, expected, "{path:?}");
        }
    }
}
