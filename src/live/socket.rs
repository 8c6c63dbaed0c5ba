//! One open queue page: what to tell it, and when.

use std::ops::ControlFlow;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};

use super::{ClientMessage, LiveContext, ServerMessage};
use crate::clock::UnixMillis;
use crate::domain::{Admitted, EventId, EventStatus, Identity, Ticket, TicketId};
use crate::live::{OutflowSnapshot, Subscription};

/// Close code: normal end (admitted, place gone, event closed).
pub(super) const NORMAL: u16 = 1000;
/// Close code: the server is going away; reconnect (to another instance).
const GOING_AWAY: u16 = 1001;
/// Close code: the server failed; reconnect or poll.
pub(super) const SERVER_ERROR: u16 = 1011;

/// Why a socket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketEnd {
    /// The admission was handed over.
    Admitted,
    /// The ticket expired, was left, or was replaced.
    PlaceGone,
    /// The event closed (or was removed).
    EventClosed,
    /// The instance is shutting down: the client was told to reconnect.
    ShuttingDown,
    /// The client closed the socket or the connection broke.
    ClientLeft,
    /// The client did not take a frame within the send timeout.
    TooSlow,
    /// The admission could not be signed.
    Failed,
}

/// Runs one socket until it ends: `sink` carries frames to the client, `stream` brings its frames.
///
/// `ticket` is the owner's ticket as read when the socket opened; `subscription` is its event's
/// feed. While the socket is open the shopper counts as seen.
pub async fn run_socket<W, R, E>(
    sink: W,
    mut stream: R,
    event: EventId,
    ticket: Ticket,
    mut subscription: Subscription,
    live: &LiveContext,
) -> SocketEnd
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let _present = subscription.enter(ticket.identity.clone());
    let _open = crate::telemetry::metrics::OpenSocket::open();
    let now = Instant::now();
    let mut socket = LiveSocket {
        sink,
        live,
        event,
        identity: ticket.identity.clone(),
        ticket_id: ticket.ticket_id,
        score: ticket.score,
        joined_at: ticket.joined_at,
        status_told: None,
        position_told: None,
        position_held_back: false,
        last_sent: now,
        last_position_at: None,
        last_look: now,
        read_due: None,
        read_failures: 0,
    };
    if let ControlFlow::Break(end) = socket.open(&ticket).await {
        return end;
    }
    // The feed may have published before this socket subscribed: tell what is known at once.
    if let ControlFlow::Break(end) = socket.step(&mut subscription.snapshots).await {
        return end;
    }
    loop {
        if *subscription.stopping.borrow() {
            return socket.going_away().await;
        }
        let watching = socket.watches(&subscription.snapshots.borrow());
        let wake = socket.next_wake(watching);
        let flow = tokio::select! {
            biased;
            stopping = subscription.stopping.changed() => match stopping {
                Ok(()) => ControlFlow::Continue(()),
                // The registry itself is gone: nothing will feed this socket again.
                Err(_) => ControlFlow::Break(socket.going_away().await),
            },
            changed = subscription.snapshots.changed(), if watching => match changed {
                Ok(()) => ControlFlow::Continue(()),
                // A ticker stopped by the instance's shutdown ends its feed too, and this socket
                // may hear of that first: it is going away, not an event that closed.
                Err(_) if *subscription.stopping.borrow() => {
                    ControlFlow::Break(socket.going_away().await)
                }
                Err(_) => ControlFlow::Break(socket.feed_closed(&subscription.snapshots).await),
            },
            frame = stream.next() => socket.answer(frame).await,
            () = sleep_until(wake) => ControlFlow::Continue(()),
        };
        if let ControlFlow::Break(end) = flow {
            return end;
        }
        if *subscription.stopping.borrow() {
            continue;
        }
        if let ControlFlow::Break(end) = socket.step(&mut subscription.snapshots).await {
            return end;
        }
    }
}

/// What a socket needs of a snapshot, copied out so no lock is held while it sends.
struct View {
    tick: u64,
    /// The ticket's broadcast position (see [`OutflowSnapshot::position_of`]).
    position: Option<u64>,
    serving: u64,
    status: Option<EventStatus>,
    drawn: bool,
    admission: Option<Admitted>,
    eta: Option<u64>,
    chance: Option<f64>,
}

