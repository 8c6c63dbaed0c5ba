//! What happened to one identity in the queue: the record every report figure is computed from.

use serde::Serialize;

use crate::recorder::Actor;

/// How an identity waited for its admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitedOn {
    /// Never waited (did not join).
    Nothing,
    /// A WebSocket carried the admission.
    Socket,
    /// Polling the ticket found the admission (by choice, or after the socket failed).
    Polling,
}

/// How a journey ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Reserved and paid.
    Paid,
    /// Reserved and walked away without paying (the stock returns later).
    ReservedUnpaid,
    /// Admitted, but the stock was gone at checkout.
    SoldOutAtCheckout,
    /// Admitted, but checkout refused the admission (`not_admitted`, `admission_used`, …).
    CheckoutRefused,
    /// Left the queue before being admitted.
    Left,
    /// Lost the ticket while waiting (expired or removed by the server).
    TicketLost,
    /// Still waiting when the event sold out or closed.
    WaitingAtSoldOut,
    /// Still waiting when the run stopped.
    WaitingAtEnd,
    /// Admitted as the run stopped: seen, but not bought (the run is over).
    AdmittedAtEnd,
    /// The join was refused (sold out, closed, not started, …).
    JoinRefused,
    /// No join got through (errors or rate limits until the end).
    NeverJoined,
    /// A request kept failing.
    Failed,
}

impl Outcome {
    /// The outcome's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::ReservedUnpaid => "reserved, unpaid",
            Self::SoldOutAtCheckout => "sold out at checkout",
            Self::CheckoutRefused => "checkout refused",
            Self::Left => "left the queue",
            Self::TicketLost => "ticket lost",
            Self::WaitingAtSoldOut => "waiting at sold out",
            Self::WaitingAtEnd => "waiting at the end",
            Self::AdmittedAtEnd => "admitted as the run stopped",
            Self::JoinRefused => "join refused",
            Self::NeverJoined => "never joined",
            Self::Failed => "failed",
        }
    }
}

/// The join that got the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct JoinRecord {
    /// When the successful join request was sent (Unix ms).
    pub sent_ms: i64,
    /// When its answer arrived (Unix ms).
    pub done_ms: i64,
    /// Whether the ticket went into the pre-queue (its position was `null`).
    pub prequeue: bool,
}

/// The admission as the identity saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AdmissionRecord {
    /// When the identity learnt of it (Unix ms).
    pub seen_ms: i64,
    /// When the server admitted it: `admission_expires_at` less the admission TTL, when sent.
    pub server_ms: Option<i64>,
}

impl AdmissionRecord {
    /// The best-known admission time: the server's, else the moment it was seen.
    pub fn at_ms(&self) -> i64 {
        self.server_ms.unwrap_or(self.seen_ms)
    }
}

/// One identity's journey through the sale.
#[derive(Debug, Clone, Serialize)]
pub struct Journey {
    /// Shopper or bot.
    #[serde(serialize_with = "actor_name")]
    pub actor: Actor,
    /// The user id.
    pub user_id: String,
    /// The successful join, if any.
    pub join: Option<JoinRecord>,
    /// The ticket that join got: with the draw's public record, it gives the identity's place in
    /// the draw.
    pub ticket_id: Option<String>,
    /// The admission, if any.
    pub admission: Option<AdmissionRecord>,
    /// For a journey that ended waiting: the last moment it was known not to be admitted yet.
    pub waiting_seen_ms: Option<i64>,
    /// How it waited.
    pub waited_on: WaitedOn,
    /// How it ended.
    pub outcome: Outcome,
    /// The chance of success the server first showed after the sale opened (0 to 1), from the
    /// join's answer, a position message or a ticket read, whichever came first.
    pub chance_shown: Option<f64>,
    /// The place shown with that chance, when there was one.
    pub chance_position: Option<u64>,
    /// When that chance was shown (Unix ms).
    pub chance_shown_ms: Option<i64>,
    /// The SKU the shopper wanted (`None` for bots and journeys that never joined).
    pub sku: Option<String>,
    /// Units reserved at checkout.
    pub units_reserved: u64,
    /// Units paid for.
    pub units_paid: u64,
    /// When the journey ended (Unix ms).
    pub ended_ms: i64,
}

impl Journey {
    /// A journey that has not started yet.
    pub fn new(actor: Actor, user_id: String) -> Self {
        Self {
            actor,
            user_id,
            join: None,
            ticket_id: None,
            admission: None,
            waiting_seen_ms: None,
            waited_on: WaitedOn::Nothing,
            outcome: Outcome::NeverJoined,
            chance_shown: None,
            chance_position: None,
            chance_shown_ms: None,
            sku: None,
            units_reserved: 0,
            units_paid: 0,
            ended_ms: 0,
        }
    }

    /// Keeps the first chance of success shown after the sale opened.
    pub fn note_shown(&mut self, shown: Option<crate::steps::ShownChance>) {
        if let Some(shown) = shown {
            self.chance_shown = Some(shown.chance);
            self.chance_position = shown.position;
            self.chance_shown_ms = Some(shown.at_ms);
        }
    }

    /// Whether a bot made this journey.
    pub fn is_bot(&self) -> bool {
        self.actor == Actor::Bot
    }
}

fn actor_name<S: serde::Serializer>(actor: &Actor, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(match actor {
        Actor::Shopper => "shopper",
        Actor::Bot => "bot",
    })
}
