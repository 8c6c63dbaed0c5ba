//! Arrival windows: inside a window arrivals are ordered by their seeded slots, windows queue
//! behind one another, and bots first through the door gain nothing.

use waitroom::domain::{DrawPageRequest, EventConfig, EventId, Identity, TicketId, WindowPage};
use waitroom::queue::ArrivalWindows;
use waitroom::queue::window::{secret_matches, window_order, window_slot};

use crate::harness::{Harness, T0, open_sale, shopper};

fn windowed(id: &str, opening: u32, every: u32) -> EventConfig {
    EventConfig {
        arrival_windows: ArrivalWindows::new(opening, every),
        ..open_sale(id)
    }
}

/// Drains every 100 ms until `count` are admitted; the admitted identities in order.
async fn admit_in_order(
    h: &Harness,
    event: &waitroom::domain::EventId,
    count: usize,
) -> Vec<Identity> {
    let mut order = Vec::new();
    for _ in 0..100_000 {
        if order.len() >= count {
            break;
        }
        order.extend(h.drain_identities(event).await);
        h.advance_ms(100);
    }
    order
}

pub async fn arrivals_in_the_opening_window_follow_the_published_seed(h: &Harness) {
    let config = windowed("spring", 60, 0);
    let windows = config.arrival_windows.clone();
    let event = h.create(config).await;
    h.change(&event, |c| c.outflow_milli_per_second = 1).await;
    let mut tickets = Vec::new();
    for n in 1..=30 {
        tickets.push(h.join(&event, &shopper(n)).await.ticket_id);
        h.advance_ms(1);
    }
    h.change(&event, |c| c.outflow_burst = 100).await;
    h.change(&event, |c| c.outflow_milli_per_second = 1_000_000)
        .await;

    let admitted = admit_in_order(h, &event, 30).await;

    assert!(secret_matches(&windows.seed, &windows.seed_hash));
    let expected: Vec<TicketId> = window_order(&windows.window_seed(0), &tickets);
    let mut by_ticket = Vec::new();
    for who in &admitted {
        by_ticket.push(h.ticket(&event, who).await.ticket_id);
    }
    assert_eq!(by_ticket, expected);
    assert_ne!(by_ticket, tickets, "not the order of arrival");
    let entrants = h.store.window_entrants(&event).await.unwrap();
    assert_eq!(entrants.get(&0), Some(&30));
}

pub async fn arrivals_after_the_window_queue_behind_every_window_entrant(h: &Harness) {
    let event = h.create(windowed("spring", 60, 0)).await;
    h.change(&event, |c| c.outflow_milli_per_second = 1).await;
    let early = h.join_all(&event, 1..=10).await;
    h.set_time(T0 + 60_000);
    let late = h.join_all(&event, 11..=15).await;

    let highest_early = early.iter().filter_map(|t| t.score).max().unwrap();
    for (i, ticket) in late.iter().enumerate() {
        assert!(ticket.score.unwrap() > highest_early);
        assert_eq!(ticket.position, Some(11 + i as u64));
    }
    // A drain tells the last score handed out as the counters do: the last late join's.
    let drained = h.drain(&event).await;
    assert_eq!(drained.last_score, h.stats(&event).await.last_score);
    assert_eq!(Some(drained.last_score), late.last().and_then(|t| t.score));
}

pub async fn a_later_window_queues_behind_an_earlier_one(h: &Harness) {
    let event = h.create(windowed("spring", 0, 10)).await;
    h.change(&event, |c| c.outflow_milli_per_second = 1).await;
    let first = h.join_all(&event, 1..=20).await;
    h.set_time(T0 + 10_000);
    let second = h.join_all(&event, 21..=40).await;

    let top = first.iter().filter_map(|t| t.score).max().unwrap();
    assert!(second.iter().filter_map(|t| t.score).all(|s| s > top));
    let entrants = h.store.window_entrants(&event).await.unwrap();
    assert_eq!(
        entrants.into_iter().collect::<Vec<_>>(),
        vec![(1, 20), (2, 20)]
    );
}

pub async fn with_windows_off_joins_stay_first_in_first_out(h: &Harness) {
    let event = h.create(windowed("spring", 0, 0)).await;
    let tickets = h.join_all(&event, 1..=5).await;

    let scores: Vec<Option<u64>> = tickets.iter().map(|t| t.score).collect();
    assert_eq!(scores, (1..=5).map(Some).collect::<Vec<_>>());
    assert!(h.store.window_entrants(&event).await.unwrap().is_empty());
}

/// 100 bots join in the first 50 ms, 900 shoppers over the rest of the minute; four are admitted
/// a second throughout. The bots' share of the first 250 admissions stays near their 10% share of
/// arrivals (first come, first served would give them 40%).
pub async fn bots_first_through_the_door_gain_no_share_of_admissions(h: &Harness) {
    let event = h.create(windowed("spring", 60, 0)).await;
    h.change(&event, |c| {
        c.outflow_milli_per_second = 4_000;
        c.outflow_burst = 4;
    })
    .await;
    let mut order = Vec::new();
    for n in 0..100 {
        h.join(&event, &bot(n)).await;
        if n % 2 == 1 {
            h.advance_ms(1);
        }
    }
    // Shoppers every ~66 ms until the window ends, draining every 100 ms.
    let mut next_drain = T0 + 100;
    for n in 0..900_i64 {
        let at = T0 + 50 + n * 66;
        while next_drain <= at {
            h.set_time(next_drain);
            order.extend(h.drain_identities(&event).await);
            next_drain += 100;
        }
        h.set_time(at);
        h.join(&event, &shopper(n as usize)).await;
    }
    while order.len() < 250 {
        h.set_time(next_drain);
        order.extend(h.drain_identities(&event).await);
        next_drain += 100;
    }

    let bots = order[..250]
        .iter()
        .filter(|who| who.subject().starts_with("bot-"))
        .count();
    let share = bots as f64 / 250.0;
    assert!((0.025..=0.175).contains(&share), "bots' share {share}");
}

