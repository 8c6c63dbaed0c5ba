//! No script call holds Redis for 50 ms, however large the crowd: a pre-queue of 50,000 drawn,
//! and drains meeting 20,000 shoppers who went absent. The same runs at 1,000,000 and 200,000
//! are `cargo bench --bench redis_draw`.
//!
//! A busy machine can stall the server in the middle of a command, which the SLOWLOG counts as
//! that command's time. A run that saw a long command is made once more on a fresh server: work
//! is long both times, a stall seldom twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::crowd::{drain_past_the_departed, draw_a_crowd};
use support::redis_server::RedisServer;
use support::slow_calls::{BOUND_MICROS, SlowCall, at_least};
use waitroom::queue::MOST_DROPPED_PER_DRAIN;

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
