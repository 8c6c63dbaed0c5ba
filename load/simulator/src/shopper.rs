//! An honest shopper: arrives on schedule, joins once, waits on a WebSocket (falling back to
//! polling if the socket fails) or polls, leaves if impatient, and buys when admitted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::Identity;
use crate::journey::{Journey, Outcome, WaitedOn};
use crate::queue_socket::{ConnectError, QueueMessage, QueueSocket};
use crate::recorder::{Endpoint, Recorder};
use crate::sale::{Sale, SaleSignal};
use crate::steps::{self, LastLook, Patience, Waited};

/// A socket not open after this long is given up for polling.
const SOCKET_CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// Source addresses a socket tries when ports run out on one.
const SOCKET_CONNECT_TRIES: usize = 3;

/// A socket that says nothing for this long is given up for polling.
const SOCKET_SILENCE_LIMIT: Duration = Duration::from_secs(20);

/// What one shopper will do, drawn before the run so runs are comparable.
#[derive(Debug, Clone)]
pub struct ShopperChoices {
    /// When the shopper arrives (Unix ms).
    pub arrival_ms: i64,
    /// Waits on a WebSocket rather than polling.
    pub on_socket: bool,
    /// Leaves the queue after this long if not admitted by then.
    pub leaves_after: Option<Duration>,
    /// Pays after reserving.
    pub pays: bool,
    /// The SKU wanted.
    pub sku: String,
}

/// Shoppers honour `Retry-After` and give up after a few failures.
pub fn shopper_patience(sale: &Sale) -> Patience {
    Patience {
        honours_retry_after: true,
        pause: Duration::from_secs_f64(sale.scenario.shoppers.poll_interval_seconds),
        max_failures: 5,
    }
}

/// Plays one shopper's journey to its end.
pub async fn shop(sale: Arc<Sale>, who: Identity, choices: ShopperChoices) -> Journey {
    let mut journey = Journey::new(who.actor, who.user_id.clone());
    let recorder = sale.api.recorder().clone();
    if !sale.wait_until(choices.arrival_ms).await {
        return journey;
    }
    let patience = shopper_patience(&sale);
    let ticket = match steps::join_queue(&sale, &who, patience).await {
        Ok(ticket) => ticket,
        Err(outcome) => {
            journey.outcome = outcome;
            return journey;
        }
    };
    journey.join = Some(ticket.record);
    journey.ticket_id = Some(ticket.id.clone());
    journey.sku = Some(choices.sku.clone());
    let mut shown = ticket.chance_shown;
    Recorder::bump(&recorder.live.joined);
    let leave_at = choices.leaves_after.map(|after| Instant::now() + after);

    let mut waited = None;
    if choices.on_socket {
        journey.waited_on = WaitedOn::Socket;
        waited = wait_on_socket(&sale, &who, &ticket.id, leave_at, &mut shown).await;
    }
    let waited = match waited {
        Some(waited) => waited,
        None => {
            journey.waited_on = WaitedOn::Polling;
            let interval = patience.pause;
            steps::poll_ticket(
                &sale, &who, &ticket.id, interval, patience, leave_at, &mut shown,
            )
            .await
        }
    };
    journey.note_shown(shown);

    let (admission, token) = match waited {
        Waited::Admitted(admission, token) => (admission, token),
        Waited::Abandoned => {
            let _ = sale.api.leave(&who, &sale.event, &ticket.id).await;
            journey.outcome = Outcome::Left;
            return journey;
        }
        Waited::Lost => {
            journey.outcome = Outcome::TicketLost;
            return journey;
        }
        Waited::SoldOut | Waited::Over => {
            let sold_out =
                matches!(waited, Waited::SoldOut) || sale.signal.borrow().sold_out_or_closed();
            match steps::final_look(&sale, &who, &ticket.id).await {
                LastLook::Admitted(admission, token) => (admission, token),
                LastLook::Waiting(at_ms) => {
                    journey.waiting_seen_ms = Some(at_ms);
                    journey.outcome = waiting_outcome(sold_out);
                    return journey;
                }
                LastLook::Unknown => {
                    journey.waiting_seen_ms = Some(ticket.record.sent_ms);
                    journey.outcome = waiting_outcome(sold_out);
                    return journey;
                }
            }
        }
    };
    journey.admission = Some(admission);
    Recorder::bump(&recorder.live.admitted);
    if sale.is_stopping() {
        // The run is over: buying now would race the end of the run and the final stock read.
        journey.outcome = Outcome::AdmittedAtEnd;
        return journey;
    }

    tokio::time::sleep(Duration::from_millis(sale.scenario.shoppers.think_ms)).await;
    let quantity = sale.scenario.shoppers.quantity;
    let bought = steps::buy(
        &sale,
        &who,
        &token,
        &choices.sku,
        quantity,
        choices.pays,
        patience,
    )
    .await;
    journey.outcome = bought.outcome;
    journey.units_reserved = bought.reserved;
    journey.units_paid = bought.paid;
    if bought.outcome == Outcome::Paid {
        Recorder::bump(&recorder.live.paid);
    }
    journey
}

