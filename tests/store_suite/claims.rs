//! Claims: a proof of work is spent once, an invitation serves no more identities than it says.

use waitroom::domain::{Claim, ClaimOutcome, EventId};

use crate::harness::{Harness, T0, sale};

fn claim(name: &str, holder: &str, limit: u32, until: i64) -> Claim {
    Claim {
        name: name.to_owned(),
        holder: holder.to_owned(),
        limit,
        until: T0 + until,
    }
}

pub async fn a_claim_counts_new_holders_up_to_its_limit(h: &Harness) {
    let event = h.create(sale("spring")).await;

    let first = h
        .store
        .claim(&event, &claim("inv:a", "u:ann", 2, 60_000))
        .await
        .unwrap();
    let again = h
        .store
        .claim(&event, &claim("inv:a", "u:ann", 2, 60_000))
        .await
        .unwrap();
    let second = h
        .store
        .claim(&event, &claim("inv:a", "u:bob", 2, 60_000))
        .await
        .unwrap();
    let third = h
        .store
        .claim(&event, &claim("inv:a", "u:cat", 2, 60_000))
        .await
        .unwrap();
    let other = h
        .store
        .claim(&event, &claim("inv:b", "u:cat", 2, 60_000))
        .await
        .unwrap();

    assert_eq!(first, ClaimOutcome::Granted);
    assert_eq!(again, ClaimOutcome::AlreadyHeld);
    assert_eq!(second, ClaimOutcome::Granted);
    assert_eq!(third, ClaimOutcome::Refused);
    assert_eq!(other, ClaimOutcome::Granted);
    // The holders it already has keep it.
    let bob = h
        .store
        .claim(&event, &claim("inv:a", "u:bob", 2, 60_000))
        .await
        .unwrap();
    assert_eq!(bob, ClaimOutcome::AlreadyHeld);
}

pub async fn a_claim_is_refused_at_its_end_and_forgotten_after(h: &Harness) {
    let event = h.create(sale("spring")).await;
    let spent = claim("pow:x", "u:ann", 1, 10_000);
    assert_eq!(
        h.store.claim(&event, &spent).await.unwrap(),
        ClaimOutcome::Granted
    );

    h.advance_ms(10_000);
    let late = h
        .store
        .claim(&event, &claim("pow:y", "u:ann", 1, 10_000))
        .await
        .unwrap();

    assert_eq!(late, ClaimOutcome::Refused);
    let renewed = claim("pow:x", "u:bob", 1, 20_000);
    assert_eq!(
        h.store.claim(&event, &renewed).await.unwrap(),
        ClaimOutcome::Granted
    );
}

pub async fn a_claim_on_an_unknown_event_is_no_event(h: &Harness) {
    let event = EventId::parse("nowhere").unwrap();

    let outcome = h
        .store
        .claim(&event, &claim("inv:a", "u:ann", 1, 60_000))
        .await
        .unwrap();

    assert_eq!(outcome, ClaimOutcome::NoEvent);
}