/// 50 bots join in the first 10 ms of a 10 s opening window, 450 shoppers over the rest of it, and
/// the outflow (50 a second, burst 50) could admit them all as they come: nobody goes through
/// while the window is open, and once it has closed the bots' share of the first 100 admissions
/// stays near their 10% share of the entrants (a first drain among whoever had joined would give
/// them most of the burst).
pub async fn nobody_in_a_window_goes_through_before_it_closes(h: &Harness) {
    let event = h.create(windowed("spring", 10, 0)).await;
    h.change(&event, |c| {
        c.outflow_milli_per_second = 50_000;
        c.outflow_burst = 50;
    })
    .await;
    for n in 0..50 {
        h.join(&event, &bot(n)).await;
    }
    let mut during = Vec::new();
    for n in 0..450_i64 {
        h.set_time(T0 + 10 + n * 20);
        h.join(&event, &shopper(n as usize)).await;
        // Drains over the first half only: five seconds without one before the close would let
        // credit owed to held shoppers pile up to 250 and pour out at once.
        if n % 5 == 0 && n < 225 {
            during.extend(h.drain_identities(&event).await);
        }
    }
    h.set_time(T0 + 5_000);
    during.extend(h.drain_identities(&event).await);
    assert!(
        during.is_empty(),
        "{} admitted inside the window, first {:?}",
        during.len(),
        &during[..during.len().min(5)]
    );

    h.set_time(T0 + 10_000);
    let mut order = h.drain_identities(&event).await;
    assert!(
        order.len() <= 51,
        "{} at the close: credit piled up for held shoppers",
        order.len()
    );
    order.extend(admit_in_order(h, &event, 100 - order.len()).await);

    let bots = order[..100]
        .iter()
        .filter(|who| who.subject().starts_with("bot-"))
        .count();
    assert!((2..=20).contains(&bots), "bots: {bots} of the first 100");
    assert_eq!(h.stats(&event).await.queue_length, 500 - order.len() as u64);
}

/// Every entrant of window `window`, following the cursor through pages of `limit`.
async fn window_record(h: &Harness, event: &EventId, window: u64, limit: u32) -> Vec<TicketId> {
    let mut entrants = Vec::new();
    let mut after = None;
    loop {
        let page = h
            .store
            .window_page(event, window, DrawPageRequest { after, limit })
            .await
            .unwrap()
            .unwrap();
        assert!(page.entrants.len() <= limit as usize);
        entrants.extend(page.entrants);
        match page.next {
            Some(next) => after = Some(next),
            None => return entrants,
        }
    }
}

pub async fn a_window_keeps_every_entrant_in_slot_order_after_they_leave_or_are_let_through(
    h: &Harness,
) {
    let config = windowed("spring", 60, 0);
    let seed = config.arrival_windows.window_seed(0);
    let event = h.create(config).await;
    h.change(&event, |c| c.outflow_milli_per_second = 1).await;
    let tickets = h.join_all(&event, 1..=10).await;
    let gone = &tickets[0];
    h.store
        .leave(&event, &gone.identity, gone.ticket_id)
        .await
        .unwrap();
    h.change(&event, |c| {
        c.outflow_burst = 3;
        c.outflow_milli_per_second = 1_000_000;
    })
    .await;
    h.set_time(T0 + 60_000);
    let admitted = h.drain_identities(&event).await;

    let record = window_record(h, &event, 0, 4).await;

    assert_eq!(admitted.len(), 3);
    let mut expected: Vec<TicketId> = tickets.iter().map(|t| t.ticket_id).collect();
    expected.sort_by_key(|t| (window_slot(&seed, *t), *t));
    assert_eq!(
        record, expected,
        "slot order, the one who left and those let through kept"
    );
    let first = h
        .store
        .window_page(
            &event,
            0,
            DrawPageRequest {
                after: None,
                limit: 1_000,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.entrants_total, first.next), (10, None));
    let stranger = DrawPageRequest {
        after: Some(TicketId::random()),
        limit: 10,
    };
    assert_eq!(
        h.store.window_page(&event, 0, stranger).await.unwrap(),
        None
    );
    let nobody = DrawPageRequest {
        after: None,
        limit: 10,
    };
    assert_eq!(
        h.store.window_page(&event, 1, nobody).await.unwrap(),
        Some(WindowPage::default())
    );
    let unknown = EventId::parse("nothing").unwrap();
    assert_eq!(
        h.store.window_page(&unknown, 0, nobody).await.unwrap(),
        Some(WindowPage::default())
    );
    assert_eq!(
        h.store.window_page(&unknown, 0, stranger).await.unwrap(),
        None
    );
}

fn bot(n: usize) -> Identity {
    Identity::user(&format!("bot-{n}")).unwrap()
}
