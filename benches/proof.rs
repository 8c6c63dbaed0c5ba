//! What checking a proof of work at join costs the server, against one bare SHA-256 of the same
//! `challenge:nonce` text (the least any check could do). The check parses the challenge,
//! recomputes its HMAC with the shopper's identity and hashes the proof once.
//!
//! `cargo bench --bench proof`. Absolute times drift with the machine: read the ratio of
//! `verify` to `sha256 of challenge:nonce` from the same run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use waitroom::defences::{Challenge, DefenceKeys, proof_of_work, solve};
use waitroom::domain::{EventId, Identity};

/// The difficulty the bench's proof carries; the check's cost does not depend on it.
const DIFFICULTY: u8 = 16;

fn proof_check(c: &mut Criterion) {
    let keys = DefenceKeys::from_secret([7; 32]);
    let event = EventId::parse("spring-drop").unwrap();
    let identity = Identity::user("shopper-42").unwrap();
    let now = 1_800_000_000_000;
    let challenge = Challenge::issue(&keys, &event, &identity, DIFFICULTY, now);
    let nonce = solve(&challenge.text, DIFFICULTY);
    let input = format!("{}:{nonce}", challenge.text);
    proof_of_work::verify(
        &keys,
        &event,
        &identity,
        DIFFICULTY,
        &challenge.text,
        &nonce,
        now + 1,
    )
    .unwrap();

    let mut group = c.benchmark_group("proof of work");
    group.bench_function("sha256 of challenge:nonce", |b| {
        b.iter(|| Sha256::digest(black_box(input.as_bytes())));
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            proof_of_work::verify(
                &keys,
                &event,
                black_box(&identity),
                DIFFICULTY,
                black_box(&challenge.text),
                black_box(&nonce),
                now + 1,
            )
        });
    });
    group.finish();
}

criterion_group!(benches, proof_check);
criterion_main!(benches);
