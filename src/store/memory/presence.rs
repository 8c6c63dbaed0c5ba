//! Instances' reports on the open pages they hold, and when a waiting shopper was last seen.
//!
//! Mirrors `lua/presence.lua` and the drain's use of it (see "Presence" in
//! [`crate::store`]): holding a shopper is one field of their ticket, a heartbeat one entry per
//! instance, so a report costs nothing per socket that did not open or close.

use super::state::EventState;
use crate::clock::UnixMillis;
use crate::domain::{Identity, PresenceReport, TicketStatus};
use crate::queue::last_seen;

impl EventState {
    /// Applies one instance's report at `now`: its heartbeat, then who it holds and releases.
    pub(super) fn presence(&mut self, report: &PresenceReport, now: UnixMillis) {
        let now = self.presence_now(now);
        self.beats.insert(report.instance.clone(), now);
        for identity in &report.opened {
            if let Some(record) = self.waiting_record(identity) {
                record.holder = Some(report.instance.clone());
                record.last_seen = now;
            }
        }
        for identity in &report.closed {
            if let Some(record) = self.waiting_record(identity)
                && record.holder.as_ref() == Some(&report.instance)
            {
                record.holder = None;
                record.last_seen = now;
            }
        }
    }

    /// Moves the presence clock to `now` and reads it: every operation that records presence or
    /// drains calls it first, so a silence of the whole store is left out before anything is
    /// measured.
    pub(super) fn presence_now(&mut self, now: UnixMillis) -> UnixMillis {
        self.presence = self.presence.at(now);
        self.presence.reading(now)
    }

    /// When the drain counts `identity` as last seen (on the presence clock): its own seen time, or its holder's latest
    /// heartbeat when later. `None` for an unknown identity.
    pub(super) fn last_seen(&self, identity: &Identity) -> Option<UnixMillis> {
        let record = self.tickets.get(identity)?;
        let beat = record
            .holder
            .as_ref()
            .and_then(|holder| self.beats.get(holder).copied());
        Some(last_seen(record.last_seen, beat))
    }

    fn waiting_record(&mut self, identity: &Identity) -> Option<&mut super::state::TicketRecord> {
        self.tickets
            .get_mut(identity)
            .filter(|record| record.ticket.status == TicketStatus::Waiting)
    }
}
