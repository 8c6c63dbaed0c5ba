//! Every scenario shipped in `load/scenarios/` is valid, so a typo fails here, not at a sale.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use waitroom_sim::scenario::Scenario;

#[test]
fn every_shipped_scenario_loads_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "toml") {
            let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            names.push(scenario.name);
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "calibration",
            "checkout-fault",
            "flash-sale",
            "flash-sale-defended",
            "one-address",
            "prequeue",
            "smoke",
            "smoke-proof",
            "soak",
            "ws-hold"
        ]
    );
}

#[test]
fn the_full_sale_is_the_benchmark_one() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let sale = Scenario::load(&dir.join("flash-sale.toml")).unwrap();
    assert_eq!(sale.shoppers.count, 100_000);
    assert_eq!(sale.event.units, 1_000);
}

#[test]
fn the_full_sale_judges_the_bots_at_one_tenth_above_their_share_of_identities() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let sale = Scenario::load(&dir.join("flash-sale.toml")).unwrap();
    let bot_identities = f64::from(sale.bots.count * sale.bots.identities);
    let share = bot_identities / (bot_identities + f64::from(sale.shoppers.count));
    let limit = sale.bots.max_share_of_admissions.expect("a limit is set");
    assert!(
        (limit - 1.1 * share).abs() < 0.0005,
        "limit {limit}, 1.1 × share {}",
        1.1 * share
    );
}

#[test]
fn the_defended_sale_is_the_full_sale_with_only_its_defences_changed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let sale = Scenario::load(&dir.join("flash-sale.toml")).unwrap();
    let mut defended = Scenario::load(&dir.join("flash-sale-defended.toml")).unwrap();
    assert_eq!(defended.event.opening_window_seconds, 60);
    assert!(defended.event.proof_difficulty > 0);
    assert!(defended.shoppers.device_hashes_per_second > 0.0);
    // Take the defences away: what is left is the full sale, bots and all.
    defended.name = sale.name.clone();
    defended.event.opening_window_seconds = 0;
    defended.event.proof_difficulty = 0;
    defended.shoppers.device_hashes_per_second = 0.0;
    assert_eq!(
        serde_json::to_value(&defended).unwrap(),
        serde_json::to_value(&sale).unwrap()
    );
}

#[test]
fn a_share_of_admissions_outside_zero_to_one_is_refused() {
    let scenario = Scenario::parse("[bots]\ncount = 1\nmax_share_of_admissions = 1.5\n").unwrap();
    let error = scenario.validate().expect_err("refused");
    assert!(
        error.to_string().contains("bots.max_share_of_admissions"),
        "{error}"
    );
}
