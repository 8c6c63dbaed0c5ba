//! One event's tickets: a compact record per shopper, found by identity.
//!
//! A shopper gets a [`Slot`] when they first join and keeps it for the event's life (a new
//! ticket after leaving overwrites the record in place). Records sit in pages of fixed size, so
//! the table grows a page at a time and never copies what it holds. The identity's text is
//! written once, in [`Names`]; the index from identity to slot holds slots only, comparing and
//! rehashing through the records. The index is cut into [`SHARDS`] hash tables by hash: a table
//! that outgrows its buckets rebuilds itself while the event's lock is held, and one shard is a
//! 256th of the whole.

use std::hash::BuildHasher;
use std::num::{NonZeroU32, NonZeroU64};

use hashbrown::HashTable;

use super::names::{NameRef, Names};
use crate::clock::UnixMillis;
use crate::domain::{Identity, TicketId, TicketStatus};

/// A shopper's place in the table.
pub(super) type Slot = u32;

/// Hash tables the index is cut into.
const SHARDS: usize = 256;

/// Records a page holds (about 230 KB).
const PAGE: usize = 4_096;

/// What the store keeps of a ticket; the rest of [`crate::domain::Ticket`] is built on reading
/// (the identity from [`Names`], the admission's times from the event's admissions).
#[derive(Debug, Clone, Copy)]
pub(super) struct Record {
    pub(super) ticket_id: TicketId,
    pub(super) joined_at: UnixMillis,
    /// The queue score once drawn or joined after the draw; kept after admission. Scores start
    /// at 1, so a zero is free to mean none and the option costs nothing.
    score: Option<NonZeroU64>,
    /// The last time the shopper's page showed signs of life, on the presence clock.
    pub(super) last_seen: UnixMillis,
    /// The instance holding the shopper's open socket while waiting: its number in the
    /// event's list of instances, counted from 1.
    pub(super) holder: Option<NonZeroU32>,
    pub(super) status: TicketStatus,
    /// Whether the admission has been used at checkout.
    pub(super) admission_used: bool,
}

impl Record {
    /// A new waiting ticket.
    pub(super) fn waiting(ticket_id: TicketId, joined_at: UnixMillis, seen: UnixMillis) -> Self {
        Self {
            ticket_id,
            joined_at,
            score: None,
            last_seen: seen,
            holder: None,
            status: TicketStatus::Waiting,
            admission_used: false,
        }
    }

    /// The queue score, if it has one.
    pub(super) fn score(&self) -> Option<u64> {
        self.score.map(NonZeroU64::get)
    }

    /// Sets the queue score (a zero, which no score is, leaves none).
    pub(super) fn set_score(&mut self, score: u64) {
        self.score = NonZeroU64::new(score);
    }
}

/// A record with where its identity is written.
#[derive(Debug, Clone, Copy)]
struct Entry {
    name: NameRef,
    record: Record,
}

/// Every ticket of one event.
pub(super) struct TicketTable {
    hasher: foldhash::fast::RandomState,
    /// Slots by the hash of their identity, cut into [`SHARDS`] tables.
    index: Vec<HashTable<Slot>>,
    /// Records by slot, [`PAGE`] to a page.
    pages: Vec<Vec<Entry>>,
    names: Names,
    len: usize,
}

impl std::fmt::Debug for TicketTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A million records are no help in a log line.
        f.debug_struct("TicketTable")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Default for TicketTable {
    fn default() -> Self {
        Self {
            hasher: foldhash::fast::RandomState::default(),
            index: (0..SHARDS).map(|_| HashTable::new()).collect(),
            pages: Vec::new(),
            names: Names::default(),
            len: 0,
        }
    }
}

/// The shard of a hash: bits apart from the low ones hashbrown places by and the top seven it
/// tags buckets with, so slots within a shard still spread over all of its buckets.
fn shard_of(hash: u64) -> usize {
    (hash >> 32) as usize % SHARDS
}

impl TicketTable {
    fn hash(&self, text: &[u8]) -> u64 {
        self.hasher.hash_one(text)
    }

    fn entry(&self, slot: Slot) -> Option<&Entry> {
        let slot = slot as usize;
        self.pages.get(slot / PAGE)?.get(slot % PAGE)
    }

    fn find(&self, hash: u64, text: &[u8]) -> Option<Slot> {
        let same = |slot: &Slot| {
            self.entry(*slot)
                .is_some_and(|entry| self.names.get(entry.name) == text)
        };
        self.index.get(shard_of(hash))?.find(hash, same).copied()
    }

