//! The in-process decision of `benches/ratelimit.rs` (same rules, keys and path), without the
//! timing: N checks of waitroom's limiter, then N of governor's keyed one, each behind a function
//! that is never inlined, so that an instruction counter attributes them. On this shared, noisy
//! machine instruction counts are the figure that does not move between runs:
//!
//! ```text
//! cargo bench --bench ratelimit_profile --no-run
//! valgrind --tool=callgrind target/release/deps/ratelimit_profile-<hash> 100000
//! callgrind_annotate --inclusive=yes callgrind.out.<pid> | grep _check
//! ```
#[path = "support/in_process.rs"]
mod in_process;

use std::hint::black_box;

use axum::http::HeaderMap;
use in_process::{KEYS, governor, governor_check, limiter, waitroom_check};

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let ours = limiter();
    let theirs = governor();
    let headers = HeaderMap::new();
    for i in 0..KEYS * 2 {
        waitroom_check(&ours, &headers, i);
        governor_check(&theirs, i);
    }
    let mut ok = 0;
    for i in 0..n {
        ok += black_box(waitroom_check(&ours, &headers, i)) as u32;
    }
    for i in 0..n {
        ok += black_box(governor_check(&theirs, i)) as u32;
    }
    println!("{ok}");
}
