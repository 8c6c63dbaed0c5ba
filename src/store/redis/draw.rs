//! The Redis store's draw, finished in Rust in short batches.
//!
//! A lottery key is a SHA-256 hash over the whole entrant set, so no key can be computed before
//! the pre-queue closes, and a pre-queue of 100,000 must not hold Redis for one long script.
//! The scripts only close the pre-queue (`draw_state` in `lua/lib/status.lua`) and answer
//! `draw_pending`; the store then takes the entrants' ticket ids, most of them read before the
//! start (see [`super::entrants`]), draws them with the same [`draw_order`] the memory store
//! runs, and gives the places [`DRAW_BATCH`] at a time. Any
//! instance may do it, even several at once: the batches are idempotent and carry the same
//! result, so the first to give a place wins and the others skip it.

use redis::Value;

use super::{RedisStore, replies, unexpected};
use std::collections::HashMap;

use crate::domain::{DrawPage, DrawPageOutcome, DrawPageRequest, EventId, TicketId};
use crate::queue::draw_order;
use crate::store::StoreError;

/// The most entrants one script call reads or places. At 1,000 a call over a pre-queue of
/// 1,000,000 ran up to 130 ms on a busy 2-core machine (`cargo bench --bench redis_draw`): each
/// entrant is a ticket read or two sorted-set inserts in sets too large for the CPU's caches.
pub(super) const DRAW_BATCH: usize = 250;

/// How many times a script is run again after finishing a draw it found pending (more than one
/// only if the event was changed in between; never a loop).
const DRAW_RETRIES: usize = 3;

impl RedisStore {
    /// Runs a script that may answer `draw_pending`; when it does, finishes the draw and runs
    /// it again.
    pub(super) async fn run_after_draw(
        &self,
        event: &EventId,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<Value, StoreError> {
        self.after_draw(event, || self.run(invocation)).await
    }

    /// Calls `call` until it answers something other than `draw_pending`, finishing the draw
    /// after each `draw_pending`.
    pub(super) async fn after_draw<F, C>(
        &self,
        event: &EventId,
        call: C,
    ) -> Result<Value, StoreError>
    where
        C: Fn() -> F,
        F: std::future::Future<Output = Result<Value, StoreError>>,
    {
        for _ in 0..DRAW_RETRIES {
            let reply = call().await?;
            if !replies::is_draw_pending(&reply) {
                return Ok(reply);
            }
            self.finish_draw(event).await?;
        }
        Err(StoreError::Corrupt(format!(
            "the draw of {event} stayed pending"
        )))
    }

    /// Gives the places of a closed pre-queue; the number of entrants, or `None` when there
    /// was nothing pending.
    #[tracing::instrument(skip(self), fields(event = %event))]
    pub(super) async fn finish_draw(&self, event: &EventId) -> Result<Option<u64>, StoreError> {
        // One finisher per instance; the others wait and then find the draw done.
        let _finishing = self.draw_lock.lock().await;
        let Some((seed, entrants)) = self.entrants_at_close(event).await? else {
            return Ok(None);
        };
        let draw = draw_order(&seed, entrants.iter().map(|(ticket, _)| *ticket));
        let identity_of: HashMap<TicketId, &str> = entrants
            .iter()
            .map(|(ticket, identity)| (*ticket, identity.as_str()))
            .collect();
        let total = draw.order.len();
        let mut chunks = draw.order.chunks(DRAW_BATCH).peekable();
        let mut first = 1_usize;
        // An empty pre-queue still takes one call: it records the commitment and ends the draw.
        if chunks.peek().is_none() {
            self.place(
                event,
                total,
                first,
                &seed,
                &draw.commitment,
                &[],
                &identity_of,
            )
            .await?;
        }
        for chunk in chunks {
            if !self
                .place(
                    event,
                    total,
                    first,
                    &seed,
                    &draw.commitment,
                    chunk,
                    &identity_of,
                )
                .await?
            {
                return Ok(None);
            }
            first += chunk.len();
        }
        tracing::info!(entrants = total, "pre-queue drawn");
        Ok(Some(total as u64))
    }

    /// Places `chunk` from place `first`; `false` when the draw turned out finished already.
    #[allow(clippy::too_many_arguments)]
    async fn place(
        &self,
        event: &EventId,
        total: usize,
        first: usize,
        seed: &str,
        commitment: &str,
        chunk: &[TicketId],
        identity_of: &HashMap<TicketId, &str>,
    ) -> Result<bool, StoreError> {
        let mut invocation = self.prepare(&self.scripts.draw_place, event);
        invocation.arg(total).arg(first).arg(seed).arg(commitment);
        for ticket in chunk {
            let identity = identity_of
                .get(ticket)
                .ok_or_else(|| StoreError::Corrupt("a drawn ticket has no entrant".into()))?;
            invocation.arg(*identity).arg(ticket.to_string());
        }
        let (kind, _) = replies::tagged(self.run(&invocation).await?)?;
        match kind.as_str() {
            "placed" | "skipped" => Ok(true),
            "drawn" | "no_event" => Ok(false),
            other => Err(unexpected(other, "draw_place")),
        }
    }

    /// The draw's published state and one page of its entrants.
    pub(super) async fn read_draw_page(
        &self,
        event: &EventId,
        request: DrawPageRequest,
    ) -> Result<DrawPageOutcome, StoreError> {
        let mut invocation = self.prepare(&self.scripts.draw_page, event);
        invocation
            .arg(request.after.map(|t| t.to_string()).unwrap_or_default())
            .arg(request.limit);
        let (kind, mut rest) = replies::tagged(self.run_after_draw(event, &invocation).await?)?;
        match kind.as_str() {
            "page" => {}
            "unknown_cursor" => return Ok(DrawPageOutcome::UnknownCursor),
            "no_event" => return Ok(DrawPageOutcome::NoEvent),
            other => return Err(unexpected(other, "draw_page")),
        }
        let commitment = replies::optional(replies::nth(&mut rest, 0)?, replies::text)?;
        let seed = replies::optional(replies::nth(&mut rest, 1)?, replies::text)?;
        let drawn = replies::int(replies::nth(&mut rest, 2)?)? != 0;
        let entrants_total = replies::count(replies::nth(&mut rest, 3)?)?;
        let from = replies::count(replies::nth(&mut rest, 4)?)?;
        let entrants = replies::array(replies::nth(&mut rest, 5)?)?
            .into_iter()
            .map(|id| {
                TicketId::parse(&replies::text(id)?).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = (from + entrants.len() as u64) < entrants_total;
        Ok(DrawPageOutcome::Page(DrawPage {
            commitment,
            seed,
            drawn,
            entrants_total,
            next: next.then(|| entrants.last().copied()).flatten(),
            entrants,
        }))
    }
}
