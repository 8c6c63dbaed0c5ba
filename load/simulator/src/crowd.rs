//! The crowd drawn before the run: who comes, when, and what each will do. Drawn from a seed so
//! two runs of a scenario face the server with the same crowd.

use std::net::Ipv6Addr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::recorder::Actor;
use crate::scenario::{Arrival, Scenario};
use crate::shopper::ShopperChoices;
use crate::sign_in::Pending;

/// The times that frame the sale (Unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    /// When the event is created.
    pub created_ms: i64,
    /// When the sale starts.
    pub starts_at_ms: i64,
    /// When the first arrival comes.
    pub first_arrival_ms: i64,
}

impl Timeline {
    /// The timeline of a scenario whose event is created at `created_ms`. A pre-queue window
    /// ends a second before the start so every pre-queue join lands before the draw.
    pub fn plan(scenario: &Scenario, created_ms: i64) -> Self {
        let lead_ms = seconds_to_ms(scenario.run.lead_seconds);
        let window_ms = seconds_to_ms(scenario.shoppers.arrival_seconds);
        let first_arrival_ms = created_ms + lead_ms;
        let starts_at_ms = match scenario.shoppers.arrival {
            Arrival::Prequeue => first_arrival_ms + window_ms + 1_000,
            Arrival::AtStart | Arrival::Ramp => first_arrival_ms,
        };
        Self {
            created_ms,
            starts_at_ms,
            first_arrival_ms,
        }
    }

    /// When shopper `index` of `count` arrives.
    pub fn arrival_ms(&self, scenario: &Scenario, index: u32, count: u32) -> i64 {
        let window_ms = seconds_to_ms(scenario.shoppers.arrival_seconds) as f64;
        let share = f64::from(index) / f64::from(count.max(1));
        match scenario.shoppers.arrival {
            Arrival::AtStart => self.starts_at_ms,
            Arrival::Ramp | Arrival::Prequeue => self.first_arrival_ms + (share * window_ms) as i64,
        }
    }
}

fn seconds_to_ms(seconds: f64) -> i64 {
    (seconds * 1_000.0).round() as i64
}

/// The identities to sign in: shoppers first, then every bot's identities.
pub fn identities(scenario: &Scenario, run_tag: &str) -> Vec<Pending> {
    let run = &scenario.run;
    let (forwarded, one_address) = (run.forwarded_for, run.one_address);
    // Behind one NAT, shoppers and bots alike come from the one address.
    let address = move |crowd: u16, index: u32| match (one_address, forwarded) {
        (true, _) => Some(documentation_address(0, 0)),
        (false, true) => Some(documentation_address(crowd, index)),
        (false, false) => None,
    };
    let shoppers = (0..scenario.shoppers.count).map(move |index| Pending {
        user_id: format!("shopper-{run_tag}-{index}"),
        forwarded_for: address(0, index),
        actor: Actor::Shopper,
    });
    let bots = (0..scenario.bots.count).flat_map(move |bot| {
        (0..scenario.bots.identities).map(move |identity| Pending {
            user_id: format!("bot-{run_tag}-{bot}-{identity}"),
            // A bot's identities share its one address: the limiter can see them together.
            forwarded_for: address(1, bot),
            actor: Actor::Bot,
        })
    });
    shoppers.chain(bots).collect()
}

/// An address of the documentation range 2001:db8::/32, never routed anywhere: it only names a
/// client in `X-Forwarded-For`.
fn documentation_address(crowd: u16, index: u32) -> String {
    let [high, low] = [(index >> 16) as u16, index as u16];
    Ipv6Addr::new(0x2001, 0x0db8, crowd, 0, 0, 0, high, low).to_string()
}

/// Draws what every shopper will do.
pub fn shopper_choices(
    scenario: &Scenario,
    timeline: &Timeline,
    seed: u64,
    skus: &[String],
) -> Vec<ShopperChoices> {
    let mut rng = StdRng::seed_from_u64(seed);
    let plan = &scenario.shoppers;
    let patience_ms = (seconds_to_ms(scenario.run.max_seconds) / 2).max(1);
    (0..plan.count)
        .map(|index| ShopperChoices {
            arrival_ms: timeline.arrival_ms(scenario, index, plan.count),
            on_socket: rng.gen_bool(plan.websocket_share),
            leaves_after: rng
                .gen_bool(plan.abandon_share)
                .then(|| Duration::from_millis(rng.gen_range(0..patience_ms) as u64)),
            pays: !rng.gen_bool(plan.unpaid_share),
            sku: pick(&mut rng, skus),
        })
        .collect()
}

/// A SKU drawn at random (bots and shoppers spread over all of them).
pub fn pick(rng: &mut impl Rng, skus: &[String]) -> String {
    if skus.is_empty() {
        return String::new();
    }
    skus[rng.gen_range(0..skus.len())].clone()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_prequeue_ends_before_the_start() {
        let scenario = Scenario::parse(
            "[shoppers]\narrival = \"prequeue\"\narrival_seconds = 5\ncount = 10\n",
        )
        .unwrap();
        let timeline = Timeline::plan(&scenario, 0);
        let last = timeline.arrival_ms(&scenario, 9, 10);
        assert!(
            last < timeline.starts_at_ms,
            "{last} vs {}",
            timeline.starts_at_ms
        );
    }

    #[test]
    fn a_ramp_spreads_arrivals_after_the_start() {
        let scenario =
            Scenario::parse("[shoppers]\narrival = \"ramp\"\narrival_seconds = 10\n").unwrap();
        let timeline = Timeline::plan(&scenario, 0);
        assert_eq!(timeline.arrival_ms(&scenario, 0, 10), timeline.starts_at_ms);
        assert_eq!(
            timeline.arrival_ms(&scenario, 5, 10),
            timeline.starts_at_ms + 5_000
        );
    }

    #[test]
    fn each_bot_has_its_identities_on_one_address() {
        let scenario = Scenario::parse("[shoppers]\ncount = 2\n[bots]\ncount = 2\nidentities = 3\n[run]\nforwarded_for = true\n").unwrap();
        let crowd = identities(&scenario, "t");
        assert_eq!(crowd.len(), 8);
        assert_eq!(crowd[2].forwarded_for, crowd[4].forwarded_for);
        assert_ne!(crowd[4].forwarded_for, crowd[5].forwarded_for);
        assert_ne!(crowd[0].forwarded_for, crowd[1].forwarded_for);
    }

    #[test]
    fn in_one_address_mode_everyone_shares_one_address() {
        let scenario = Scenario::parse(
            "[shoppers]\ncount = 3\n[bots]\ncount = 1\nidentities = 2\n[run]\none_address = true\n",
        )
        .unwrap();
        let crowd = identities(&scenario, "t");
        assert_eq!(crowd.len(), 5);
        assert!(crowd[0].forwarded_for.is_some());
        assert!(
            crowd
                .iter()
                .all(|who| who.forwarded_for == crowd[0].forwarded_for)
        );
    }
}
