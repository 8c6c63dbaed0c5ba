//! No script call holds Redis for 50 ms, however large the crowd: a pre-queue of 50,000 drawn,
//! drains meeting 20,000 shoppers who went absent, and 20,000 admissions ending at once. The
//! same runs at 1,000,000, 200,000 and 100,000 are `cargo bench --bench redis_draw`. A draw
//! prepared before the start reads at the close only the ticket ids it could not read before.
//!
//! A busy machine can stall the server in the middle of a command, which the SLOWLOG counts as
//! that command's time. A run that saw a long command is made once more on a fresh server: work
//! is long both times, a stall seldom twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::crowd::{
    PrequeueChanges, drain_past_the_departed, draw_a_crowd, draw_a_prepared_crowd,
    settle_a_mass_expiry,
};
use support::redis_server::RedisServer;
use support::slow_calls::{BOUND_MICROS, SlowCall, at_least};
use waitroom::queue::MOST_DROPPED_PER_DRAIN;

/// The most ended admissions one script call settles (`MOST_SETTLED_PER_CALL`, `lua/lib/keys.lua`).
const MOST_SETTLED_PER_CALL: u64 = 500;

/// Whether the SLOWLOG or the latency monitor saw a command of 50 ms or more.
fn held_redis(calls: &[SlowCall], spikes: &[(String, u64)]) -> bool {
    !at_least(calls, BOUND_MICROS).is_empty() || !spikes.is_empty()
}

#[tokio::test]
async fn a_pre_queue_of_50_000_is_drawn_without_any_command_of_50_ms() {
    let draw = || async {
        draw_a_crowd(
            &RedisServer::start_ahead_of_other_work(),
            50_000,
            BOUND_MICROS,
        )
        .await
    };

    let mut run = draw().await;
    if held_redis(&run.calls, &run.spikes) {
        run = draw().await;
    }

    assert_eq!(
        at_least(&run.calls, BOUND_MICROS).len(),
        0,
        "commands of 50 ms or more during the draw: {:?}",
        run.calls
    );
    assert_eq!(
        run.spikes,
        Vec::new(),
        "latency monitor events of 50 ms or more"
    );
    assert!(
        run.verified,
        "the published order is the one computed from the seed"
    );
}

#[tokio::test]
async fn drains_meeting_20_000_absent_shoppers_never_run_a_command_of_50_ms() {
    let drain = || async {
        drain_past_the_departed(
            &RedisServer::start_ahead_of_other_work(),
            25_000,
            20_000,
            BOUND_MICROS,
        )
        .await
    };

    let mut run = drain().await;
    if held_redis(&run.calls, &run.spikes) {
        run = drain().await;
    }

    assert_eq!(
        at_least(&run.calls, BOUND_MICROS).len(),
        0,
        "commands of 50 ms or more during the drains: {:?}",
        run.calls
    );
    assert_eq!(
        run.spikes,
        Vec::new(),
        "latency monitor events of 50 ms or more"
    );
    assert_eq!(run.dropped, 20_000);
    assert_eq!(run.most_dropped, MOST_DROPPED_PER_DRAIN);
    assert_eq!(run.drains, 20_000 / MOST_DROPPED_PER_DRAIN + 1);
    assert!(run.admitted_one_who_stayed);
}

#[tokio::test]
async fn twenty_thousand_admissions_ending_at_once_are_settled_without_a_command_of_50_ms() {
    let settle = || async {
        settle_a_mass_expiry(
            &RedisServer::start_ahead_of_other_work(),
            20_000,
            BOUND_MICROS,
        )
        .await
    };

    let mut run = settle().await;
    if held_redis(&run.calls, &run.spikes) {
        run = settle().await;
    }

    assert_eq!(
        at_least(&run.calls, BOUND_MICROS).len(),
        0,
        "commands of 50 ms or more while settling: {:?}",
        run.calls
    );
    assert_eq!(
        run.spikes,
        Vec::new(),
        "latency monitor events of 50 ms or more"
    );
    assert_eq!(run.timed_out, 0);
    assert_eq!(run.expired, 20_000);
    assert_eq!(run.settling_calls, 20_000 / MOST_SETTLED_PER_CALL);
    assert_eq!(
        run.active_after_first,
        Some(0),
        "ended admissions left for later calls hold no place"
    );
    assert_eq!(run.active, 0);
}

#[tokio::test]
async fn a_draw_prepared_before_the_start_reads_only_later_joins_at_the_close_and_still_verifies() {
    // Arrange: 20,000 entrants read ahead (300 of them left and joined again meanwhile), then
    // 200 more join.
    let server = RedisServer::start_ahead_of_other_work();
    let changes = PrequeueChanges {
        rejoining_before: 300,
        rejoining_after: 0,
        late: 200,
    };

    // Act: every command of the close is logged (0 µs), so each script call is counted.
    let run = draw_a_prepared_crowd(&server, 20_000, changes, 0).await;

    // Assert: the 200 ticket ids read at the close in one call, not 81.
    assert_eq!(run.held, 20_000);
    assert_eq!(run.entrants, 20_200);
    assert_eq!(run.ticket_reads, 1, "draw_tickets calls at the close");
    assert!(
        run.verified,
        "the published order is the one computed from the seed over the ticket ids in force"
    );
}

#[tokio::test]
async fn a_leave_after_the_draw_was_prepared_makes_the_close_read_every_ticket_id_again() {
    let server = RedisServer::start_ahead_of_other_work();
    let changes = PrequeueChanges {
        rejoining_before: 0,
        rejoining_after: 10,
        late: 0,
    };

    let run = draw_a_prepared_crowd(&server, 2_000, changes, 0).await;

    assert_eq!(run.held, 2_000);
    assert_eq!(
        run.ticket_reads,
        2_000 / 250,
        "draw_tickets calls at the close"
    );
    assert!(
        run.verified,
        "the 10 new ticket ids are drawn, not the ones read before they left"
    );
}
