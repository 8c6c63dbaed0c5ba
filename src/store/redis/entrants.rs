//! The pre-queue's entrants, read ahead of the close.
//!
//! The draw needs every entrant's ticket id, and a ticket record is one read in a bucket spread
//! over the whole keyspace: at a million entrants, reading them all at the close took thousands
//! of script calls while every request for the event waited. Their lottery keys cannot be
//! computed before the close (each key hashes the commitment to the whole entrant set, which is
//! only fixed then), but the ticket ids can be read before it.
//!
//! So while the event is in its pre-queue, every drain (each instance's ticker, a few times a
//! second) also takes one step of preparation in the background: a page of identities in queue
//! order ([`MEMBERS_PAGE`] at a time, `draw_members.lua`, no record read) and the ticket ids of
//! those not read yet (`draw_tickets.lua`, [`DRAW_BATCH`] a call, at most [`READS_PER_STEP`]
//! calls), kept in this instance's memory. Passes go round the queue again and again until the
//! start, so later joins are read too. At the close the store lists the entrants (pages of
//! identities only) and reads just those it does not hold.
//!
//! A waiting identity keeps its ticket id; it can change only by a leave and a new join. Each
//! id held is stamped with the event's count of leaves when it was read, and one read before a
//! later leave is read again: what the close uses is exactly what a full read would give.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use redis::Value;

use super::draw::DRAW_BATCH;
use super::{RedisStore, event_key_prefix, keys, replies, unexpected};
use crate::domain::{EventId, TicketId};
use crate::store::StoreError;

/// Identities listed per call: a ZRANGE BYLEX with no record read. At 5,000 a page over a
/// pre-queue of 200,000 took 3.5–5 ms at the median but up to 46 ms on a busy 2-core machine
/// (`cargo bench --bench redis_draw`), too near the 50 ms bound.
const MEMBERS_PAGE: usize = 2_000;

/// The most `draw_tickets` calls one step of preparation makes.
const READS_PER_STEP: usize = 4;

/// How often a finisher looks again while another caller gives the places, and for how long.
const PLACING_POLL: Duration = Duration::from_millis(50);
const PLACING_WAIT: Duration = Duration::from_secs(300);

/// Ticket ids read ahead, per event in its pre-queue.
#[derive(Default)]
pub(super) struct PreparedEntrants(Mutex<HashMap<EventId, Prepared>>);

#[derive(Default)]
struct Prepared {
    /// Where the pass goes on: the last identity looked at, empty to start a new pass.
    cursor: String,
    /// Identity → its ticket id and the event's count of leaves when it was read.
    tickets: HashMap<String, (TicketId, u64)>,
}

impl PreparedEntrants {
    fn with<T>(&self, event: &EventId, f: impl FnOnce(&mut Prepared) -> T) -> T {
        let mut events = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(events.entry(event.clone()).or_default())
    }

    fn take(&self, event: &EventId) -> Prepared {
        let mut events = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        events.remove(event).unwrap_or_default()
    }

    fn holds(&self, event: &EventId) -> bool {
        let events = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        events.contains_key(event)
    }
}

/// One page of `draw_members.lua`.
enum MembersPage {
    Members {
        pending: bool,
        seed: String,
        leaves: u64,
        identities: Vec<String>,
    },
    /// Another caller is giving the places.
    Placing,
    /// Drawn already, or no such event.
    Done,
}

impl RedisStore {
    /// After a drain: one step of preparation in the background while the event is in its
    /// pre-queue (skipped while this instance is preparing or finishing a draw already); the
    /// ids held are dropped once it is not.
    pub(super) fn prepare_after_drain(&self, event: &EventId, in_prequeue: bool) {
        if !in_prequeue {
            if self.prepared.holds(event) {
                self.prepared.take(event);
            }
            return;
        }
        let Ok(busy) = self.draw_lock.clone().try_lock_owned() else {
            return;
        };
        let (store, event) = (self.clone(), event.clone());
        tokio::spawn(async move {
            let _busy = busy;
            if let Err(error) = store.prepare_step(&event).await {
                tracing::warn!(%event, %error, "preparing the draw");
            }
        });
    }

    /// One step of preparation (see the module); how many ticket ids are held ready after it
    /// (read since the last leave), or `None` when the event is not in its pre-queue (nothing
    /// is held then).
    pub async fn prepare_draw(&self, event: &EventId) -> Result<Option<usize>, StoreError> {
        let _busy = self.draw_lock.lock().await;
        let Some(leaves) = self.prepare_step(event).await? else {
            return Ok(None);
        };
        Ok(Some(self.prepared.with(event, |p| {
            p.tickets
                .values()
                .filter(|&&(_, read_at)| read_at == leaves)
                .count()
        })))
    }

