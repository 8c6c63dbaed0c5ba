//! Equality of short byte strings (path segments, client keys) without calling `memcmp`.
//!
//! Comparing slices calls `memcmp` whenever their length is known only at run time; for the few
//! bytes of a path segment or a client key, the call cost more than the comparison. Eight bytes
//! at a time, then byte by byte.

/// Whether `a` and `b` hold the same bytes.
pub(crate) fn equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut words_a, mut words_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let words = words_a
        .by_ref()
        .zip(words_b.by_ref())
        .all(|(x, y)| word(x) == word(y));
    words
        && words_a
            .remainder()
            .iter()
            .zip(words_b.remainder())
            .all(|(x, y)| x == y)
}

fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_exactly_when_the_slices_are() {
        let texts: [&[u8]; 8] = [
            b"",
            b"a",
            b"v1",
            b"events",
            b"tickets",
            b"ip:10.0.0.1",
            b"ip:10.0.0.2",
            b"ip:203.0.113.7/24",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(equal(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }
}