/// How a journey that ended waiting is told apart: the sale was over, or the run stopped.
pub fn waiting_outcome(sold_out: bool) -> Outcome {
    if sold_out {
        Outcome::WaitingAtSoldOut
    } else {
        Outcome::WaitingAtEnd
    }
}

/// Waits for the admission on the ticket's WebSocket, keeping in `shown` the first chance of
/// success a position message gave after the sale opened. `None` means the socket failed and
/// the shopper should poll instead.
async fn wait_on_socket(
    sale: &Sale,
    who: &Identity,
    ticket: &str,
    leave_at: Option<Instant>,
    shown: &mut Option<steps::ShownChance>,
) -> Option<Waited> {
    let recorder = sale.api.recorder();
    let path = format!("/v1/events/{}/tickets/{ticket}/ws", sale.event);
    let mut socket = {
        let _slot = sale.handshakes.acquire().await.ok()?;
        let started = Instant::now();
        let mut source = sale.next_source();
        let mut connected = Err(ConnectError::Failed("not tried".to_owned()));
        for _ in 0..SOCKET_CONNECT_TRIES {
            let connecting = QueueSocket::connect(
                &sale.target,
                source,
                &path,
                &who.token,
                who.forwarded_for.as_deref(),
            );
            // A server too busy to accept must not hold the shopper past the end of the sale.
            connected = tokio::time::timeout(SOCKET_CONNECT_LIMIT, connecting)
                .await
                .unwrap_or_else(|_| Err(ConnectError::Failed("timeout".to_owned())));
            match &connected {
                Err(ConnectError::AddressExhausted(ip)) => {
                    source = sale.sources.next_after_exhausted(*ip);
                }
                _ => break,
            }
        }
        match connected {
            Ok(socket) => {
                recorder.latency(who.actor, Endpoint::WsConnect, started.elapsed());
                recorder.socket_opened();
                socket
            }
            Err(error) => {
                recorder.error(
                    who.actor,
                    Endpoint::WsConnect,
                    error_kind(&error.to_string()),
                );
                return None;
            }
        }
    };
    let mut signal = sale.signal.clone();
    let leave = async {
        match leave_at {
            Some(at) => tokio::time::sleep_until(at.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(leave);
    let waited = loop {
        let message = tokio::select! {
            message = tokio::time::timeout(SOCKET_SILENCE_LIMIT, socket.next_message()) => message,
            () = &mut leave => break Some(Waited::Abandoned),
            _ = signal.wait_for(SaleSignal::over) => break Some(Waited::Over),
        };
        match message {
            Ok(Some(Ok(QueueMessage::Admitted {
                admission_token,
                admission_expires_at,
            }))) => {
                let seen = steps::admission_seen(sale, admission_expires_at.as_deref());
                break Some(Waited::Admitted(seen, admission_token));
            }
            Ok(Some(Ok(QueueMessage::Status { status })))
                if status == "sold_out" || status == "closed" =>
            {
                break Some(Waited::SoldOut);
            }
            Ok(Some(Ok(QueueMessage::Position {
                chance_of_success,
                position,
                ..
            }))) => {
                steps::note_chance(
                    sale,
                    shown,
                    chance_of_success,
                    position,
                    sale.clock.now_ms(),
                );
            }
            Ok(Some(Ok(QueueMessage::Ticket { .. }))) => break Some(Waited::Lost),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(error))) => {
                recorder.error(who.actor, Endpoint::WsConnect, error_kind(&error));
                break None;
            }
            Ok(None) => {
                recorder.error(who.actor, Endpoint::WsConnect, "closed by server");
                break None;
            }
            Err(_) => {
                recorder.error(who.actor, Endpoint::WsConnect, "silent");
                break None;
            }
        }
    };
    recorder.latency(who.actor, Endpoint::WsMessageGap, socket.longest_gap());
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close()).await;
    recorder.socket_closed();
    waited
}

/// The first word of a socket error, for the error table (`connect`, `handshake 401`, …).
fn error_kind(error: &str) -> &str {
    error.split(':').next().unwrap_or(error)
}
