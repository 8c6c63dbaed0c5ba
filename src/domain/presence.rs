//! Who holds a waiting shopper's open page: the instance their socket is open on.
//!
//! An instance keeps every shopper it holds seen with one heartbeat per event, so the store's
//! work to keep open pages in place does not grow with the number of sockets (see
//! [`crate::store::QueueStore::presence`]).

use std::fmt;

use uuid::Uuid;

use super::{EventId, Identity, InvalidId};

/// One running instance of the service, as the store knows it: 1 to 32 characters of
/// `A-Za-z0-9_-`. Each process draws a new one when it starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(String);

impl InstanceId {
    /// Parses an instance id.
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        let ok = !text.is_empty()
            && text.len() <= 32
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidId(
                "an instance id is 1 to 32 characters of A-Z, a-z, 0-9, '_' and '-'",
            ))
        }
    }

    /// A new random id: 12 hex digits (48 bits), short because held tickets carry it.
    pub fn random() -> Self {
        let hex = Uuid::new_v4().simple().to_string();
        Self(hex[..12].to_owned())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A drain that admitted shoppers, as the instance that made it tells the others: their sockets
/// learn who was admitted at once instead of at their own next drain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainNotice {
    /// The instance that drained.
    pub instance: InstanceId,
    /// The event it drained.
    pub event: EventId,
}

impl DrainNotice {
    /// The notice as sent: the instance, a space, the event.
    pub fn encode(&self) -> String {
        format!("{} {}", self.instance.as_str(), self.event)
    }

    /// A notice as sent; `None` for anything else on the channel.
    pub fn decode(text: &str) -> Option<Self> {
        let (instance, event) = text.split_once(' ')?;
        Some(Self {
            instance: InstanceId::parse(instance).ok()?,
            event: EventId::parse(event).ok()?,
        })
    }
}

/// What one instance tells the store about one event's open pages since its last report.
///
/// Every report is also the instance's heartbeat: a shopper held by an instance counts as seen
/// at the instance's latest heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceReport {
    /// The reporting instance.
    pub instance: InstanceId,
    /// Shoppers whose page opened here: held by this instance from now on.
    pub opened: Vec<Identity>,
    /// Shoppers whose last page here closed: no longer held, seen now.
    pub closed: Vec<Identity>,
}

impl PresenceReport {
    /// A heartbeat with no change of who is held.
    pub fn beat(instance: InstanceId) -> Self {
        Self {
            instance,
            opened: Vec::new(),
            closed: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn instance_ids_are_short_and_plain() {
        let id = InstanceId::random();
        assert_eq!(id.as_str().len(), 12);
        assert_eq!(InstanceId::parse(id.as_str()).unwrap(), id);
        assert!(InstanceId::parse("").is_err());
        assert!(InstanceId::parse("a:b").is_err());
        assert!(InstanceId::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn a_drain_notice_reads_back_as_sent_and_nothing_else_does() {
        let notice = DrainNotice {
            instance: InstanceId::random(),
            event: EventId::parse("demo-sale").unwrap(),
        };
        assert_eq!(DrainNotice::decode(&notice.encode()), Some(notice));
        assert_eq!(DrainNotice::decode("abc"), None);
        assert_eq!(DrainNotice::decode("a:b demo-sale"), None);
        assert_eq!(DrainNotice::decode("abc Demo/Sale"), None);
    }
}
