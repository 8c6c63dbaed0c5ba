//! A bot identity: one of a bot's many user ids. It joins the moment joins open, ignores
//! `Retry-After`, polls its ticket every few milliseconds while re-posting its join and reading
//! the event, and checks out the instant it is admitted.

use std::sync::Arc;
use std::time::Duration;

use crate::api::Identity;
use crate::journey::{Journey, Outcome, WaitedOn};
use crate::recorder::Recorder;
use crate::sale::Sale;
use crate::shopper::waiting_outcome;
use crate::steps::{self, LastLook, Patience};

/// Every how many polls a bot also re-posts its join and reads the event.
const HAMMER_EVERY: u32 = 5;

/// Bots never honour `Retry-After` and barely give up.
pub fn bot_patience(sale: &Sale) -> Patience {
    Patience {
        honours_retry_after: false,
        pause: Duration::from_millis(sale.scenario.bots.interval_ms.max(1)),
        max_failures: 50,
    }
}

/// Plays one bot identity, arriving at `arrival_ms`, until it has bought or the sale is over.
pub async fn run_bot_identity(
    sale: Arc<Sale>,
    who: Identity,
    arrival_ms: i64,
    sku: String,
) -> Journey {
    let mut journey = Journey::new(who.actor, who.user_id.clone());
    let recorder = sale.api.recorder().clone();
    if !sale.wait_until(arrival_ms).await {
        return journey;
    }
    let patience = bot_patience(&sale);
    let ticket = match steps::join_queue(&sale, &who, patience).await {
        Ok(ticket) => ticket,
        Err(outcome) => {
            journey.outcome = outcome;
            return journey;
        }
    };
    journey.join = Some(ticket.record);
    journey.ticket_id = Some(ticket.id.clone());
    journey.waited_on = WaitedOn::Polling;
    Recorder::bump(&recorder.live.joined);

    let mut polls = 0u32;
    let (admission, token) = loop {
        let reply = sale
            .unless_over(sale.api.ticket(&who, &sale.event, &ticket.id))
            .await;
        if let Some(Ok(reply)) = &reply {
            match reply.text("status") {
                Some("admitted") if reply.is_success() => {
                    if let Some(token) = reply.text("admission_token") {
                        let seen = steps::admission_seen(&sale, reply.text("admission_expires_at"));
                        break (seen, token.to_owned());
                    }
                }
                Some("expired" | "left") => {
                    journey.outcome = Outcome::TicketLost;
                    return journey;
                }
                _ => {}
            }
        }
        polls += 1;
        if reply.is_some() && polls % HAMMER_EVERY == 0 {
            // Where a join costs a proof of work, a bot does not pay for joins it already has.
            if sale.scenario.event.proof_difficulty == 0 {
                let _ = sale
                    .unless_over(sale.api.join(&who, &sale.event, None))
                    .await;
            }
            let _ = sale
                .unless_over(sale.api.event_state(who.actor, &sale.event))
                .await;
        }
        if reply.is_none() || !sale.pause(patience.pause).await {
            let waiting_seen_ms = match steps::final_look(&sale, &who, &ticket.id).await {
                LastLook::Admitted(admission, token) => break (admission, token),
                LastLook::Waiting(at_ms) => at_ms,
                LastLook::Unknown => ticket.record.sent_ms,
            };
            journey.waiting_seen_ms = Some(waiting_seen_ms);
            journey.outcome = waiting_outcome(!sale.is_stopping());
            return journey;
        }
    };
    journey.admission = Some(admission);
    Recorder::bump(&recorder.live.admitted);
    if sale.is_stopping() {
        journey.outcome = Outcome::AdmittedAtEnd;
        return journey;
    }

    let quantity = sale.scenario.shoppers.quantity;
    let bought = steps::buy(&sale, &who, &token, &sku, quantity, true, patience).await;
    journey.outcome = bought.outcome;
    journey.units_reserved = bought.reserved;
    journey.units_paid = bought.paid;
    journey
}
