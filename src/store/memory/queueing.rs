//! Joining, leaving, being seen, the draw and the outflow, over one event's state.
//!
//! Each method is one atomic step of the store (it runs under the event's lock) and takes the
//! store's `now`. The arithmetic comes from [`crate::queue`], which the Redis scripts mirror.

use super::state::{Admission, EventState};
use super::table::{Record, Slot};
use crate::clock::UnixMillis;
use crate::domain::{
    Admitted, DrainOutcome, DrawOutcome, DrawPage, DrawPageOutcome, DrawPageRequest, EventStatus,
    Identity, JoinOutcome, Mode, Ticket, TicketId, TicketStatus,
};
use crate::queue::{Bucket, MOST_DROPPED_PER_DRAIN, Outflow, is_abandoned};

impl EventState {
    /// Joins `identity`, or answers its current place (see [`crate::store::QueueStore::join`]).
    pub(super) fn join(
        &mut self,
        identity: &Identity,
        ticket_id: TicketId,
        now: UnixMillis,
    ) -> JoinOutcome {
        self.draw_if_due(now);
        self.settle(now);
        let seen = self.presence_now(now);
        if let Some(record) = self.tickets.record_mut(identity) {
            match record.status {
                TicketStatus::Waiting | TicketStatus::Admitted => {
                    if record.status == TicketStatus::Waiting {
                        record.last_seen = seen;
                    }
                    return self.joined(identity, false);
                }
                TicketStatus::Left | TicketStatus::Expired => {}
            }
        }
        let status = self.status(now);
        if !status.accepts_joins() {
            return JoinOutcome::NotAccepting(status);
        }
        let mut record = Record::waiting(ticket_id, now, seen);
        if !self.drawn {
            if self.put_ticket(identity, record).is_none() {
                return JoinOutcome::NotAccepting(status);
            }
            self.counters.joined += 1;
            self.prequeue += 1;
            return self.joined(identity, true);
        }
        let straight_through = self.config.mode == Mode::SafetyNet
            && status == EventStatus::Open
            && self.queue_length() == 0
            && self.room().has_place(&self.config);
        let score = if straight_through {
            self.next_score(false)
        } else {
            match self.window_score(ticket_id, now) {
                Some(score) => score,
                None => self.next_score(true),
            }
        };
        record.set_score(score);
        let Some(slot) = self.put_ticket(identity, record) else {
            // The score's place in the ranks goes back: nobody holds it.
            if !straight_through {
                self.ranks.remove(score);
            }
            return JoinOutcome::NotAccepting(status);
        };
        self.counters.joined += 1;
        if straight_through {
            self.admit(slot, now);
        } else {
            self.queue.insert(score, slot);
        }
        self.joined(identity, true)
    }

    /// Keeps a new ticket of `identity`, in place of any earlier one and its admission; `None`
    /// when the table is full (2^32 shoppers in one event).
    fn put_ticket(&mut self, identity: &Identity, record: Record) -> Option<Slot> {
        let slot = self.tickets.put(identity, record)?;
        self.admissions.remove(&slot);
        Some(slot)
    }

    fn joined(&self, identity: &Identity, created: bool) -> JoinOutcome {
        match self.ticket_view(identity) {
            Some(ticket) => JoinOutcome::Joined { ticket, created },
            None => JoinOutcome::NoEvent,
        }
    }

    /// The identity's ticket, marking the shopper as seen when `touch` is set.
    pub(super) fn ticket(
        &mut self,
        identity: &Identity,
        touch: bool,
        now: UnixMillis,
    ) -> Option<Ticket> {
        self.draw_if_due(now);
        self.settle(now);
        if touch {
            self.touch(std::slice::from_ref(identity), now);
        }
        self.ticket_view(identity)
    }

    /// Marks the waiting shoppers among `identities` as seen at `now`.
    pub(super) fn touch(&mut self, identities: &[Identity], now: UnixMillis) {
        // As the Redis store: a touch of nobody waiting records nothing, not even on the
        // presence clock.
        let waiting = |record: &Record| record.status == TicketStatus::Waiting;
        if !identities
            .iter()
            .any(|identity| self.tickets.record(identity).is_some_and(waiting))
        {
            return;
        }
        let seen = self.presence_now(now);
        for identity in identities {
            if let Some(record) = self.tickets.record_mut(identity)
                && record.status == TicketStatus::Waiting
            {
                record.last_seen = seen;
            }
        }
    }

    /// Gives up a waiting place or an admission. A ticket already left or expired is answered
    /// as it stands; another ticket than the identity's current one is `None`.
    pub(super) fn leave(
        &mut self,
        identity: &Identity,
        ticket_id: TicketId,
        now: UnixMillis,
    ) -> Option<Ticket> {
        self.settle(now);
        let slot = self.tickets.slot(identity)?;
        let record = self.tickets.get(slot)?;
        if record.ticket_id != ticket_id {
            return None;
        }
        let (status, score) = (record.status, record.score());
        match status {
            TicketStatus::Waiting => match score {
                Some(score) => {
                    if self.queue.remove(&score).is_some() {
                        self.ranks.remove(score);
                    }
                }
                // Waiting without a score: in the pre-queue.
                None => self.prequeue = self.prequeue.saturating_sub(1),
            },
            TicketStatus::Admitted => {
                if let Some(admission) = self.admissions.get(&slot) {
                    self.admissions_due.remove(&(admission.expires_at, slot));
                }
            }
            TicketStatus::Left | TicketStatus::Expired => return self.ticket_view(identity),
        }
        if let Some(record) = self.tickets.get_mut(slot) {
            record.status = TicketStatus::Left;
        }
        self.counters.left += 1;
        self.ticket_view(identity)
    }

