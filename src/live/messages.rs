//! The JSON text frames of the position socket (`GET …/tickets/{ticket}/ws`).

use serde::{Deserialize, Serialize};

use crate::domain::{EventStatus, TicketStatus};

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schema(as = SocketServerFrame)]
pub enum ServerMessage {
    /// Where the shopper stands. `position` and `eta_seconds` are `null` in the pre-queue before
    /// the draw (nobody has a place yet) and `eta_seconds` is `null` when nothing moves the queue.
    /// `chance_of_success` (0 to 1) is how likely the shopper is to find something left to buy
    /// at their turn, `null` while unknown (before the draw).
    Position {
        position: Option<u64>,
        eta_seconds: Option<u64>,
        serving: u64,
        #[schema(minimum = 0.0, maximum = 1.0)]
        chance_of_success: Option<f64>,
    },
    /// Let through: the token to present at checkout, valid until `admission_expires_at`.
    Admitted {
        admission_token: String,
        #[schema(format = DateTime)]
        admission_expires_at: String,
    },
    /// The event's status changed (`paused`, `open`, `sold_out`, `closed`, …).
    Status { status: EventStatus },
    /// The place is gone (`expired`: the page was away too long; `left`): the socket closes.
    Ticket { status: TicketStatus },
    /// The answer to a client's `ping`.
    Pong,
}

impl ServerMessage {
    /// The frame's text.
    pub fn to_json(&self) -> String {
        // Serialising these plain enums cannot fail; an empty frame would be harmless anyway.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A frame a client may send.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schema(as = SocketClientFrame)]
pub enum ClientMessage {
    /// Asks for a `pong` (keeps proxies from closing an idle connection).
    Ping,
}

impl ClientMessage {
    /// Reads a client frame; anything unknown is `None` and ignored.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_published_shape() {
        let position = ServerMessage::Position {
            position: Some(12),
            eta_seconds: Some(3),
            serving: 40,
            chance_of_success: Some(0.7),
        };
        assert_eq!(
            position.to_json(),
            r#"{"type":"position","position":12,"eta_seconds":3,"serving":40,"chance_of_success":0.7}"#
        );
        let unknown = ServerMessage::Position {
            position: None,
            eta_seconds: None,
            serving: 0,
            chance_of_success: None,
        };
        assert_eq!(
            unknown.to_json(),
            r#"{"type":"position","position":null,"eta_seconds":null,"serving":0,"chance_of_success":null}"#
        );
        let status = ServerMessage::Status {
            status: EventStatus::Paused,
        };
        assert_eq!(status.to_json(), r#"{"type":"status","status":"paused"}"#);
        assert_eq!(ServerMessage::Pong.to_json(), r#"{"type":"pong"}"#);
    }

    #[test]
    fn a_ping_is_understood_and_anything_else_ignored() {
        assert_eq!(
            ClientMessage::parse(r#"{"type":"ping"}"#),
            Some(ClientMessage::Ping)
        );
        assert_eq!(ClientMessage::parse(r#"{"type":"dance"}"#), None);
        assert_eq!(ClientMessage::parse("not json"), None);
    }
}
