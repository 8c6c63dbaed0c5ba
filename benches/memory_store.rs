//! Memory-store bytes per waiting shopper, and how long each join holds the event.
//!
//! Joins N shoppers (user ids are 36-character UUIDs, as shops' accounts commonly are) to one
//! event on the [`MemoryStore`], no HTTP in between, and counts the heap the store keeps for
//! them: live bytes before and after, through a counting allocator (exact, what was asked of the
//! allocator), and the process's resident memory (`VmRSS`, the allocator's own overhead
//! included). Every join is timed alone: one join is one hold of the event's lock, so the
//! slowest joins show what the table's growth costs the shoppers queued behind it.
//!
//! Two events are measured: one open (shoppers join the queue, which is the case sales spend
//! the most shoppers in) and one before its start (the pre-queue, drawn at the start).
//!
//! `cargo bench --bench memory_store` (N = 1,000,000; `WAITROOM_MEMORY_SHOPPERS=N` to change it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::System;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use cap::Cap;
use uuid::Uuid;
use waitroom::clock::{Clock, SystemClock};
use waitroom::domain::{EventConfig, EventId, Identity, JoinOutcome, Sku, TicketId};
use waitroom::store::QueueStore;
use waitroom::store::memory::MemoryStore;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// The process's resident memory in bytes, from `/proc/self/status` (0 where there is none).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1_024)
}

/// The demo sale with what the bench needs: one SKU, no cap, an outflow of one a second, and
/// shoppers who stay an hour without a page.
fn event(id: &str, starts_at: i64, now: i64) -> EventConfig {
    let demo = waitroom::config::demo_event(now - 60_000).unwrap();
    EventConfig {
        id: EventId::parse(id).unwrap(),
        name: id.into(),
        starts_at,
        prequeue_opens_at: Some(now - 60_000),
        outflow_milli_per_second: 1_000,
        outflow_burst: 1,
        max_active: None,
        cap_follows_stock: false,
        admission_ttl_seconds: 600,
        inventory: BTreeMap::from([(Sku::parse("TSHIRT").unwrap(), 1_000)]),
        abandon_after_seconds: 3_600,
        ..demo
    }
}

/// The `q`-quantile of sorted nanoseconds, in milliseconds.
fn quantile_ms(sorted: &[u64], q: f64) -> f64 {
    let at = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at] as f64 / 1e6
}

/// Joins `shoppers` to `event` one after another; prints what the store kept and the joins'
/// times, and returns the bytes per shopper (counted).
async fn measure(store: &MemoryStore, label: &str, event: &EventId, shoppers: u64) -> f64 {
    // Room for every join's time, taken before the baseline so it is not counted.
    let mut took: Vec<u64> = Vec::with_capacity(shoppers as usize);
    let (heap_before, rss_before) = (ALLOCATOR.allocated(), resident_bytes());
    let began = Instant::now();
    for _ in 0..shoppers {
        let identity = Identity::user(&Uuid::new_v4().to_string()).unwrap();
        let ticket_id = TicketId::random();
        let start = Instant::now();
        let joined = store.join(event, &identity, ticket_id).await.unwrap();
        took.push(start.elapsed().as_nanos() as u64);
        assert!(matches!(joined, JoinOutcome::Joined { created: true, .. }));
    }
    let elapsed = began.elapsed();
    let (heap_after, rss_after) = (ALLOCATOR.allocated(), resident_bytes());
    let stats = store.stats(event).await.unwrap().unwrap();
    assert_eq!(stats.queue_length, shoppers);

    let per = |before: u64, after: u64| after.saturating_sub(before) as f64 / shoppers as f64;
    let counted = per(heap_before as u64, heap_after as u64);
    // The slowest joins and where they fell: a table's growth stalls at the same join numbers
    // run after run, while the machine's other work stalls anywhere.
    let mut slowest: Vec<(u64, usize)> = took.iter().copied().zip(1..).collect();
    slowest.sort_unstable_by(|a, b| b.cmp(a));
    slowest.truncate(5);
    took.sort_unstable();
    let over_1ms = took.iter().filter(|ns| **ns > 1_000_000).count();
    let over_20ms = took.iter().filter(|ns| **ns > 20_000_000).count();
    println!("{label}: {shoppers} shoppers waiting");
    println!("  heap kept (counted)     {:.1} bytes a shopper", counted);
    println!(
        "  resident memory (RSS)   {:.1} bytes a shopper",
        per(rss_before, rss_after)
    );
    println!(
        "  joins                   {:.1} s ({:.0}/s, one at a time)",
        elapsed.as_secs_f64(),
        shoppers as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  join time               p50 {:.4} ms, p99 {:.4} ms, p99.9 {:.4} ms, max {:.1} ms",
        quantile_ms(&took, 0.50),
        quantile_ms(&took, 0.99),
        quantile_ms(&took, 0.999),
        quantile_ms(&took, 1.0),
    );
    println!("  joins over 1 ms         {over_1ms} (over 20 ms: {over_20ms})");
    let slowest: Vec<String> = slowest
        .iter()
        .map(|(ns, n)| format!("#{n} {:.1} ms", *ns as f64 / 1e6))
        .collect();
    println!("  slowest joins           {}", slowest.join(", "));
    counted
}

fn main() {
    let shoppers: u64 = std::env::var("WAITROOM_MEMORY_SHOPPERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = MemoryStore::new(Arc::new(SystemClock));
        let now = SystemClock.now_ms();
        let open = EventId::parse("open").unwrap();
        let later = EventId::parse("later").unwrap();
        store.create_event(&event("open", now, now)).await.unwrap();
        let day = 24 * 3_600 * 1_000;
        store
            .create_event(&event("later", now + day, now))
            .await
            .unwrap();
        println!(
            "identity length         {} bytes",
            Identity::user(&Uuid::new_v4().to_string())
                .unwrap()
                .as_str()
                .len()
        );
        let queued = measure(&store, "open event (queue)", &open, shoppers).await;
        measure(&store, "before the start (pre-queue)", &later, shoppers).await;
        println!("memory store bytes per waiting shopper: {queued:.1}");
    });
}
