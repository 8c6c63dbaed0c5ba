//! The limits on the outflow besides the bucket: the concurrent cap, the stock, and abandoned
//! places.

use crate::clock::UnixMillis;
use crate::domain::{EventConfig, units_kept_per_admission};

/// What the caps of an event allow at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    /// Admitted shoppers who have not finished: unused admissions plus unpaid reservations.
    pub active: u64,
    /// Admissions not yet used, expired or given up.
    pub unused_admissions: u64,
    /// Units left in stock, all SKUs together.
    pub units_left: u64,
}

impl Room {
    /// How many more shoppers may be admitted now; `None` when nothing limits it.
    ///
    /// With `max_active` set, `max_active - active`. With `cap_follows_stock`, also
    /// `units_left / units_each - unused_admissions`, where `units_each` is what the purchase
    /// limits let one shopper take in all (one unit when they do not limit it): admitting more
    /// shoppers than there are units for them only makes them wait at the checkout for
    /// nothing. (Reserved units are no longer "left", so reservations need no second
    /// subtraction.)
    pub fn free_places(self, config: &EventConfig) -> Option<u64> {
        let by_cap = config
            .max_active
            .map(|max| u64::from(max).saturating_sub(self.active));
        let by_stock = config.cap_follows_stock.then(|| {
            let each = units_kept_per_admission(
                &config.max_units_per_order,
                &config.max_units_per_shopper,
            );
            (self.units_left / each).saturating_sub(self.unused_admissions)
        });
        match (by_cap, by_stock) {
            (Some(cap), Some(stock)) => Some(cap.min(stock)),
            (cap, stock) => cap.or(stock),
        }
    }

    /// Whether at least one more shopper may be admitted now.
    pub fn has_place(self, config: &EventConfig) -> bool {
        self.free_places(config).is_none_or(|free| free > 0)
    }
}

/// The most departed shoppers one drain drops: a crowd that left long ago is cleared over a few
/// drains, each short, rather than by one that holds the store while it drops them all. At 1,000
/// a drain on Redis ran up to 55 ms on a busy 2-core machine (`cargo bench --bench redis_draw`).
pub const MOST_DROPPED_PER_DRAIN: u64 = 500;

/// Whether a waiting shopper last seen at `last_seen` has lost the place at `now`.
///
/// A shopper is abandoned once unseen for `abandon_after_seconds` or more. Zero turns
/// abandonment off (rather than dropping every shopper at once).
pub fn is_abandoned(last_seen: UnixMillis, now: UnixMillis, abandon_after_seconds: u32) -> bool {
    abandon_after_seconds > 0
        && now.saturating_sub(last_seen) >= i64::from(abandon_after_seconds) * 1_000
}

/// The longest spell without any drain or presence record that is still ordinary running. The
/// instances drain every event several times a second and report presence every few seconds, so a
/// longer silence means nobody could record presence: the store was unreachable or every
/// instance was down.
pub const PRESENCE_GAP_MS: i64 = 5_000;

/// The clock that presence is measured on: wall time less the silences longer than
/// [`PRESENCE_GAP_MS`] (beyond that length), so our own outage never counts as a shopper's
/// absence. Seen times and heartbeats are kept on it, and the drain compares them with its
/// reading, so a page that stayed open through an outage keeps its place however long it lasted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PresenceClock {
    /// When presence was last recorded or the queue drained; `None` before the first time.
    pub mark: Option<UnixMillis>,
    /// The milliseconds of silence left out so far.
    pub excluded: i64,
}

impl PresenceClock {
    /// The clock once an operation runs at `now`: the silence since the mark beyond
    /// [`PRESENCE_GAP_MS`] is left out, and the mark moves to `now`.
    pub fn at(self, now: UnixMillis) -> Self {
        match self.mark {
            None => Self {
                mark: Some(now),
                excluded: self.excluded,
            },
            Some(mark) => Self {
                mark: Some(mark.max(now)),
                excluded: self
                    .excluded
                    .saturating_add((now.saturating_sub(mark) - PRESENCE_GAP_MS).max(0)),
            },
        }
    }

