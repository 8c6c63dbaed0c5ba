//! The queue: joining, one place per identity, positions, leaving and rejoining.

use waitroom::domain::{DrawOutcome, JoinOutcome, TicketId, TicketStatus};

use crate::harness::{Harness, START, T0, open_sale, sale, shopper};

pub async fn a_join_before_the_start_waits_in_the_prequeue_without_a_position(h: &Harness) {
    let event = h.create(sale("spring")).await;
    let ticket_id = TicketId::random();

    let joined = h.store.join(&event, &shopper(1), ticket_id).await.unwrap();

    let JoinOutcome::Joined { ticket, created } = joined else {
        panic!("joined: {joined:?}");
    };
    assert!(created);
    assert_eq!(ticket.ticket_id, ticket_id);
    assert_eq!(ticket.identity, shopper(1));
    assert_eq!(ticket.status, TicketStatus::Waiting);
    assert_eq!((ticket.position, ticket.score), (None, None));
    assert_eq!(ticket.joined_at, T0);
    assert_eq!(ticket.admitted_at, None);
    assert_eq!(h.stats(&event).await.queue_length, 1);
}

pub async fn a_second_join_returns_the_same_ticket(h: &Harness) {
    for event in [
        h.create(sale("later")).await,
        h.create(open_sale("now")).await,
    ] {
        let first = h.join(&event, &shopper(1)).await;
        h.advance_secs(5);

        let again = h.try_join(&event, &shopper(1)).await;

        assert_eq!(
            again,
            JoinOutcome::Joined {
                ticket: first.clone(),
                created: false
            }
        );
        let stats = h.stats(&event).await;
        assert_eq!((stats.queue_length, stats.joined), (1, 1));
    }
}

pub async fn joins_after_the_start_take_the_next_scores_at_the_tail(h: &Harness) {
    let event = h.create(open_sale("spring")).await;

    let tickets = h.join_all(&event, 1..=3).await;

    let places: Vec<_> = tickets.iter().map(|t| (t.score, t.position)).collect();
    assert_eq!(
        places,
        [(Some(1), Some(1)), (Some(2), Some(2)), (Some(3), Some(3))]
    );
    assert_eq!(h.stats(&event).await.last_score, 3);
}

pub async fn a_ticket_read_gives_the_exact_position(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let tickets = h.join_all(&event, 1..=4).await;

    h.store
        .leave(&event, &shopper(2), tickets[1].ticket_id)
        .await
        .unwrap();
    let fourth = h.ticket(&event, &shopper(4)).await;

    assert_eq!(fourth.position, Some(3));
    assert_eq!(fourth.score, Some(4), "a score never changes");
}

pub async fn the_broadcast_position_is_the_score_minus_the_serving_number(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    h.join_all(&event, 1..=5).await;

    let drained = h.drain(&event).await;

    assert_eq!(drained.serving, 2);
    for n in 3..=5 {
        let ticket = h.ticket(&event, &shopper(n)).await;
        let score = ticket.score.unwrap();
        assert_eq!(Some(score - drained.serving), ticket.position);
    }
    assert_eq!(h.stats(&event).await.serving, 2);
}

pub async fn a_shopper_who_leaves_rejoins_at_the_tail_with_a_new_ticket(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let tickets = h.join_all(&event, 1..=3).await;

    let left = h
        .store
        .leave(&event, &shopper(1), tickets[0].ticket_id)
        .await
        .unwrap()
        .unwrap();
    let new_id = TicketId::random();
    let rejoined = h.store.join(&event, &shopper(1), new_id).await.unwrap();

    assert_eq!(left.status, TicketStatus::Left);
    assert_eq!(left.position, None);
    let JoinOutcome::Joined { ticket, created } = rejoined else {
        panic!("rejoined: {rejoined:?}");
    };
    assert!(created);
    assert_eq!(ticket.ticket_id, new_id);
    assert_eq!((ticket.score, ticket.position), (Some(4), Some(3)));
    assert_eq!(h.ticket(&event, &shopper(2)).await.position, Some(1));
}

pub async fn leaving_twice_answers_the_ticket_as_it_stands(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.join(&event, &shopper(1)).await;

    let first = h.store.leave(&event, &shopper(1), ticket.ticket_id).await;
    let second = h.store.leave(&event, &shopper(1), ticket.ticket_id).await;

    assert_eq!(first.unwrap().map(|t| t.status), Some(TicketStatus::Left));
    assert_eq!(second.unwrap().map(|t| t.status), Some(TicketStatus::Left));
    let stats = h.stats(&event).await;
    assert_eq!((stats.left, stats.queue_length), (1, 0));
}

pub async fn leaving_with_another_ticket_id_changes_nothing(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let mine = h.join(&event, &shopper(1)).await;
    let theirs = h.join(&event, &shopper(2)).await;

    let with_a_random_id = h.store.leave(&event, &shopper(1), TicketId::random()).await;
    let with_someone_elses = h.store.leave(&event, &shopper(1), theirs.ticket_id).await;

    assert_eq!(with_a_random_id.unwrap(), None);
    assert_eq!(with_someone_elses.unwrap(), None);
    assert_eq!(h.ticket(&event, &shopper(1)).await, mine);
    assert_eq!(
        h.ticket(&event, &shopper(2)).await.status,
        TicketStatus::Waiting
    );
    assert_eq!(h.stats(&event).await.left, 0);
}

pub async fn leaving_the_prequeue_takes_the_shopper_out_of_the_draw(h: &Harness) {
    let event = h.create(sale("spring")).await;
    let tickets = h.join_all(&event, 1..=3).await;

    h.store
        .leave(&event, &shopper(2), tickets[1].ticket_id)
        .await
        .unwrap();
    h.set_time(START);
    let drawn = h.store.draw(&event).await.unwrap();

    assert_eq!(drawn, DrawOutcome::Drawn { entrants: 2 });
    assert_eq!(
        h.ticket(&event, &shopper(2)).await.status,
        TicketStatus::Left
    );
    let mut positions = Vec::new();
    for n in [1, 3] {
        positions.push(h.ticket(&event, &shopper(n)).await.position.unwrap());
    }
    positions.sort_unstable();
    assert_eq!(positions, [1, 2]);
}

pub async fn an_identity_that_never_joined_has_no_ticket(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    h.join(&event, &shopper(1)).await;

    let ticket = h.store.ticket(&event, &shopper(2), true).await.unwrap();

    assert_eq!(ticket, None);
}

pub async fn the_queue_counts_joins_and_leaves(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let tickets = h.join_all(&event, 1..=4).await;
    h.join(&event, &shopper(1)).await;
    h.store
        .leave(&event, &shopper(3), tickets[2].ticket_id)
        .await
        .unwrap();
    h.join(&event, &shopper(3)).await;

    let stats = h.stats(&event).await;

    assert_eq!(
        stats.joined, 5,
        "four tickets, then a new one after leaving"
    );
    assert_eq!(stats.left, 1);
    assert_eq!(stats.queue_length, 4);
    assert_eq!(stats.last_score, 5);
}