    /// One step; the event's count of leaves it saw, or `None` out of the pre-queue.
    async fn prepare_step(&self, event: &EventId) -> Result<Option<u64>, StoreError> {
        let cursor = self.prepared.with(event, |p| p.cursor.clone());
        let (leaves, identities) = match self.members_page(event, &cursor).await? {
            MembersPage::Members {
                pending: false,
                leaves,
                identities,
                ..
            } => (leaves, identities),
            _ => {
                self.prepared.take(event);
                return Ok(None);
            }
        };
        let most = READS_PER_STEP * DRAW_BATCH;
        let wanted: Vec<String> = self.prepared.with(event, |p| {
            identities
                .iter()
                .filter(|identity| !is_fresh(p.tickets.get(identity.as_str()), leaves))
                .take(most)
                .cloned()
                .collect()
        });
        for chunk in wanted.chunks(DRAW_BATCH) {
            let tickets = self.ticket_ids(event, chunk).await?;
            self.prepared.with(event, |p| {
                for (identity, ticket) in chunk.iter().zip(tickets) {
                    match ticket {
                        Some(ticket) => p.tickets.insert(identity.clone(), (ticket, leaves)),
                        None => p.tickets.remove(identity),
                    };
                }
            });
        }
        // The pass goes on after the last identity read, or the page's last; a short page ends it.
        let next = if wanted.len() == most {
            wanted.last().cloned().unwrap_or_default()
        } else if identities.len() == MEMBERS_PAGE {
            identities.last().cloned().unwrap_or_default()
        } else {
            String::new()
        };
        self.prepared.with(event, |p| p.cursor = next);
        Ok(Some(leaves))
    }

    /// Every entrant of a pending draw with the seed in force, reading only the ticket ids not
    /// held ready; `None` when nothing is pending (or another caller gave the places meanwhile).
    pub(super) async fn entrants_at_close(
        &self,
        event: &EventId,
    ) -> Result<Option<(String, Vec<(TicketId, String)>)>, StoreError> {
        let (mut cursor, mut listed) = (String::new(), Vec::new());
        let (seed, leaves) = loop {
            match self.members_page(event, &cursor).await? {
                MembersPage::Members {
                    pending: true,
                    seed,
                    leaves,
                    identities,
                } => {
                    let last_page = identities.len() < MEMBERS_PAGE;
                    cursor = identities.last().cloned().unwrap_or_default();
                    listed.extend(identities);
                    if last_page {
                        break (seed, leaves);
                    }
                }
                MembersPage::Placing => {
                    self.await_placing(event).await?;
                    return Ok(None);
                }
                MembersPage::Members { pending: false, .. } | MembersPage::Done => {
                    return Ok(None);
                }
            }
        };
        let prepared = self.prepared.take(event);
        let mut entrants = Vec::with_capacity(listed.len());
        let mut unread = Vec::new();
        for identity in listed {
            match prepared.tickets.get(&identity) {
                Some(&(ticket, read_at)) if read_at == leaves => entrants.push((ticket, identity)),
                _ => unread.push(identity),
            }
        }
        drop(prepared);
        for chunk in unread.chunks(DRAW_BATCH) {
            let tickets = self.ticket_ids(event, chunk).await?;
            for (identity, ticket) in chunk.iter().zip(tickets) {
                let ticket = ticket.ok_or_else(|| {
                    StoreError::Corrupt("a queued identity holds no waiting ticket".into())
                })?;
                entrants.push((ticket, identity.clone()));
            }
        }
        tracing::info!(
            entrants = entrants.len(),
            read_at_close = unread.len(),
            "pre-queue closed"
        );
        Ok(Some((seed, entrants)))
    }

    /// Waits while another caller gives the places.
    async fn await_placing(&self, event: &EventId) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + PLACING_WAIT;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(PLACING_POLL).await;
            if !matches!(self.members_page(event, "").await?, MembersPage::Placing) {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn members_page(&self, event: &EventId, after: &str) -> Result<MembersPage, StoreError> {
        let mut invocation = self.prepare(&self.scripts.draw_members, event);
        invocation.arg(after).arg(MEMBERS_PAGE);
        let (kind, mut rest) = replies::tagged(self.run(&invocation).await?)?;
        match kind.as_str() {
            "members" => {}
            "placing" => return Ok(MembersPage::Placing),
            "drawn" | "no_event" => return Ok(MembersPage::Done),
            other => return Err(unexpected(other, "draw_members")),
        }
        let pending = replies::text(replies::nth(&mut rest, 0)?)? == "pending";
        let seed = replies::text(replies::nth(&mut rest, 1)?)?;
        let leaves = replies::count(replies::nth(&mut rest, 2)?)?;
        let identities = replies::array(replies::nth(&mut rest, 4)?)?
            .into_iter()
            .map(replies::text)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MembersPage::Members {
            pending,
            seed,
            leaves,
            identities,
        })
    }

    /// The waiting ticket id of each identity, `None` for one with none.
    async fn ticket_ids(
        &self,
        event: &EventId,
        identities: &[String],
    ) -> Result<Vec<Option<TicketId>>, StoreError> {
        let mut invocation = self.prepare(&self.scripts.draw_tickets, event);
        keys::declare_buckets(
            &mut invocation,
            &event_key_prefix(event),
            identities.iter().map(String::as_str),
        );
        for identity in identities {
            invocation.arg(identity.as_str());
        }
        let (kind, mut rest) = replies::tagged(self.run(&invocation).await?)?;
        if kind != "tickets" {
            return Err(unexpected(&kind, "draw_tickets"));
        }
        let tickets = replies::array(replies::nth(&mut rest, 0)?)?;
        if tickets.len() != identities.len() {
            return Err(StoreError::Corrupt(
                "draw_tickets answered for other identities".into(),
            ));
        }
        tickets
            .into_iter()
            .map(|ticket| match ticket {
                Value::BulkString(ref bytes) if bytes.is_empty() => Ok(None),
                ticket => replies::ticket_id(ticket).map(Some),
            })
            .collect()
    }
}

/// Whether an id held is still the identity's: read since the last leave.
fn is_fresh(held: Option<&(TicketId, u64)>, leaves: u64) -> bool {
    held.is_some_and(|&(_, read_at)| read_at == leaves)
}
