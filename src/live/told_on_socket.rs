//! Which admissions this instance pushed on a socket: when that shopper reaches the checkout,
//! their time from admission counts for the socket's channel, every other one for polling (see
//! [`crate::queue::checkout_lag`]). A shopper whose socket was held by another instance counts
//! as polling here; each instance measures the shoppers it serves.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::{EventId, Identity};
use crate::queue::checkout_lag::Channel;

/// Past this many (and past twice what the last pruning kept), pushes older than
/// [`FORGOTTEN_AFTER`] are dropped: their shoppers have bought, or their admissions have run out.
/// Doubling keeps pruning to once per doubling when most entries are fresh, not once per push.
const PRUNE_ABOVE: usize = 50_000;
const FORGOTTEN_AFTER: Duration = Duration::from_secs(15 * 60);

/// Admissions pushed on a socket here and not yet taken to the checkout.
#[derive(Debug, Default)]
pub struct ToldOnSocket {
    pushed: Mutex<Pushed>,
}

#[derive(Debug, Default)]
struct Pushed {
    at: HashMap<(EventId, Identity), Instant>,
    kept_at_last_prune: usize,
}

impl ToldOnSocket {
    /// The admission of `identity` in `event` went out on a socket.
    pub fn pushed(&self, event: &EventId, identity: &Identity) {
        let Ok(mut pushed) = self.pushed.lock() else {
            return;
        };
        let now = Instant::now();
        if pushed.at.len() >= PRUNE_ABOVE.max(2 * pushed.kept_at_last_prune) {
            pushed
                .at
                .retain(|_, at| now.saturating_duration_since(*at) < FORGOTTEN_AFTER);
            pushed.kept_at_last_prune = pushed.at.len();
        }
        pushed.at.insert((event.clone(), identity.clone()), now);
    }

    /// How `identity` heard of their admission in `event`; asked once, at the checkout.
    pub fn channel(&self, event: &EventId, identity: &Identity) -> Channel {
        let key = (event.clone(), identity.clone());
        let pushed = self
            .pushed
            .lock()
            .is_ok_and(|mut pushed| pushed.at.remove(&key).is_some());
        if pushed {
            Channel::Socket
        } else {
            Channel::Polling
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pushed_admission_is_a_socket_once_and_anything_else_polling() {
        let told = ToldOnSocket::default();
        let event = EventId::parse("sale").unwrap_or_else(|_| unreachable!());
        let other = EventId::parse("other").unwrap_or_else(|_| unreachable!());
        let ana = Identity::user("ana").unwrap_or_else(|_| unreachable!());
        told.pushed(&event, &ana);
        assert_eq!(told.channel(&other, &ana), Channel::Polling);
        assert_eq!(told.channel(&event, &ana), Channel::Socket);
        // A retry at the checkout is not a second socket shopper.
        assert_eq!(told.channel(&event, &ana), Channel::Polling);
    }
}
