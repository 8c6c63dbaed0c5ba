//! The outflow in force while it follows the checkout's health: kept beside the set rate,
//! changed by one instance at a time, and what the drain admits at.

use waitroom::domain::{EventConfig, EventId};
use waitroom::queue::backoff::FollowedOutflow;

use crate::harness::{Harness, T0, open_sale};

fn at_rate(milli_per_second: Option<u64>, changed_at: i64) -> FollowedOutflow {
    FollowedOutflow {
        milli_per_second,
        changed_at,
    }
}

/// An open sale at ten a second, a burst of ten, with 200 shoppers waiting and the burst spent.
async fn busy_sale(h: &Harness) -> EventId {
    let event = h
        .create(EventConfig {
            outflow_milli_per_second: 10_000,
            outflow_burst: 10,
            ..open_sale("spring")
        })
        .await;
    h.join_all(&event, 1..=200).await;
    assert_eq!(h.drain(&event).await.admitted.len(), 10, "the burst");
    event
}

pub async fn the_drain_admits_at_the_followed_rate(h: &Harness) {
    let event = busy_sale(h).await;
    let slowed = at_rate(Some(2_000), T0);
    assert!(h.store.follow_outflow(&event, None, &slowed).await.unwrap());

    h.advance_secs(3);
    let slow = h.drain(&event).await.admitted.len();
    let back = at_rate(None, T0 + 3_000);
    assert!(
        h.store
            .follow_outflow(&event, Some(T0), &back)
            .await
            .unwrap()
    );
    h.advance_secs(1);
    let full = h.drain(&event).await.admitted.len();

    assert_eq!(slow, 6, "two a second for three seconds");
    assert_eq!(full, 10, "back at the set rate");
}

pub async fn a_followed_rate_above_the_set_rate_admits_at_the_set_rate(h: &Harness) {
    let event = busy_sale(h).await;
    let faster = at_rate(Some(50_000), T0);
    assert!(h.store.follow_outflow(&event, None, &faster).await.unwrap());

    h.advance_ms(500);

    assert_eq!(h.drain(&event).await.admitted.len(), 5);
}

pub async fn the_followed_outflow_changes_only_from_the_state_the_caller_read(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    assert_eq!(h.store.followed_outflow(&event).await.unwrap(), None);

    let first = at_rate(Some(500), T0 + 5_000);
    let second = at_rate(Some(250), T0 + 10_000);
    let stale = at_rate(Some(100), T0 + 10_000);
    let took_first = h.store.follow_outflow(&event, None, &first).await.unwrap();
    let again_from_nothing = h.store.follow_outflow(&event, None, &stale).await.unwrap();
    let took_second = h
        .store
        .follow_outflow(&event, Some(T0 + 5_000), &second)
        .await
        .unwrap();
    let from_the_first_again = h
        .store
        .follow_outflow(&event, Some(T0 + 5_000), &stale)
        .await
        .unwrap();

    assert!(took_first && took_second);
    assert!(!again_from_nothing && !from_the_first_again);
    assert_eq!(
        h.store.followed_outflow(&event).await.unwrap(),
        Some(second)
    );
    let unknown = EventId::parse("nothing").unwrap();
    assert_eq!(h.store.followed_outflow(&unknown).await.unwrap(), None);
    assert!(
        !h.store
            .follow_outflow(&unknown, None, &first)
            .await
            .unwrap()
    );
}