    /// Draws the pre-queue, if due.
    /// The draw's state and a page of its entrants (drawing first if it is due).
    pub(super) fn draw_page(
        &mut self,
        request: DrawPageRequest,
        now: UnixMillis,
    ) -> DrawPageOutcome {
        self.draw_if_due(now);
        let Some(record) = &self.draw_record else {
            return DrawPageOutcome::Page(DrawPage::not_drawn());
        };
        match DrawPage::of_order(
            &record.draw.order,
            request,
            record.draw.commitment.clone(),
            record.seed.clone(),
        ) {
            Some(page) => DrawPageOutcome::Page(page),
            None => DrawPageOutcome::UnknownCursor,
        }
    }

    pub(super) fn draw(&mut self, now: UnixMillis) -> DrawOutcome {
        match self.draw_if_due(now) {
            Some(entrants) => DrawOutcome::Drawn { entrants },
            None if self.drawn => DrawOutcome::AlreadyDrawn,
            None => DrawOutcome::TooEarly,
        }
    }

    /// Runs the leaky bucket once: settles expiries, then admits from the head what the bucket
    /// and the caps allow, dropping head shoppers whose page is gone (at most
    /// [`MOST_DROPPED_PER_DRAIN`], so one drain stays short however many have left).
    pub(super) fn drain(&mut self, now: UnixMillis) -> DrainOutcome {
        self.draw_if_due(now);
        self.settle(now);
        let presence_now = self.presence_now(now);
        let status = self.status(now);
        let flowing = status == EventStatus::Open;
        let outflow = Outflow::of(&self.config).following(self.followed);
        self.bucket = Bucket::at(self.bucket, outflow, self.config.starts_at, now, flowing);
        let mut admitted = Vec::new();
        let mut abandoned = 0;
        if let (true, Some(bucket)) = (flowing, self.bucket) {
            let free = self.room().free_places(&self.config).unwrap_or(u64::MAX);
            let allowed = bucket.whole_shoppers().min(free);
            let hold = self.window_hold(now);
            let held = |score: &u64| hold.is_some_and(|hold| *score > hold);
            while (admitted.len() as u64) < allowed && abandoned < MOST_DROPPED_PER_DRAIN {
                if self
                    .queue
                    .first_key_value()
                    .is_none_or(|(score, _)| held(score))
                {
                    break;
                }
                let Some((score, slot)) = self.queue.pop_first() else {
                    break;
                };
                self.ranks.remove(score);
                let last_seen = self.last_seen(slot).unwrap_or(presence_now);
                if is_abandoned(last_seen, presence_now, self.config.abandon_after_seconds) {
                    if let Some(record) = self.tickets.get_mut(slot) {
                        record.status = TicketStatus::Expired;
                    }
                    self.counters.abandoned += 1;
                    abandoned += 1;
                } else if let Some(admission) = self.admit(slot, now) {
                    admitted.push(admission);
                }
            }
            // Credit is owed only to shoppers who may go through: those held in an open window
            // are not, so it does not pile up for them to pour out when the window closes.
            let waiting = self
                .queue
                .first_key_value()
                .is_some_and(|(score, _)| !held(score));
            self.bucket = Some(
                bucket
                    .spend(admitted.len() as u64)
                    .after_drain(outflow, waiting),
            );
        }
        DrainOutcome {
            admitted,
            abandoned,
            serving: self.serving,
            queue_length: self.queue_length(),
            status: Some(status),
            active: self.active(),
            admitted_total: self.counters.admitted,
            last_score: self.last_score(),
        }
    }

    /// Admits a shopper who has already left the queue (popped, or never entered it).
    fn admit(&mut self, slot: Slot, now: UnixMillis) -> Option<Admitted> {
        let ttl_ms = i64::from(self.config.admission_ttl_seconds) * 1_000;
        let expires_at = now.saturating_add(ttl_ms);
        let identity = self.tickets.identity(slot)?;
        let record = self.tickets.get_mut(slot)?;
        record.status = TicketStatus::Admitted;
        if let Some(score) = record.score() {
            self.serving = self.serving.max(score);
        }
        let ticket_id = record.ticket_id;
        let admission = Admission {
            admitted_at: now,
            expires_at,
        };
        self.admissions.insert(slot, admission);
        self.admissions_due.insert((expires_at, slot));
        self.counters.admitted += 1;
        Some(Admitted {
            identity,
            ticket_id,
            admitted_at: now,
            expires_at,
        })
    }
}
