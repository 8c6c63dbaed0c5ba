//! The identities of one event's shoppers, as text packed into pages of fixed size.
//!
//! Each identity is written here once, when its shopper first joins, and the ticket table
//! refers to it by a [`NameRef`] of 8 bytes. A `String` per identity would cost its 24-byte
//! header and an allocation of its own besides the text; packing the text into pages costs the
//! text alone. Pages never grow past [`PAGE`] nor move, so adding a name never copies the
//! others, and at most the last page is partly empty.

/// Bytes of text a page holds: the most a 16-bit offset reaches.
const PAGE: usize = u16::MAX as usize;

/// Where one name is: its page, and its bytes within the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NameRef {
    page: u32,
    start: u16,
    len: u16,
}

/// Every name added so far, never removed (a ticket stays for the event's life).
#[derive(Debug, Default)]
pub(super) struct Names {
    pages: Vec<Vec<u8>>,
}

impl Names {
    /// Writes `text` down and says where it is; `None` past what 32-bit page numbers reach (some
    /// 280 TB of text, beyond any machine's memory).
    pub(super) fn add(&mut self, text: &str) -> Option<NameRef> {
        let bytes = text.as_bytes();
        // An identity is at most 2 + 128 characters of 4 bytes, well within a page.
        let len = u16::try_from(bytes.len()).ok()?;
        let fits = self
            .pages
            .last()
            .is_some_and(|page| page.len() + bytes.len() <= PAGE);
        if !fits {
            self.pages.push(Vec::with_capacity(PAGE));
        }
        let page_number = u32::try_from(self.pages.len() - 1).ok()?;
        let page = self.pages.last_mut()?;
        let start = u16::try_from(page.len()).ok()?;
        page.extend_from_slice(bytes);
        Some(NameRef {
            page: page_number,
            start,
            len,
        })
    }

    /// The bytes of a name added here (empty for a reference from elsewhere).
    pub(super) fn get(&self, name: NameRef) -> &[u8] {
        let start = usize::from(name.start);
        let end = start + usize::from(name.len);
        self.pages
            .get(name.page as usize)
            .and_then(|page| page.get(start..end))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_as_written_across_pages() {
        let mut names = Names::default();
        let texts: Vec<String> = (0..5_000).map(|n| format!("u:shopper-{n:0>30}")).collect();
        let refs: Vec<NameRef> = texts.iter().map(|t| names.add(t).unwrap()).collect();
        assert!(names.pages.len() > 1, "the names span several pages");
        assert!(names.pages.iter().all(|page| page.len() <= PAGE));
        for (text, name) in texts.iter().zip(refs) {
            assert_eq!(names.get(name), text.as_bytes());
        }
    }
}
