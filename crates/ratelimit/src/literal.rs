//! A pattern's literal segment (`v1`, `events`, `tickets`), compared with a request path's
//! segment in a few instructions.
//!
//! A request meets a handful of literals on its way to its rule (the rules tried before its own
//! fail on one). Most literals are at most eight bytes: each keeps its first eight bytes as one
//! word, and the path's segment is read as one word from where it starts and masked to the
//! literal's length. Comparing the two as byte slices cost several times as much: the set-up of
//! a comparison of a length known only at run time outweighed the few bytes compared. (Keeping
//! every segment's first word in the split instead cost more to build than it saved.)

use super::short_bytes;
use super::split_path::SplitPath;

/// A literal segment of a pattern, at its place in the pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Literal {
    /// Which segment of the path it must equal.
    index: usize,
    bytes: Box<[u8]>,
    /// Its first eight bytes as a little-endian word, zero-padded.
    head: u64,
    /// The low bytes of a word that the head covers (all eight for longer literals).
    mask: u64,
}

impl Literal {
    /// The literal `text` at segment `index`.
    pub(super) fn new(index: usize, text: &str) -> Self {
        let bytes: Box<[u8]> = text.as_bytes().into();
        let mut head = [0_u8; 8];
        for (slot, byte) in head.iter_mut().zip(bytes.iter()) {
            *slot = *byte;
        }
        let mask = match bytes.len() {
            len @ 0..8 => (1_u64 << (8 * len)) - 1,
            _ => u64::MAX,
        };
        Literal {
            index,
            bytes,
            head: u64::from_le_bytes(head),
            mask,
        }
    }

    /// Whether the path's segment at this literal's index is this literal. The index must be
    /// below [`super::split_path::MAX_SEGMENTS`] and the path's segment count.
    pub(super) fn matches(&self, path: &SplitPath<'_>) -> bool {
        let (start, len) = path.span(self.index);
        if len != self.bytes.len() {
            return false;
        }
        match path.word_at(start) {
            Some(word) => {
                word & self.mask == self.head
                    && (len <= 8
                        || short_bytes::equal(
                            self.bytes.get(8..).unwrap_or_default(),
                            path.bytes(start + 8, len - 8),
                        ))
            }
            // Fewer than eight bytes left in the path: the segment ends it.
            None => short_bytes::equal(&self.bytes, path.bytes(start, len)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_equals_exactly_the_segments_of_its_bytes() {
        let literals = [
            "v1",
            "events",
            "tickets",
            "checkout",
            "jwks.json",
            "a-longer-literal",
        ];
        let paths = [
            "/v1/events/sale/tickets",
            "/events/v1/tickets/checkout",
            "/checkout/jwks.json/a-longer-literal/x",
            "/a-longer-literal/a-longer-literaX/v",
            "/v/eventss/ticket/checkou",
            "/V1/Events/tickets/",
            "//v1/jwks.json",
            "/v1",
            "/a/v1/",
            "/x/events",
            "/jwks.json",
            "/x/a-longer-literal",
        ];
        for path in paths {
            let split = SplitPath::new(path);
            let count = split.segments().unwrap_or(0);
            for index in 0..count {
                let (start, len) = split.span(index);
                let segment = split.bytes(start, len);
                for text in literals {
                    let literal = Literal::new(index, text);
                    assert_eq!(
                        literal.matches(&split),
                        segment == text.as_bytes(),
                        "{text} at {index} of {path}"
                    );
                }
            }
        }
    }
}
