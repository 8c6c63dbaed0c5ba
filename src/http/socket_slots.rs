//! Caps on this instance's open position sockets: per identity (a shopper's few tabs, not a
//! script holding thousands of sockets under one token) and in total (below the process's
//! open-file limit, so a flood of sockets cannot starve HTTP requests of file descriptors).
//!
//! A socket takes a [`SocketSlot`] before it is served and gives it back when dropped. A socket
//! past a cap is still upgraded, then closed at once with a code the page can act on: 1008
//! (policy: too many sockets for this shopper; keep the ones open) or 1013 (try again later:
//! this instance is full; reconnect, perhaps to another instance, or poll).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::Identity;

/// Why a socket was refused, and how it is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotRefusal {
    /// The identity holds `max_sockets_per_identity` sockets already.
    IdentityFull,
    /// The instance holds `max_sockets` sockets already.
    ServerFull,
}

impl SlotRefusal {
    /// The WebSocket close code: 1008 (policy violation) or 1013 (try again later).
    pub fn close_code(self) -> u16 {
        match self {
            Self::IdentityFull => 1008,
            Self::ServerFull => 1013,
        }
    }

    /// The close frame's reason (at most 123 bytes).
    pub fn reason(self) -> &'static str {
        match self {
            Self::IdentityFull => "too many sockets for this shopper",
            Self::ServerFull => "server full: reconnect later or poll",
        }
    }
}

/// Open sockets, in total and per identity.
#[derive(Default)]
struct OpenSockets {
    total: usize,
    per_identity: HashMap<Identity, usize>,
}

/// The socket caps of one instance.
pub struct SocketSlots {
    max_per_identity: usize,
    max_total: usize,
    open: Mutex<OpenSockets>,
}

/// One open socket's place under the caps; given back when dropped.
pub struct SocketSlot {
    slots: Arc<SocketSlots>,
    identity: Identity,
}

impl SocketSlots {
    /// Caps of `max_per_identity` sockets per identity and `max_total` in all.
    pub fn new(max_per_identity: usize, max_total: usize) -> Arc<Self> {
        Arc::new(Self {
            max_per_identity,
            max_total,
            open: Mutex::new(OpenSockets::default()),
        })
    }

    /// A slot for one more socket of `identity`, or why there is none.
    pub fn take(self: &Arc<Self>, identity: &Identity) -> Result<SocketSlot, SlotRefusal> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let held = open.per_identity.get(identity).copied().unwrap_or(0);
        if held >= self.max_per_identity {
            return Err(SlotRefusal::IdentityFull);
        }
        if open.total >= self.max_total {
            return Err(SlotRefusal::ServerFull);
        }
        open.total += 1;
        open.per_identity.insert(identity.clone(), held + 1);
        Ok(SocketSlot {
            slots: self.clone(),
            identity: identity.clone(),
        })
    }

    /// Sockets open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(held) = open.per_identity.get_mut(&self.identity) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                open.per_identity.remove(&self.identity);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_given_back_makes_room_again() {
        let slots = SocketSlots::new(2, 3);
        let alice = Identity::user("alice").unwrap();
        let bob = Identity::user("bob").unwrap();
        let first = slots.take(&alice).unwrap();
        let _second = slots.take(&alice).unwrap();
        assert_eq!(slots.take(&alice).err(), Some(SlotRefusal::IdentityFull));
        let _third = slots.take(&bob).unwrap();
        assert_eq!(slots.take(&bob).err(), Some(SlotRefusal::ServerFull));
        drop(first);
        assert_eq!(slots.open(), 2);
        assert!(slots.take(&alice).is_ok());
    }
}
