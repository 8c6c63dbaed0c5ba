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
    assert_eq!(names, ["flash-sale", "prequeue", "smoke", "ws-hold"]);
}

#[test]
fn the_full_sale_is_the_benchmark_one() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let sale = Scenario::load(&dir.join("flash-sale.toml")).unwrap();
    assert_eq!(sale.shoppers.count, 100_000);
    assert_eq!(sale.event.units, 1_000);
}