    /// The presence time of `now` on this clock.
    pub fn reading(self, now: UnixMillis) -> UnixMillis {
        now.saturating_sub(self.excluded)
    }
}

/// When a waiting shopper was last seen, for the drain: their own seen time, or the latest
/// heartbeat of the instance holding their open socket when that is later (a live instance keeps
/// every page it holds seen). `holder_beat` is `None` when no instance holds them, or the holder
/// has never reported.
pub fn last_seen(own: UnixMillis, holder_beat: Option<UnixMillis>) -> UnixMillis {
    holder_beat.map_or(own, |beat| own.max(beat))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::{EventId, Mode, OperatorStatus};

    fn config(max_active: Option<u32>, cap_follows_stock: bool) -> EventConfig {
        EventConfig {
            id: EventId::parse("sale").unwrap(),
            name: "Sale".into(),
            starts_at: 0,
            prequeue_opens_at: None,
            outflow_milli_per_second: 1_000,
            outflow_burst: 1,
            max_active,
            cap_follows_stock,
            admission_ttl_seconds: 60,
            reservation_ttl_seconds: 60,
            allow_anonymous: false,
            inventory: BTreeMap::new(),
            mode: Mode::Queue,
            abandon_after_seconds: 60,
            max_units_per_order: Default::default(),
            max_units_per_shopper: Default::default(),
            operator_status: OperatorStatus::Auto,
            seed_hash: String::new(),
            seed: String::new(),
            created_at: 0,
            defences: Default::default(),
            page: None,
            checkout_target: None,
            arrival_windows: Default::default(),
            retention: Default::default(),
        }
    }

    const ROOM: Room = Room {
        active: 7,
        unused_admissions: 4,
        units_left: 10,
    };

    #[test]
    fn without_caps_there_is_always_room() {
        assert_eq!(ROOM.free_places(&config(None, false)), None);
        assert!(ROOM.has_place(&config(None, false)));
    }

    #[test]
    fn the_cap_leaves_max_active_minus_active() {
        assert_eq!(ROOM.free_places(&config(Some(10), false)), Some(3));
        assert_eq!(ROOM.free_places(&config(Some(5), false)), Some(0));
        assert!(!ROOM.has_place(&config(Some(7), false)));
    }

    #[test]
    fn the_cap_follows_the_units_not_promised_to_admitted_shoppers() {
        assert_eq!(ROOM.free_places(&config(None, true)), Some(6));
        assert_eq!(ROOM.free_places(&config(Some(10), true)), Some(3));
        assert_eq!(ROOM.free_places(&config(Some(100), true)), Some(6));
    }

    #[test]
    fn a_held_shopper_is_seen_at_the_holders_latest_heartbeat() {
        assert_eq!(last_seen(5_000, None), 5_000);
        assert_eq!(last_seen(5_000, Some(9_000)), 9_000);
        assert_eq!(last_seen(5_000, Some(1_000)), 5_000);
    }

    #[test]
    fn only_silence_beyond_the_gap_is_left_out_of_the_presence_clock() {
        let clock = PresenceClock::default().at(10_000);
        assert_eq!(clock.reading(10_000), 10_000);
        let ticking = clock.at(10_150).at(10_300);
        assert_eq!(
            ticking.reading(10_300),
            10_300,
            "ordinary ticks are counted"
        );
        let after_outage = ticking.at(10_300 + 20_000);
        assert_eq!(after_outage.excluded, 20_000 - PRESENCE_GAP_MS);
        assert_eq!(after_outage.reading(30_300), 10_300 + PRESENCE_GAP_MS);
        let late = after_outage.at(29_000);
        assert_eq!(
            late, after_outage,
            "a call with an older time changes nothing"
        );
    }

    #[test]
    fn a_shopper_is_abandoned_after_the_grace_period_and_not_before() {
        assert!(!is_abandoned(1_000, 60_999, 60));
        assert!(is_abandoned(1_000, 61_000, 60));
        assert!(!is_abandoned(1_000, 1_000_000, 0));
    }
}