/// One socket's state between wake-ups.
pub(super) struct LiveSocket<'a, W> {
    pub(super) sink: W,
    pub(super) live: &'a LiveContext,
    pub(super) event: EventId,
    pub(super) identity: Identity,
    pub(super) ticket_id: TicketId,
    /// The ticket's place in the queue order; `None` in the pre-queue before the draw.
    pub(super) score: Option<u64>,
    /// When the ticket joined (an arrival window holds those who joined while it is open).
    pub(super) joined_at: UnixMillis,
    pub(super) status_told: Option<EventStatus>,
    pub(super) position_told: Option<(Option<u64>, u64)>,
    /// A changed position waits for the position interval to pass.
    pub(super) position_held_back: bool,
    pub(super) last_sent: Instant,
    pub(super) last_position_at: Option<Instant>,
    /// When the socket last looked at the snapshot.
    pub(super) last_look: Instant,
    /// A ticket read is wanted at this time.
    pub(super) read_due: Option<Instant>,
    pub(super) read_failures: u32,
}

impl<W: Sink<Message> + Unpin> LiveSocket<'_, W> {
    /// Whether the socket wakes at every published drain. A shopper further back than the
    /// outflow can reach in two looks only looks now and then (see [`Self::look_every`]).
    fn watches(&self, snapshot: &OutflowSnapshot) -> bool {
        let Some(score) = self.score else {
            return true;
        };
        let horizon = 2.0 * self.look_every().as_secs_f64();
        snapshot.tick == 0 || snapshot.position_of(score) <= snapshot.reachable_within(horizon)
    }

    /// How often a socket that does not watch every drain looks at the snapshot: once per
    /// keepalive, so that in a still queue each look sends the position it owes and nothing
    /// else wakes the socket (one wake and one frame per socket per keepalive), but never more
    /// often than positions may go out.
    fn look_every(&self) -> Duration {
        let settings = &self.live.settings;
        settings.keepalive.max(settings.position_interval)
    }

    /// When the client last heard its position (or, before any, when the socket last sent).
    fn last_position(&self) -> Instant {
        self.last_position_at.unwrap_or(self.last_sent)
    }

    fn next_wake(&self, watching: bool) -> Instant {
        let settings = &self.live.settings;
        let mut wake = self.last_position() + settings.keepalive;
        if let Some(due) = self.read_due {
            wake = wake.min(due);
        }
        if let (true, Some(at)) = (self.position_held_back, self.last_position_at) {
            wake = wake.min(at + settings.position_interval);
        }
        if !watching {
            wake = wake.min(self.last_look + self.look_every());
        }
        wake
    }

    /// Looks at the latest snapshot and tells the client what changed.
    async fn step(
        &mut self,
        snapshots: &mut watch::Receiver<OutflowSnapshot>,
    ) -> ControlFlow<SocketEnd> {
        let now = Instant::now();
        self.last_look = now;
        let view = self.view(&snapshots.borrow_and_update());
        if view.tick == 0 {
            return self.keep_alive_without_snapshot(now).await;
        }
        if view.status.is_some() && view.status != self.status_told {
            self.status_told = view.status;
            if let Some(status) = view.status {
                self.send(ServerMessage::Status { status }).await?;
                if status == EventStatus::Closed {
                    self.close(NORMAL, "event closed").await;
                    return ControlFlow::Break(SocketEnd::EventClosed);
                }
            }
        }
        let reached = self.score.is_some_and(|score| score <= view.serving);
        if reached {
            if let Some(admission) = view.admission {
                return self.hand_over(admission).await;
            }
            self.read_due.get_or_insert(now);
        } else if self.score.is_none() && view.drawn && self.read_due.is_none() {
            self.read_due = Some(now + self.draw_read_offset());
        }
        if self.read_due.is_some_and(|due| due <= now) {
            self.read_ticket(now, view.serving).await?;
        }
        self.tell_position(now, &view).await
    }

    fn view(&self, snapshot: &OutflowSnapshot) -> View {
        let position = self.score.map(|score| snapshot.position_of(score));
        View {
            tick: snapshot.tick,
            position,
            serving: snapshot.serving,
            status: snapshot.status,
            drawn: snapshot.drawn,
            admission: snapshot.admission_of(self.ticket_id).cloned(),
            eta: position.and_then(|p| snapshot.eta_seconds(p)),
            chance: if snapshot.config.as_ref().is_some_and(|config| {
                config.held_in_window(self.joined_at, self.live.clock.now_ms())
            }) {
                // Held in an open arrival window: the place is drawn when it closes.
                None
            } else {
                snapshot.chance_of_success(position)
            },
        }
    }

    /// Sends the position when it changed (at most once per interval) or the client has not
    /// heard it for the keepalive (other frames, a pong or a status, do not count).
    async fn tell_position(&mut self, now: Instant, view: &View) -> ControlFlow<SocketEnd> {
        let settings = &self.live.settings;
        let position = match self.score {
            // Reached but not confirmed yet: the admission is the next thing to say.
            Some(score) if score <= view.serving => Some(1),
            Some(_) => view.position,
            None => None,
        };
        let told = (position, view.serving);
        let changed = self.position_told != Some(told);
        let interval_passed = self
            .last_position_at
            .is_none_or(|at| now >= at + settings.position_interval);
        let silent_too_long = now >= self.last_position() + settings.keepalive;
        self.position_held_back = changed && !interval_passed;
        if (changed && interval_passed) || silent_too_long {
            self.record_gap(now);
            self.send(ServerMessage::Position {
                position,
                eta_seconds: view.eta,
                serving: view.serving,
                chance_of_success: view.chance,
            })
            .await?;
            self.position_told = Some(told);
            self.last_position_at = Some(now);
        }
        ControlFlow::Continue(())
    }

    /// Before the first drain is published (the store may be down): the ticket as it was read.
    async fn keep_alive_without_snapshot(&mut self, now: Instant) -> ControlFlow<SocketEnd> {
        if now < self.last_position() + self.live.settings.keepalive {
            return ControlFlow::Continue(());
        }
        let serving = self.position_told.map_or(0, |(_, serving)| serving);
        let position = self.score.map(|score| score.saturating_sub(serving).max(1));
        self.record_gap(now);
        self.send(ServerMessage::Position {
            position,
            eta_seconds: None,
            serving,
            chance_of_success: None,
        })
        .await?;
        self.last_position_at = Some(now);
        ControlFlow::Continue(())
    }

    /// Counts the time since the previous position frame: how late this instance keeps its
    /// promise of a position every keepalive, seen from the server (the first frame has none).
    fn record_gap(&self, now: Instant) {
        if let Some(at) = self.last_position_at {
            crate::telemetry::metrics::ws_position_gap(now.saturating_duration_since(at));
        }
    }

    /// The instance shuts down: the page is told to reconnect elsewhere.
    async fn going_away(&mut self) -> SocketEnd {
        self.close(GOING_AWAY, "server restarting").await;
        SocketEnd::ShuttingDown
    }

    /// The event's ticker stopped: the event closed, or went away.
    async fn feed_closed(&mut self, snapshots: &watch::Receiver<OutflowSnapshot>) -> SocketEnd {
        let status = snapshots.borrow().status;
        if status == Some(EventStatus::Closed) && self.status_told != status {
            let _ = self
                .send(ServerMessage::Status {
                    status: EventStatus::Closed,
                })
                .await;
        }
        self.close(NORMAL, "event closed").await;
        SocketEnd::EventClosed
    }

    /// Handles one frame from the client.
    async fn answer<E>(&mut self, frame: Option<Result<Message, E>>) -> ControlFlow<SocketEnd> {
        match frame {
            Some(Ok(Message::Text(text))) => {
                crate::telemetry::metrics::ws_received();
                if ClientMessage::parse(text.as_str()) == Some(ClientMessage::Ping) {
                    self.send(ServerMessage::Pong).await?;
                }
                ControlFlow::Continue(())
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                ControlFlow::Break(SocketEnd::ClientLeft)
            }
            // Protocol pings are answered by the WebSocket layer; binary frames mean nothing here.
            Some(Ok(_)) => ControlFlow::Continue(()),
        }
    }

    /// Sends a frame; a client that does not take it within the send timeout is dropped.
    pub(super) async fn send(&mut self, message: ServerMessage) -> ControlFlow<SocketEnd> {
        crate::telemetry::metrics::ws_sent(match &message {
            ServerMessage::Position { .. } => "position",
            ServerMessage::Admitted { .. } => "admitted",
            ServerMessage::Status { .. } => "status",
            ServerMessage::Ticket { .. } => "ticket",
            ServerMessage::Pong => "pong",
        });
        let frame = Message::text(message.to_json());
        match timeout(self.live.settings.send_timeout, self.sink.send(frame)).await {
            Ok(Ok(())) => {
                self.last_sent = Instant::now();
                ControlFlow::Continue(())
            }
            Ok(Err(_)) => ControlFlow::Break(SocketEnd::ClientLeft),
            Err(_) => ControlFlow::Break(SocketEnd::TooSlow),
        }
    }

    pub(super) async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = timeout(self.live.settings.send_timeout, self.sink.send(frame)).await;
    }
}
