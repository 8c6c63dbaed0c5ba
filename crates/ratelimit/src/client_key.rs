//! A client key (`ip:203.0.113.7`, `user:42`, `key:…`) built without allocating.
//!
//! Every decision builds one, so it is written straight into a buffer on the stack: an IPv4
//! address as decimal digits by hand (`Display` for addresses goes through the formatting
//! machinery, which cost more than the rest of an in-process decision), anything else through
//! `fmt::Write` into the same buffer. Keys longer than the buffer (long user ids) go to the heap.

use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Deref;

/// Room for the longest IP key (`ip:` + a full IPv6 address + `/128`) and API-key keys.
const INLINE: usize = 46;

/// A client key; reads as a `&str`. Up to `N` bytes (below 256) are kept inline: the limiter's
/// keys on the stack, and a smaller `N` for the keys the in-process store keeps in its map,
/// where an inline key compares bytes already in the entry's cache line.
#[derive(Clone)]
pub struct ClientKey<const N: usize = INLINE>(Repr<N>);

#[derive(Clone)]
enum Repr<const N: usize> {
    Inline { len: u8, bytes: [u8; N] },
    Heap(Box<str>),
}

impl<const N: usize> ClientKey<N> {
    const fn empty() -> Self {
        ClientKey(Repr::Inline {
            len: 0,
            bytes: [0; N],
        })
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only ever written from `&str`s, so the bytes are UTF-8.
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Repr::Heap(text) => text,
        }
    }

    /// The key's bytes, without the UTF-8 check [`ClientKey::as_str`] makes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Heap(text) => text.as_bytes(),
        }
    }

    /// Whether this is an address's key (`ip:…`), read from the bytes without [`ClientKey::as_str`]'s
    /// UTF-8 check.
    pub fn is_address(&self) -> bool {
        self.as_bytes().starts_with(b"ip:")
    }

    fn push_str(&mut self, text: &str) {
        self.push(text.as_bytes());
    }

    /// Appends UTF-8 bytes (every caller passes a `&str`'s bytes or ASCII digits).
    fn push(&mut self, text: &[u8]) {
        match &mut self.0 {
            Repr::Inline { len, bytes } => {
                let at = usize::from(*len);
                match bytes.get_mut(at..at + text.len()) {
                    Some(slot) => {
                        slot.copy_from_slice(text);
                        // Fits in N (< 256) since the slot existed.
                        *len = u8::try_from(at + text.len()).unwrap_or(u8::MAX);
                    }
                    None => {
                        let mut long = Vec::with_capacity(at + text.len());
                        long.extend_from_slice(&bytes[..at]);
                        long.extend_from_slice(text);
                        let long = String::from_utf8(long).unwrap_or_default();
                        self.0 = Repr::Heap(long.into_boxed_str());
                    }
                }
            }
            Repr::Heap(heap) => {
                let mut long = String::from(std::mem::take(heap));
                long.push_str(std::str::from_utf8(text).unwrap_or_default());
                *heap = long.into_boxed_str();
            }
        }
    }

    /// `prefix` followed by `rest`, with room for `N` bytes inline.
    fn concat(prefix: &str, rest: &str) -> Self {
        let mut key = Self::empty();
        key.push_str(prefix);
        key.push_str(rest);
        key
    }
}

/// The limiter's own keys, built on the stack.
impl ClientKey {
    /// `prefix` followed by `rest`.
    pub fn joined(prefix: &str, rest: &str) -> Self {
        Self::concat(prefix, rest)
    }

    /// `ip:` and the address (a network with `/prefix` when `prefix` is below the address's
    /// length), as `ipnet` writes them. `ip` must already be truncated to `prefix`.
    pub fn ip(ip: IpAddr, prefix: Option<u8>) -> Self {
        let mut key = match ip {
            IpAddr::V4(v4) => Self::ipv4(v4),
            // IPv6 is rarer and its shortest form has rules of its own: the standard formatter,
            // into the buffer all the same.
            IpAddr::V6(v6) => {
                let mut key = Self::empty();
                let _ = write!(key, "ip:{v6}");
                key
            }
        };
        if let Some(prefix) = prefix {
            key.push_str("/");
            push_decimal(&mut key, prefix);
        }
        key
    }

    /// `ip:` and the dotted quad, each octet copied from [`OCTETS`] as four bytes at once (its
    /// digits and a dot; the length advances by its digits and the dot). Writing the digits one
    /// by one took a branch per digit, and copying a slice of run-time length calls `memcpy`;
    /// both cost more than this.
    fn ipv4(ip: Ipv4Addr) -> Self {
        let mut bytes = [0_u8; INLINE];
        bytes[..3].copy_from_slice(b"ip:");
        let mut len = 3;
        for octet in ip.octets() {
            let (digits, count) = OCTETS[usize::from(octet)];
            if let Some(slot) = bytes.get_mut(len..len + 4) {
                slot.copy_from_slice(&digits);
            }
            len += usize::from(count) + 1;
        }
        // The last octet's dot is not part of the key (the buffer stays zero after the key).
        len -= 1;
        bytes[len] = 0;
        ClientKey(Repr::Inline {
            // At most `ip:255.255.255.255`, 18 bytes.
            len: u8::try_from(len).unwrap_or(u8::MAX),
            bytes,
        })
    }
}

