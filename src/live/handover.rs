//! What a socket does with its ticket: the few moments it reads it from the store (its score
//! after the draw, the confirmation of an admission another instance made), and the endings a
//! ticket brings: the admission handed over, or the place gone.

use std::ops::ControlFlow;
use std::time::Duration;

use axum::extract::ws::Message;
use futures_util::Sink;
use tokio::time::Instant;

use super::ServerMessage;
use super::socket::{LiveSocket, NORMAL, SERVER_ERROR, SocketEnd};
use crate::clock::to_rfc3339;
use crate::domain::{Admitted, Ticket, TicketStatus};

/// Longest wait between retries of a ticket read that keeps failing.
const LONGEST_READ_RETRY: Duration = Duration::from_secs(30);

impl<W: Sink<Message> + Unpin> LiveSocket<'_, W> {
    /// The first frames: an admission made before the socket opened goes out at once.
    pub(super) async fn open(&mut self, ticket: &Ticket) -> ControlFlow<SocketEnd> {
        match ticket.status {
            TicketStatus::Admitted => self.hand_over_ticket(ticket).await,
            TicketStatus::Expired | TicketStatus::Left => self.place_gone(ticket.status).await,
            TicketStatus::Waiting => ControlFlow::Continue(()),
        }
    }

    /// Reads the ticket: to learn the score after the draw, or to confirm an admission.
    pub(super) async fn read_ticket(
        &mut self,
        now: Instant,
        serving: u64,
    ) -> ControlFlow<SocketEnd> {
        self.read_due = None;
        let read = self
            .live
            .store
            .ticket(&self.event, &self.identity, false)
            .await;
        match read {
            Ok(Some(ticket)) if ticket.ticket_id == self.ticket_id => match ticket.status {
                TicketStatus::Admitted => self.hand_over_ticket(&ticket).await,
                TicketStatus::Expired | TicketStatus::Left => self.place_gone(ticket.status).await,
                TicketStatus::Waiting => {
                    self.score = ticket.score;
                    let settled = ticket.score.is_some_and(|score| score > serving);
                    if settled {
                        self.read_failures = 0;
                    } else {
                        // Not drawn yet, or not admitted yet: the store is a moment behind.
                        self.retry_read_later(now);
                    }
                    ControlFlow::Continue(())
                }
            },
            Ok(_) => self.place_gone(TicketStatus::Expired).await,
            Err(error) => {
                tracing::debug!(event = %self.event, ticket = %self.ticket_id, %error, "ticket read failed");
                self.retry_read_later(now);
                ControlFlow::Continue(())
            }
        }
    }

    pub(super) fn retry_read_later(&mut self, now: Instant) {
        self.read_failures = self.read_failures.saturating_add(1);
        let backoff = self.live.settings.read_retry * 2u32.saturating_pow(self.read_failures - 1);
        self.read_due = Some(now + backoff.min(LONGEST_READ_RETRY));
    }

    /// This socket's share of the spread after the draw: ticket ids are random, so the reads of
    /// all pre-queue sockets spread evenly.
    pub(super) fn draw_read_offset(&self) -> Duration {
        let spread_ms = self.live.settings.draw_read_spread.as_millis().max(1);
        let offset = self.ticket_id.0.as_u128() % spread_ms;
        Duration::from_millis(u64::try_from(offset).unwrap_or(0))
    }

    pub(super) async fn hand_over_ticket(&mut self, ticket: &Ticket) -> ControlFlow<SocketEnd> {
        match (ticket.admitted_at, ticket.admission_expires_at) {
            (Some(admitted_at), Some(expires_at)) => {
                self.hand_over(Admitted {
                    identity: ticket.identity.clone(),
                    ticket_id: ticket.ticket_id,
                    admitted_at,
                    expires_at,
                })
                .await
            }
            _ => {
                tracing::error!(event = %self.event, ticket = %self.ticket_id, "an admitted ticket has no admission times");
                self.close(SERVER_ERROR, "try again").await;
                ControlFlow::Break(SocketEnd::Failed)
            }
        }
    }

    /// Sends the admission and closes: the page moves on to checkout.
    pub(super) async fn hand_over(&mut self, admission: Admitted) -> ControlFlow<SocketEnd> {
        match self.live.issuer.issue(&self.event, &admission) {
            Ok(admission_token) => {
                self.send(ServerMessage::Admitted {
                    admission_token,
                    admission_expires_at: to_rfc3339(admission.expires_at),
                })
                .await?;
                metrics::counter!("waitroom_ws_admissions_pushed_total").increment(1);
                self.live
                    .told_on_socket
                    .pushed(&self.event, &admission.identity);
                self.close(NORMAL, "admitted").await;
                ControlFlow::Break(SocketEnd::Admitted)
            }
            Err(error) => {
                tracing::error!(event = %self.event, ticket = %self.ticket_id, %error, "cannot sign an admission");
                self.close(SERVER_ERROR, "try again").await;
                ControlFlow::Break(SocketEnd::Failed)
            }
        }
    }

    pub(super) async fn place_gone(&mut self, status: TicketStatus) -> ControlFlow<SocketEnd> {
        self.send(ServerMessage::Ticket { status }).await?;
        self.close(NORMAL, "place gone").await;
        ControlFlow::Break(SocketEnd::PlaceGone)
    }
}
