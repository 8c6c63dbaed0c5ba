//! Which shoppers of an event have an open page on this instance, and what the store has yet to
//! hear of it.
//!
//! A waiting shopper whose page is gone loses the place after the event's grace period. The store
//! counts a shopper as seen while the instance holding their socket sends heartbeats, so an
//! instance tells it only who opened and who closed (once per socket), not who is still there
//! (see [`crate::store::QueueStore::presence`]). Sockets enter their identity here while they are
//! open; the ticker sends the changes along with its heartbeat.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::domain::Identity;

/// One identity's open sockets here, and whether the store knows this instance holds it.
#[derive(Debug, Default, Clone, Copy)]
struct Entry {
    sockets: u32,
    /// As far as this instance knows, the store has it as the identity's holder.
    held: bool,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<Identity, Entry>,
    /// Identities whose wanted state (held while a socket is open) may differ from `held`.
    dirty: HashSet<Identity>,
    /// Identities with at least one open socket.
    open: usize,
}

/// The changes the store has not heard of: identities to hold and to release.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PresenceChanges {
    /// Opened here and not yet held.
    pub opened: Vec<Identity>,
    /// Held, and no socket open here any more.
    pub closed: Vec<Identity>,
}

impl PresenceChanges {
    /// Whether there is nothing to tell.
    pub fn is_empty(&self) -> bool {
        self.opened.is_empty() && self.closed.is_empty()
    }
}

/// The identities with at least one open socket on this instance, for one event.
#[derive(Debug, Default)]
pub struct Presence {
    state: Mutex<State>,
}

impl Presence {
    /// Records an open socket of `identity` until the returned guard is dropped.
    pub fn enter(self: &Arc<Self>, identity: Identity) -> PresenceGuard {
        let mut state = self.lock();
        let entry = state.entries.entry(identity.clone()).or_default();
        entry.sockets += 1;
        if entry.sockets == 1 {
            state.open += 1;
            state.dirty.insert(identity.clone());
        }
        drop(state);
        PresenceGuard {
            presence: Arc::clone(self),
            identity,
        }
    }

    /// How many identities have an open socket.
    pub fn len(&self) -> usize {
        self.lock().open
    }

    /// Whether no socket is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the store has changes to hear.
    pub fn has_changes(&self) -> bool {
        !self.lock().dirty.is_empty()
    }

    /// Whether a page opened here that the store does not know of yet. (Closed pages can wait
    /// for the next heartbeat: until then the shopper stays held, which errs on their side.)
    pub fn has_opened(&self) -> bool {
        let state = self.lock();
        state.dirty.iter().any(|identity| {
            state
                .entries
                .get(identity)
                .is_some_and(|entry| entry.sockets > 0 && !entry.held)
        })
    }

    /// Takes the changes to report; the caller [`confirm`](Self::confirm)s or
    /// [`restore`](Self::restore)s them once the store answered. Costs the changes, not the
    /// sockets.
    pub fn take_changes(&self) -> PresenceChanges {
        let mut state = self.lock();
        let dirty = std::mem::take(&mut state.dirty);
        let mut changes = PresenceChanges::default();
        for identity in dirty {
            let entry = state.entries.get(&identity).copied().unwrap_or_default();
            match (entry.sockets > 0, entry.held) {
                (true, false) => changes.opened.push(identity),
                (false, true) => changes.closed.push(identity),
                // Opened and closed again before the store heard of it, or nothing changed.
                (false, false) => {
                    state.entries.remove(&identity);
                }
                (true, true) => {}
            }
        }
        changes
    }

    /// The store applied `changes`: the opened are held, the closed released.
    pub fn confirm(&self, changes: PresenceChanges) {
        let mut state = self.lock();
        for identity in changes.opened {
            if let Some(entry) = state.entries.get_mut(&identity) {
                entry.held = true;
            }
        }
        for identity in changes.closed {
            if let Some(entry) = state.entries.get_mut(&identity) {
                entry.held = false;
                if entry.sockets == 0 {
                    state.entries.remove(&identity);
                }
            }
        }
    }

    /// The store did not hear `changes`: they are told again with the next report (as they then
    /// stand: a socket may have opened or closed meanwhile).
    pub fn restore(&self, changes: PresenceChanges) {
        let mut state = self.lock();
        state.dirty.extend(changes.opened);
        state.dirty.extend(changes.closed);
    }

    fn leave(&self, identity: &Identity) {
        let mut state = self.lock();
        let Some(entry) = state.entries.get_mut(identity) else {
            return;
        };
        entry.sockets = entry.sockets.saturating_sub(1);
        if entry.sockets == 0 {
            state.open = state.open.saturating_sub(1);
            state.dirty.insert(identity.clone());
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it: every change is small
        // and a stale `dirty` entry is only told again.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
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

    fn user(name: &str) -> Identity {
        Identity::user(name).unwrap()
    }

    #[test]
    fn an_identity_stays_present_while_any_of_its_sockets_is_open() {
        let presence = Arc::new(Presence::default());
        let first = presence.enter(user("alice"));
        let second = presence.enter(user("alice"));
        drop(first);
        assert_eq!(presence.len(), 1);
        drop(second);
        assert!(presence.is_empty());
    }

    #[test]
    fn an_opened_page_is_told_once_and_its_closing_once() {
        let presence = Arc::new(Presence::default());
        let alice = presence.enter(user("alice"));
        let _again = presence.enter(user("alice"));
        assert!(presence.has_opened());
        let opened = presence.take_changes();
        assert_eq!(opened.opened, vec![user("alice")]);
        presence.confirm(opened);
        assert!(presence.take_changes().is_empty());

        drop(alice);
        assert!(
            !presence.has_changes(),
            "another socket of alice is still open"
        );
        drop(_again);
        assert!(presence.has_changes() && !presence.has_opened());
        let closed = presence.take_changes();
        assert_eq!(closed.closed, vec![user("alice")]);
        presence.confirm(closed);
        assert!(!presence.has_changes());
    }

    #[test]
    fn a_page_open_and_closed_between_two_reports_is_never_told() {
        let presence = Arc::new(Presence::default());
        drop(presence.enter(user("bob")));
        assert!(presence.take_changes().is_empty());
        assert!(!presence.has_changes());
    }

    #[test]
    fn changes_the_store_missed_are_told_again_as_they_then_stand() {
        let presence = Arc::new(Presence::default());
        let alice = presence.enter(user("alice"));
        let _bob = presence.enter(user("bob"));
        let missed = presence.take_changes();
        drop(alice);
        presence.restore(missed);

        let again = presence.take_changes();
        assert_eq!(again.opened, vec![user("bob")]);
        assert!(again.closed.is_empty(), "alice was never held");
    }
}
