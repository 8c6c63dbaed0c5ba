//! The published draw: the commitment, the seed and the entrants in draw order, paged, from
//! which anyone recomputes the order the store gave.

use waitroom::domain::{DrawPage, DrawPageOutcome, DrawPageRequest, EventId, TicketId};
use waitroom::queue::{entrants_commitment, verify_draw};

use crate::harness::{Harness, START, sale, shopper};

async fn page(h: &Harness, event: &EventId, after: Option<TicketId>, limit: u32) -> DrawPage {
    match h
        .store
        .draw_page(event, DrawPageRequest { after, limit })
        .await
        .unwrap()
    {
        DrawPageOutcome::Page(page) => page,
        other => panic!("expected a page, got {other:?}"),
    }
}

/// Every entrant, following the cursors from the first page; also the pages' sizes.
async fn all_pages(h: &Harness, event: &EventId, limit: u32) -> (Vec<TicketId>, Vec<usize>) {
    let (mut entrants, mut sizes, mut after) = (Vec::new(), Vec::new(), None);
    loop {
        let page = page(h, event, after, limit).await;
        sizes.push(page.entrants.len());
        entrants.extend(page.entrants);
        match page.next {
            Some(next) => after = Some(next),
            None => return (entrants, sizes),
        }
    }
}

pub async fn before_the_start_nothing_is_committed_or_published(h: &Harness) {
    let event = h.create(sale("spring")).await;
    h.join_all(&event, 1..=3).await;
    h.set_time(START - 1);

    let page = page(h, &event, None, 100).await;

    assert_eq!(page, DrawPage::not_drawn());
}

pub async fn the_published_draw_recomputes_from_public_data_alone(h: &Harness) {
    let config = sale("spring");
    let seed_hash = config.seed_hash.clone();
    let event = h.create(config).await;
    h.join_all(&event, 1..=25).await;
    h.set_time(START);

    let first = page(h, &event, None, 1000).await;

    assert!(first.drawn);
    assert_eq!(first.entrants_total, 25);
    assert_eq!(first.next, None);
    let commitment = first.commitment.clone().unwrap();
    assert_eq!(
        commitment,
        entrants_commitment(first.entrants.iter().copied())
    );
    let seed = first.seed.clone().unwrap();
    let recomputed = verify_draw(&seed, &seed_hash, &commitment, first.entrants.clone()).unwrap();
    assert_eq!(
        recomputed, first.entrants,
        "the published order is the lottery's"
    );
    for n in 1..=25 {
        let ticket = h.ticket(&event, &shopper(n)).await;
        let place = first.entrants.iter().position(|t| *t == ticket.ticket_id);
        assert_eq!(
            ticket.position,
            place.map(|p| p as u64 + 1),
            "the store placed shopper {n} where the published order says"
        );
    }
}

pub async fn every_entrant_is_on_exactly_one_page(h: &Harness) {
    let event = h.create(sale("spring")).await;
    let tickets = h.join_all(&event, 1..=23).await;
    h.set_time(START);
    let whole = page(h, &event, None, 1000).await.entrants;

    let (paged, sizes) = all_pages(h, &event, 5).await;

    assert_eq!(paged, whole);
    assert_eq!(sizes, [5, 5, 5, 5, 3]);
    let mut joined: Vec<TicketId> = tickets.iter().map(|t| t.ticket_id).collect();
    let mut published = paged.clone();
    joined.sort_unstable();
    published.sort_unstable();
    assert_eq!(published, joined, "every entrant once, nobody else");
}

pub async fn a_latecomer_is_not_an_entrant(h: &Harness) {
    let event = h.create(sale("spring")).await;
    h.join_all(&event, 1..=4).await;
    h.set_time(START + 1);

    let latecomer = h.join(&event, &shopper(5)).await;
    let page = page(h, &event, None, 100).await;

    assert_eq!(page.entrants_total, 4);
    assert!(!page.entrants.contains(&latecomer.ticket_id));
    assert_eq!(latecomer.position, Some(5));
}

pub async fn a_cursor_that_names_no_entrant_is_refused(h: &Harness) {
    let event = h.create(sale("spring")).await;
    h.join_all(&event, 1..=2).await;
    h.set_time(START);

    let outcome = h
        .store
        .draw_page(
            &event,
            DrawPageRequest {
                after: Some(TicketId::random()),
                limit: 10,
            },
        )
        .await
        .unwrap();

    assert_eq!(outcome, DrawPageOutcome::UnknownCursor);
}

pub async fn an_unknown_event_has_no_draw(h: &Harness) {
    let ghost = EventId::parse("ghost").unwrap();

    let outcome = h
        .store
        .draw_page(
            &ghost,
            DrawPageRequest {
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap();

    assert_eq!(outcome, DrawPageOutcome::NoEvent);
}
