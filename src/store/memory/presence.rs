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

    /// When the drain counts `identity` as last seen: its own seen time, or its holder's latest
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
