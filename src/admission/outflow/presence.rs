//! Which shoppers of an event have an open page on this instance.
//!
//! A waiting shopper whose page is gone loses the place after the event's grace period. Sockets
//! enter their identity here while they are open; the ticker touches all of them in one store call
//! every few seconds, so a shopper with an open page never loses the place and the store sees one
//! call per event per instance, not one per socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::domain::Identity;

/// The identities with at least one open socket on this instance, for one event.
#[derive(Debug, Default)]
pub struct Presence {
    /// Open sockets per identity: a shopper may have the page open twice.
    connected: Mutex<HashMap<Identity, u32>>,
}

impl Presence {
    /// Records an open socket of `identity` until the returned guard is dropped.
    pub fn enter(self: &Arc<Self>, identity: Identity) -> PresenceGuard {
        *self.lock().entry(identity.clone()).or_insert(0) += 1;
        PresenceGuard {
            presence: Arc::clone(self),
            identity,
        }
    }

    /// Every identity with an open socket now.
    pub fn identities(&self) -> Vec<Identity> {
        self.lock().keys().cloned().collect()
    }

    /// How many identities have an open socket.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no socket is open.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn leave(&self, identity: &Identity) {
        let mut connected = self.lock();
        if let Some(count) = connected.get_mut(identity) {
            *count -= 1;
            if *count == 0 {
                connected.remove(identity);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Identity, u32>> {
        // The map stays consistent whatever panicked while holding it: every change is one step.
        self.connected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// An open socket's place in [`Presence`]; dropping it (the socket closed) leaves.
#[derive(Debug)]
pub struct PresenceGuard {
    presence: Arc<Presence>,
    identity: Identity,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        self.presence.leave(&self.identity);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_identity_stays_present_while_any_of_its_sockets_is_open() {
        let presence = Arc::new(Presence::default());
        let alice = Identity::user("alice").unwrap();
        let first = presence.enter(alice.clone());
        let second = presence.enter(alice.clone());
        drop(first);
        assert_eq!(presence.identities(), vec![alice]);
        drop(second);
        assert!(presence.is_empty());
    }
}
