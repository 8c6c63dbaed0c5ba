//! Instances' reports on the open pages they hold, and when a waiting shopper was last seen.
//!
//! Mirrors `lua/presence.lua` and the drain's use of it (see "Presence" in
//! [`crate::store`]): holding a shopper is one field of their ticket, a heartbeat one entry per
//! instance, so a report costs nothing per socket that did not open or close.

use std::num::NonZeroU32;

use super::state::EventState;
use super::table::{Record, Slot};
use crate::clock::UnixMillis;
use crate::domain::{Identity, InstanceId, PresenceReport, TicketStatus};
use crate::queue::last_seen;

impl EventState {
    /// Applies one instance's report at `now`: its heartbeat, then who it holds and releases.
    pub(super) fn presence(&mut self, report: &PresenceReport, now: UnixMillis) {
        let now = self.presence_now(now);
        let Some(holder) = self.beat(&report.instance, now) else {
            return;
        };
        for identity in &report.opened {
            if let Some(record) = self.waiting_record(identity) {
                record.holder = Some(holder);
                record.last_seen = now;
            }
        }
        for identity in &report.closed {
            if let Some(record) = self.waiting_record(identity)
                && record.holder == Some(holder)
            {
                record.holder = None;
                record.last_seen = now;
            }
        }
    }

    /// Records an instance's heartbeat at `now` and answers its number as a holder (its place
    /// in the list of instances, from 1); `None` past 2^32 - 1 instances.
    fn beat(&mut self, instance: &InstanceId, now: UnixMillis) -> Option<NonZeroU32> {
        let place = match self.instances.iter().position(|(id, _)| id == instance) {
            Some(place) => {
                self.instances[place].1 = now;
                place
            }
            None => {
                self.instances.push((instance.clone(), now));
                self.instances.len() - 1
            }
        };
        NonZeroU32::new(u32::try_from(place + 1).ok()?)
    }

    /// Moves the presence clock to `now` and reads it: every operation that records presence or
    /// drains calls it first, so a silence of the whole store is left out before anything is
    /// measured.
    pub(super) fn presence_now(&mut self, now: UnixMillis) -> UnixMillis {
        self.presence = self.presence.at(now);
        self.presence.reading(now)
    }

    /// When the drain counts the shopper in `slot` as last seen (on the presence clock): their
    /// own seen time, or their holder's latest heartbeat when later. `None` for an empty slot.
    pub(super) fn last_seen(&self, slot: Slot) -> Option<UnixMillis> {
        let record = self.tickets.get(slot)?;
        let beat = record
            .holder
            .and_then(|holder| self.instances.get(holder.get() as usize - 1))
            .map(|(_, beat)| *beat);
        Some(last_seen(record.last_seen, beat))
    }

    fn waiting_record(&mut self, identity: &Identity) -> Option<&mut Record> {
        self.tickets
            .record_mut(identity)
            .filter(|record| record.status == TicketStatus::Waiting)
    }
}
