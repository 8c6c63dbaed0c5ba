//! Source addresses for many sockets. One address has about 28,000 ephemeral ports; the whole
//! 127.0.0.0/8 is loopback on Linux, so binding each client socket to 127.0.0.N before connecting
//! gives every further N another 28,000.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};

/// Hands out source addresses: `per_address` sockets on 127.0.0.1, then 127.0.0.2, and so on.
#[derive(Debug)]
pub struct SourceAddresses {
    per_address: u32,
    handed_out: AtomicU32,
    /// False when the server is not on IPv4 loopback: then sockets are left to the kernel.
    spread: bool,
}

impl SourceAddresses {
    /// Spreads sockets over loopback when the server itself is on an IPv4 loopback address.
    pub fn new(per_address: u32, server_is_ipv4_loopback: bool) -> Self {
        Self {
            per_address: per_address.max(1),
            handed_out: AtomicU32::new(0),
            spread: server_is_ipv4_loopback,
        }
    }

    /// The address the next socket binds to, or `None` to let the kernel choose.
    pub fn next(&self) -> Option<Ipv4Addr> {
        if !self.spread {
            return None;
        }
        let index = self.handed_out.fetch_add(1, Ordering::Relaxed);
        Some(nth_loopback(index / self.per_address))
    }

    /// Gives up on `exhausted` (its ephemeral ports ran out before `per_address` sockets, as
    /// when other programs hold some) and hands out an address of the next block.
    pub fn next_after_exhausted(&self, exhausted: Ipv4Addr) -> Option<Ipv4Addr> {
        if !self.spread {
            return None;
        }
        let per_address = self.per_address;
        // Only the first socket to find the address full moves everyone on; it fails to update
        // (and changes nothing) when the counter has already left that address.
        let _ = self
            .handed_out
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |index| {
                let block = index / per_address;
                (nth_loopback(block) == exhausted).then(|| (block + 1) * per_address)
            });
        self.next()
    }
}

/// The n-th usable loopback address from 127.0.0.1 on, skipping host parts ending in .0 and .255
/// (not wrong on loopback, but confusing in a packet capture).
pub fn nth_loopback(n: u32) -> Ipv4Addr {
    let usable_per_block = 254;
    let block = n / usable_per_block;
    let last = n % usable_per_block + 1;
    let [_, _, high, mid] = block.to_be_bytes();
    Ipv4Addr::new(127, high, mid, u8::try_from(last).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_address_is_the_usual_loopback() {
        assert_eq!(nth_loopback(0), Ipv4Addr::new(127, 0, 0, 1));
    }

    #[test]
    fn addresses_skip_the_zero_and_broadcast_host_parts() {
        assert_eq!(nth_loopback(253), Ipv4Addr::new(127, 0, 0, 254));
        assert_eq!(nth_loopback(254), Ipv4Addr::new(127, 0, 1, 1));
    }

    #[test]
    fn sockets_move_to_the_next_address_when_one_is_full() {
        let addresses = SourceAddresses::new(2, true);
        let handed: Vec<_> = (0..5).filter_map(|_| addresses.next()).collect();
        assert_eq!(handed[1], Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(handed[2], Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(handed[4], Ipv4Addr::new(127, 0, 0, 3));
    }

    #[test]
    fn an_exhausted_address_moves_every_later_socket_to_the_next_one() {
        let addresses = SourceAddresses::new(100, true);
        let first = addresses.next().unwrap();
        assert_eq!(
            addresses.next_after_exhausted(first),
            Some(Ipv4Addr::new(127, 0, 0, 2))
        );
        assert_eq!(addresses.next(), Some(Ipv4Addr::new(127, 0, 0, 2)));
        // A second socket that found 127.0.0.1 full does not skip 127.0.0.2 as well.
        assert_eq!(
            addresses.next_after_exhausted(first),
            Some(Ipv4Addr::new(127, 0, 0, 2))
        );
    }

    #[test]
    fn a_remote_server_gets_kernel_chosen_addresses() {
        assert_eq!(SourceAddresses::new(2, false).next(), None);
    }
}