/// Every octet's decimal digits followed by a dot (zero-padded to four bytes), and how many
/// digits it has.
const OCTETS: [([u8; 4], u8); 256] = {
    let mut table = [([0_u8; 4], 0_u8); 256];
    let mut value = 0;
    while value < 256 {
        let octet = value as u8;
        table[value] = if octet >= 100 {
            (
                [
                    b'0' + octet / 100,
                    b'0' + octet / 10 % 10,
                    b'0' + octet % 10,
                    b'.',
                ],
                3,
            )
        } else if octet >= 10 {
            ([b'0' + octet / 10, b'0' + octet % 10, b'.', 0], 2)
        } else {
            ([b'0' + octet, b'.', 0, 0], 1)
        };
        value += 1;
    }
    table
};

fn push_decimal<const N: usize>(key: &mut ClientKey<N>, value: u8) {
    let mut text = [0_u8; 3];
    let len = write_decimal(&mut text, value);
    key.push(&text[..len]);
}

/// Writes `value` in decimal at the start of `out` (room for 3 digits); returns its length.
fn write_decimal(out: &mut [u8], value: u8) -> usize {
    let digits = [
        b'0' + value / 100,
        b'0' + value / 10 % 10,
        b'0' + value % 10,
    ];
    let skip = match value {
        0..=9 => 2,
        10..=99 => 1,
        _ => 0,
    };
    for (slot, digit) in out.iter_mut().zip(&digits[skip..]) {
        *slot = *digit;
    }
    3 - skip
}

impl<const N: usize> fmt::Write for ClientKey<N> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.push_str(text);
        Ok(())
    }
}

impl<const N: usize> Deref for ClientKey<N> {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> AsRef<str> for ClientKey<N> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> From<&str> for ClientKey<N> {
    fn from(text: &str) -> Self {
        Self::concat(text, "")
    }
}

impl<const N: usize> From<String> for ClientKey<N> {
    fn from(text: String) -> Self {
        if text.len() <= N {
            Self::from(text.as_str())
        } else {
            ClientKey(Repr::Heap(text.into_boxed_str()))
        }
    }
}

// Hash and equality are the bytes' (equal bytes, equal text), which need no UTF-8 check.
impl<const N: usize> Hash for ClientKey<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl<const N: usize> PartialEq for ClientKey<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: usize> Eq for ClientKey<N> {}

impl<const N: usize> PartialEq<str> for ClientKey<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: usize> PartialEq<&str> for ClientKey<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: usize> fmt::Display for ClientKey<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for ClientKey<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_keys_read_as_the_standard_formatter_writes_them() {
        let every_octet = (0..=255_u8).map(|octet| [octet, 255 - octet, octet / 3, 9]);
        for octets in [
            [0, 0, 0, 0],
            [10, 0, 9, 99],
            [100, 200, 255, 1],
            [203, 0, 113, 7],
            [255, 255, 255, 255],
        ]
        .into_iter()
        .chain(every_octet)
        {
            let ip = Ipv4Addr::from(octets);
            assert_eq!(ClientKey::ip(ip.into(), None).as_str(), format!("ip:{ip}"));
            assert_eq!(
                ClientKey::ip(ip.into(), Some(24)).as_str(),
                format!("ip:{ip}/24")
            );
        }
    }

    #[test]
    fn long_keys_move_to_the_heap_whole() {
        let id = "a-rather-long-user-id-from-an-identity-provider-0123456789";
        let key = ClientKey::joined("user:", id);
        assert!(matches!(key.0, Repr::Heap(_)));
        assert_eq!(key.as_str(), format!("user:{id}"));
        assert_eq!(ClientKey::from(format!("user:{id}")), key);
        let v6: IpAddr = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(
            ClientKey::ip(v6, Some(128)).as_str(),
            "ip:2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff/128"
        );
    }

    #[test]
    fn a_smaller_inline_room_keeps_short_keys_inline_and_reads_long_ones_back_whole() {
        let short = ClientKey::<22>::from("ip:203.0.113.7");
        let long = ClientKey::<22>::from("user:a-rather-long-user-id-from-an-identity-provider");
        assert!(matches!(short.0, Repr::Inline { .. }));
        assert!(matches!(long.0, Repr::Heap(_)));
        assert_eq!(short.as_str(), "ip:203.0.113.7");
        assert_eq!(
            long.as_str(),
            "user:a-rather-long-user-id-from-an-identity-provider"
        );
    }
}