    /// The slot of `identity`, if it ever joined.
    pub(super) fn slot(&self, identity: &Identity) -> Option<Slot> {
        let text = identity.as_str().as_bytes();
        self.find(self.hash(text), text)
    }

    /// The record in `slot`.
    pub(super) fn get(&self, slot: Slot) -> Option<&Record> {
        self.entry(slot).map(|entry| &entry.record)
    }

    /// The record in `slot`, to change.
    pub(super) fn get_mut(&mut self, slot: Slot) -> Option<&mut Record> {
        let slot = slot as usize;
        let entry = self.pages.get_mut(slot / PAGE)?.get_mut(slot % PAGE)?;
        Some(&mut entry.record)
    }

    /// The record of `identity`, if it ever joined.
    pub(super) fn record(&self, identity: &Identity) -> Option<&Record> {
        self.get(self.slot(identity)?)
    }

    /// The record of `identity`, to change.
    pub(super) fn record_mut(&mut self, identity: &Identity) -> Option<&mut Record> {
        let slot = self.slot(identity)?;
        self.get_mut(slot)
    }

    /// The identity in `slot`.
    pub(super) fn identity(&self, slot: Slot) -> Option<Identity> {
        let text = std::str::from_utf8(self.names.get(self.entry(slot)?.name)).ok()?;
        text.parse().ok()
    }

    /// Keeps `record` as the ticket of `identity`, in its slot if it has one, else in a new one.
    /// `None` once the table holds 2^32 shoppers (over 200 GB of records).
    pub(super) fn put(&mut self, identity: &Identity, record: Record) -> Option<Slot> {
        let text = identity.as_str().as_bytes();
        let hash = self.hash(text);
        if let Some(slot) = self.find(hash, text) {
            *self.get_mut(slot)? = record;
            return Some(slot);
        }
        let slot = Slot::try_from(self.len).ok()?;
        let name = self.names.add(identity.as_str())?;
        if self.pages.last().is_none_or(|page| page.len() == PAGE) {
            self.pages.push(Vec::with_capacity(PAGE));
        }
        self.pages.last_mut()?.push(Entry { name, record });
        self.len += 1;
        let (hasher, pages, names) = (&self.hasher, &self.pages, &self.names);
        // The hash of a slot already in the index, for when its shard rebuilds itself.
        let rehash = |slot: &Slot| {
            let slot = *slot as usize;
            pages
                .get(slot / PAGE)
                .and_then(|page| page.get(slot % PAGE))
                .map_or(0, |entry| hasher.hash_one(names.get(entry.name)))
        };
        self.index
            .get_mut(shard_of(hash))?
            .insert_unique(hash, slot, rehash);
        Some(slot)
    }

    /// Every record with its slot, in the order of first joins.
    pub(super) fn iter(&self) -> impl Iterator<Item = (Slot, &Record)> {
        self.pages
            .iter()
            .flatten()
            .zip(0..)
            .map(|(entry, slot)| (slot, &entry.record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shopper(n: u32) -> Identity {
        Identity::user(&format!("shopper-{n}")).unwrap()
    }

    #[test]
    fn records_are_found_by_identity_and_rejoins_keep_their_slot() {
        let mut table = TicketTable::default();
        let count = 3 * PAGE as u32 + 7;
        for n in 0..count {
            let record = Record::waiting(TicketId::random(), i64::from(n), 0);
            assert_eq!(table.put(&shopper(n), record), Some(n));
        }
        for n in (0..count).step_by(97) {
            let slot = table.slot(&shopper(n)).unwrap();
            assert_eq!(slot, n);
            assert_eq!(table.get(slot).unwrap().joined_at, i64::from(n));
            assert_eq!(table.identity(slot), Some(shopper(n)));
        }
        assert_eq!(table.slot(&shopper(count)), None);

        let again = Record::waiting(TicketId::random(), -1, 0);
        assert_eq!(table.put(&shopper(5), again), Some(5));
        assert_eq!(table.record(&shopper(5)).unwrap().joined_at, -1);
        assert_eq!(table.iter().count(), count as usize);
    }

    #[test]
    fn a_shopper_costs_the_table_56_bytes_beside_their_name() {
        // What the memory-store bench's figure rests on: grow it only knowingly.
        assert_eq!(std::mem::size_of::<Record>(), 48);
        assert_eq!(std::mem::size_of::<Entry>(), 56);
    }

    #[test]
    fn a_score_of_zero_is_none() {
        let mut record = Record::waiting(TicketId::random(), 0, 0);
        assert_eq!(record.score(), None);
        record.set_score(7);
        assert_eq!(record.score(), Some(7));
    }
}
