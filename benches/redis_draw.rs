//! The draw and the drains never hold Redis for long: a pre-queue of 1,000,000 entrants filled
//! through the Redis store's joins and drawn, then a queue of 300,000 whose first 200,000 went
//! absent, drained; every command of a millisecond or more logged (`slowlog-log-slower-than 1000`:
//! at 0 the commands the scripts run would fill the log) and the latency monitor set at 50 ms.
//!
//! Then 100,000 admissions ending at once, settled under the same watch; last, a pre-queue of
//! 1,000,000 whose draw was prepared before the start (with 1,000 late joins), drawn with every
//! command logged.
//!
//! `cargo bench --bench redis_draw` (`WAITROOM_DRAW_ENTRANTS=N`, `WAITROOM_DRAIN_WAITING=N`,
//! `WAITROOM_DRAIN_DEPARTED=N`, `WAITROOM_EXPIRING=N` and `WAITROOM_PREPARED_ENTRANTS=N` to change
//! the sizes; 0 leaves a part out).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/crowd.rs"]
mod crowd;
#[path = "../tests/support/events.rs"]
#[allow(dead_code)]
mod events;
#[path = "../tests/support/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;
#[path = "../tests/support/slow_calls.rs"]
#[allow(dead_code)]
mod slow_calls;

use redis_server::RedisServer;
use slow_calls::{BOUND_MICROS, SlowCall, at_least, longest};

/// Commands of this many µs or more are logged.
const LOG_AT_MICROS: u64 = 1_000;

fn size(variable: &str, default: u64) -> u64 {
    std::env::var(variable)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn describe(calls: &[SlowCall]) -> String {
    let over = at_least(calls, BOUND_MICROS);
    let longest = longest(calls).map_or_else(
        || "none".to_owned(),
        |call| format!("{} µs ({})", call.micros, call.command),
    );
    format!(
        "{} commands logged, {} of 50 ms or more; longest {longest}",
        calls.len(),
        over.len()
    )
}

/// Per command seen in `calls`: how many, the median, the 99th percentile and the longest, µs.
fn by_command(calls: &[SlowCall]) -> Vec<(String, usize, u64, u64, u64)> {
    let mut by: std::collections::BTreeMap<&str, Vec<u64>> = Default::default();
    for call in calls {
        by.entry(call.command.as_str())
            .or_default()
            .push(call.micros);
    }
    by.into_iter()
        .map(|(command, mut micros)| {
            micros.sort_unstable();
            let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize];
            (command.to_owned(), micros.len(), at(0.5), at(0.99), at(1.0))
        })
        .collect()
}

/// Prints what one part's calls cost Redis (its slow log by command, the latency events, the
/// longest call); whether no call reached the bound and Redis saw no latency event.
fn within_bound(part: &str, calls: &[SlowCall], spikes: &[(String, u64)]) -> bool {
    println!("{:<23} {}", format!("{part} slowlog"), describe(calls));
    report(calls);
    println!("{:<23} {spikes:?}", format!("{part} latency events"));
    let micros = longest(calls).map_or(0, |call| call.micros);
    println!("{:<23} {micros} µs", format!("longest {part} command"));
    at_least(calls, BOUND_MICROS).is_empty() && spikes.is_empty()
}

fn report(calls: &[SlowCall]) {
    for (command, count, median, p99, longest) in by_command(calls) {
        let command: String = command.chars().take(40).collect();
        println!(
            "  {command:<40} {count:>7} calls: median {median:>6} µs, p99 {p99:>6} µs, longest {longest:>7} µs"
        );
    }
}

#[tokio::main]
async fn main() {
    let entrants = size("WAITROOM_DRAW_ENTRANTS", 1_000_000);
    let waiting = size("WAITROOM_DRAIN_WAITING", 300_000);
    let departed = size("WAITROOM_DRAIN_DEPARTED", 200_000);
    let expiring = size("WAITROOM_EXPIRING", 100_000);
    let prepared = size("WAITROOM_PREPARED_ENTRANTS", 1_000_000);
    let server = RedisServer::start_ahead_of_other_work();
    let mut bound_kept = true;
    if entrants > 0 {
        bound_kept &= draw_and_drain(&server, entrants, waiting, departed).await;
    }
    if expiring > 0 {
        bound_kept &= mass_expiry(&server, expiring).await;
    }
    if prepared > 0 {
        bound_kept &= prepared_draw(&server, prepared).await;
    }
    println!("bound of 50 ms kept     {bound_kept}");
}

/// The draw prepared before the start: whether the bound was kept.
async fn prepared_draw(server: &RedisServer, entrants: u64) -> bool {
    let changes = crowd::PrequeueChanges {
        rejoining_before: 0,
        rejoining_after: 0,
        late: 1_000,
    };
    let run = crowd::draw_a_prepared_crowd(server, entrants, changes, 0).await;
    println!(
        "prepared pre-queue      {} entrants, {} ticket ids held ready",
        run.entrants, run.held
    );
    println!("prepared draw wall time {:.2} s", run.draw.as_secs_f64());
    println!(
        "ticket reads at close   {} draw_tickets calls",
        run.ticket_reads
    );
    let kept = within_bound("prepared", &run.calls, &run.spikes);
    println!("prepared draw verifies  {}", run.verified);
    assert!(run.verified);
    kept
}

/// The mass expiry: whether the bound was kept.
async fn mass_expiry(server: &RedisServer, expiring: u64) -> bool {
    let run = crowd::settle_a_mass_expiry(server, expiring, LOG_AT_MICROS).await;
    println!("admissions ended        {}", run.ended);
    println!(
        "settled                 {} expired, {} still active, in {} calls ({} timed out), {:.2} s in all",
        run.expired,
        run.active,
        run.settling_calls,
        run.timed_out,
        run.wall.as_secs_f64()
    );
    println!(
        "active after 1st call   {:?} (ended admissions left for later calls hold no place)",
        run.active_after_first
    );
    let kept = within_bound("expiry", &run.calls, &run.spikes);
    assert_eq!(run.expired, run.ended);
    kept
}

/// The draw and the drains: whether the bound was kept.
async fn draw_and_drain(server: &RedisServer, entrants: u64, waiting: u64, departed: u64) -> bool {
    let draw = crowd::draw_a_crowd(server, entrants, LOG_AT_MICROS).await;
    println!("pre-queue               {} entrants", draw.entrants);
    println!(
        "fill                    {:.1} s ({:.0} joins/s)",
        draw.fill.as_secs_f64(),
        draw.entrants as f64 / draw.fill.as_secs_f64()
    );
    println!("draw wall time          {:.2} s", draw.draw.as_secs_f64());
    let draw_kept = within_bound("draw", &draw.calls, &draw.spikes);
    println!("draw verifies           {}", draw.verified);

    let drain = crowd::drain_past_the_departed(server, waiting, departed, LOG_AT_MICROS).await;
    println!("queue                   {waiting} waiting, the first {departed} absent");
    println!(
        "drains                  {} drains, {} dropped, at most {} in one, {:.2} s in all",
        drain.drains,
        drain.dropped,
        drain.most_dropped,
        drain.wall.as_secs_f64()
    );
    let drain_kept = within_bound("drain", &drain.calls, &drain.spikes);
    println!(
        "drain admitted          {}",
        if drain.admitted_one_who_stayed {
            "a shopper who stayed"
        } else {
            "an absent shopper"
        }
    );
    assert!(draw.verified && drain.admitted_one_who_stayed);
    draw_kept && drain_kept
}
