//! Proof of work at join, paid as the queue page pays it: fetch a challenge, find a decimal
//! nonce such that SHA-256 of `challenge + ":" + nonce` starts with `difficulty` zero bits, and
//! join with both. Shoppers and bots pay alike; the time each solve took goes into the report
//! (`proof solve`, `bot proof solve`).
//!
//! With `shoppers.device_hashes_per_second` set, a shopper's solve stands for one on the
//! shopper's own device: the search still runs here at the event's difficulty (the server checks
//! every proof), and the shopper then waits until the hashes it took would have taken at the
//! device's rate (`proof solve` is that whole time; `proof search here` the search alone). Bots
//! are never slowed this way: they pay the search as it runs here.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::Identity;
use crate::recorder::{Actor, Endpoint};
use crate::sale::Sale;

/// The smallest decimal nonce whose `challenge:nonce` hash starts with `difficulty` zero bits:
/// about `2^difficulty` hashes.
pub fn solve(challenge: &str, difficulty: u8) -> String {
    let mut prefix = Sha256::new();
    prefix.update(challenge.as_bytes());
    prefix.update(b":");
    let mut nonce: u64 = 0;
    loop {
        let text = nonce.to_string();
        let hash = prefix.clone().chain_update(text.as_bytes()).finalize();
        if leading_zero_bits(&hash) >= u32::from(difficulty) {
            return text;
        }
        nonce = nonce.wrapping_add(1);
    }
}

/// How many hashes [`solve`] tried to find `nonce`: it counts up from 0.
pub fn hashes_tried(nonce: &str) -> u64 {
    nonce.parse::<u64>().map_or(1, |n| n.saturating_add(1))
}

/// How long `hashes` take on a device doing `per_second` of them; `None` when no device rate
/// is modelled (0).
pub fn device_time(hashes: u64, per_second: f64) -> Option<Duration> {
    (per_second.is_finite() && per_second > 0.0)
        .then(|| Duration::from_secs_f64(hashes as f64 / per_second))
}

/// How many zero bits `hash` starts with.
pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        if *byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// A proof for one join of `who`, the join body's `proof`, or `None` when no challenge could be
/// had (the join then goes without and meets the server's refusal). The solving runs on a
/// blocking thread, as the page runs it in a worker, so it never stalls the other journeys.
pub async fn prove(sale: &Sale, who: &Identity) -> Option<Value> {
    let reply = sale.api.challenge(who, &sale.event).await.ok()?;
    if !reply.is_success() {
        return None;
    }
    let challenge = reply.text("challenge")?.to_owned();
    let difficulty = reply
        .body
        .get("difficulty")
        .and_then(Value::as_u64)
        .and_then(|d| u8::try_from(d).ok())?;
    let started = Instant::now();
    let puzzle = challenge.clone();
    let nonce = tokio::task::spawn_blocking(move || solve(&puzzle, difficulty))
        .await
        .ok()?;
    let recorder = sale.api.recorder();
    let device_rate = sale.scenario.shoppers.device_hashes_per_second;
    if who.actor == Actor::Shopper
        && let Some(on_device) = device_time(hashes_tried(&nonce), device_rate)
    {
        recorder.latency(who.actor, Endpoint::ProofSearch, started.elapsed());
        tokio::time::sleep_until((started + on_device).into()).await;
    }
    recorder.latency(who.actor, Endpoint::ProofSolve, started.elapsed());
    Some(json!({"challenge": challenge, "nonce": nonce}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits_of(challenge: &str, nonce: &str) -> u32 {
        leading_zero_bits(&Sha256::digest(format!("{challenge}:{nonce}").as_bytes()))
    }

    #[test]
    fn a_device_takes_the_hashes_tried_at_its_rate() {
        assert_eq!(hashes_tried("0"), 1);
        assert_eq!(hashes_tried("1023"), 1024);
        assert_eq!(
            device_time(144_000, 144_000.0),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            device_time(hashes_tried("71"), 1_000.0),
            Some(Duration::from_millis(72))
        );
        assert_eq!(device_time(1_000, 0.0), None);
        let nonce = solve("p1.sale.1.12.abc.def", 8);
        assert!(bits_of("p1.sale.1.12.abc.def", &nonce) >= 8);
        assert_eq!(hashes_tried(&nonce), nonce.parse::<u64>().unwrap() + 1);
    }

    #[test]
    fn leading_zero_bits_count_across_bytes() {
        assert_eq!(leading_zero_bits(&[0xff]), 0);
        assert_eq!(leading_zero_bits(&[0x00, 0x10]), 11);
        assert_eq!(leading_zero_bits(&[0x00, 0x00]), 16);
    }

    #[test]
    fn a_solution_has_the_zero_bits_asked_and_is_the_smallest() {
        for difficulty in [0, 4, 8, 12] {
            let nonce = solve("p1.sale.1.12.abc.def", difficulty);
            assert!(bits_of("p1.sale.1.12.abc.def", &nonce) >= u32::from(difficulty));
            let found: u64 = nonce.parse().unwrap_or(u64::MAX);
            for smaller in 0..found {
                assert!(
                    bits_of("p1.sale.1.12.abc.def", &smaller.to_string()) < u32::from(difficulty)
                );
            }
        }
        assert_eq!(solve("anything", 0), "0");
    }
}
