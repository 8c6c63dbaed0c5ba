//! In-process rate-limit decision: waitroom's limiter (memory store, the shipped rule set matched
//! for every request, client identified from the peer) against the `governor` crate's keyed
//! limiter (a DashMap of GCRA cells keyed by IP), in the same run, on the same keys.
//!
//! `cargo bench --bench ratelimit` prints, before criterion's own report, the median and p99 of
//! single checks timed one by one (each figure includes one `Instant::now()` pair, the same for
//! both), alternating the two limiters A B A B, and their ratios.

#[path = "support/in_process.rs"]
mod in_process;

use std::hint::black_box;
use std::time::Instant;

use axum::http::HeaderMap;
use criterion::{Criterion, criterion_group};
use in_process::{KEYS, governor, governor_check, limiter, waitroom_check};

/// Nanoseconds of `rounds` single checks, sorted.
fn timed(rounds: u32, start: u32, mut check: impl FnMut(u32) -> bool) -> Vec<u64> {
    let mut samples: Vec<u64> = (start..start + rounds)
        .map(|i| {
            let t = Instant::now();
            black_box(check(i));
            u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX)
        })
        .collect();
    samples.sort_unstable();
    samples
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or(0)
}

fn median_of(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

/// A B A B: five alternating rounds of 200,000 checks each; medians of the rounds' figures.
fn percentile_report() {
    let ours = limiter();
    let theirs = governor();
    let headers = HeaderMap::new();
    // Warm both: every key exists before timing.
    for i in 0..KEYS * 2 {
        waitroom_check(&ours, &headers, i);
        governor_check(&theirs, i);
    }
    let (mut our_median, mut our_p99, mut their_median, mut their_p99) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..5 {
        let start = round * 200_000;
        let a = timed(200_000, start, |i| waitroom_check(&ours, &headers, i));
        let b = timed(200_000, start, |i| governor_check(&theirs, i));
        our_median.push(percentile(&a, 0.5));
        our_p99.push(percentile(&a, 0.99));
        their_median.push(percentile(&b, 0.5));
        their_p99.push(percentile(&b, 0.99));
    }
    let (om, op) = (median_of(&mut our_median), median_of(&mut our_p99));
    let (tm, tp) = (median_of(&mut their_median), median_of(&mut their_p99));
    println!("in-process check, {KEYS} client keys, single checks timed one by one:");
    println!("  waitroom (rules + identity + memory store): median {om} ns, p99 {op} ns");
    println!("  governor keyed (DashMap, check_key):        median {tm} ns, p99 {tp} ns");
    println!(
        "  ratio waitroom/governor: median {:.2}x, p99 {:.2}x",
        om as f64 / tm.max(1) as f64,
        op as f64 / tp.max(1) as f64
    );
}

fn in_process(c: &mut Criterion) {
    let ours = limiter();
    let theirs = governor();
    let headers = HeaderMap::new();
    let mut group = c.benchmark_group("in_process_check");
    let mut i = 0_u32;
    group.bench_function("waitroom", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            waitroom_check(&ours, &headers, i)
        })
    });
    group.bench_function("governor_keyed", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            governor_check(&theirs, i)
        })
    });
    group.finish();
}

criterion_group!(benches, in_process);

fn main() {
    percentile_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
