//! Alerts of facts the whole cluster sees: an event sold out, the store down, the store back.
//!
//! Every instance looks once a second (the store's answer to a ping, and the events' statuses
//! of the live statistics) and raises an alert when a fact changes; the limiter's claim in the
//! store makes one instance send it ([`RateLimiter::raise_alert`]). What an instance finds at its
//! first look is where it starts, not news: a restart does not alert events long sold out.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::admin::live_stats::LiveStats;
use crate::clock::{Clock, UnixMillis};
use crate::ratelimit::RateLimiter;
use crate::ratelimit::alerts::Alert;
use crate::store::QueueStore;

/// How often an instance looks.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How long the store may take to answer the ping before it counts as down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// What one instance knew at its last look.
#[derive(Debug, Default)]
pub struct FactWatch {
    looked: bool,
    down_since: Option<UnixMillis>,
    sold_out: HashSet<String>,
}

impl FactWatch {
    /// The alerts one look at `now_ms` raises: `store` is the ping's answer, `sold_out` the
    /// events sold out now.
    pub fn look<'a>(
        &mut self,
        now_ms: UnixMillis,
        store: Result<(), String>,
        sold_out: impl IntoIterator<Item = &'a str>,
    ) -> Vec<Alert> {
        let mut alerts = Vec::new();
        match (store, self.down_since) {
            (Err(error), None) => {
                self.down_since = Some(now_ms);
                alerts.push(Alert::StoreDown { error });
            }
            (Ok(()), Some(since)) => {
                self.down_since = None;
                alerts.push(Alert::StoreBack {
                    down_seconds: (now_ms - since) as f64 / 1000.0,
                });
            }
            _ => {}
        }
        let now: HashSet<String> = sold_out.into_iter().map(str::to_owned).collect();
        if self.looked {
            let mut new: Vec<&String> = now.difference(&self.sold_out).collect();
            new.sort();
            alerts.extend(new.into_iter().map(|event| Alert::SoldOut {
                event: event.clone(),
            }));
        }
        // An outage hides the statuses: keep what was known until the store answers again.
        if self.down_since.is_none() {
            self.sold_out = now;
        }
        self.looked = true;
        alerts
    }
}

/// Looks every second until `shutdown` turns true, raising what changed.
pub fn watch_facts(
    limiter: Arc<RateLimiter>,
    store: Arc<dyn QueueStore>,
    live_stats: Arc<LiveStats>,
    clock: Arc<dyn Clock>,
    shutdown: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut facts = FactWatch::default();
        let mut beat = crate::clock::Every::new(LOOK_EVERY, shutdown);
        while beat.tick().await {
            let ping = match tokio::time::timeout(PING_TIMEOUT, store.ping()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err("the store did not answer in time".to_owned()),
            };
            let frame = live_stats.latest();
            let sold_out = frame
                .events
                .iter()
                .filter(|event| event.status == "sold_out")
                .map(|event| event.id.as_str());
            for alert in facts.look(clock.now_ms(), ping, sold_out) {
                limiter.raise_alert(alert).await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(alerts: &[Alert]) -> Vec<&'static str> {
        alerts.iter().map(Alert::kind).collect()
    }

    #[test]
    fn an_event_found_sold_out_at_the_first_look_is_not_news_one_selling_out_later_is() {
        let mut facts = FactWatch::default();
        assert!(facts.look(0, Ok(()), ["old"]).is_empty());
        assert!(facts.look(1_000, Ok(()), ["old"]).is_empty());
        let alerts = facts.look(2_000, Ok(()), ["old", "new"]);
        assert_eq!(
            alerts,
            [Alert::SoldOut {
                event: "new".into()
            }]
        );
        assert!(facts.look(3_000, Ok(()), ["old", "new"]).is_empty());
    }

    #[test]
    fn the_store_going_away_and_coming_back_is_alerted_once_each() {
        let mut facts = FactWatch::default();
        facts.look(0, Ok(()), []);
        assert_eq!(
            kinds(&facts.look(1_000, Err("refused".into()), [])),
            ["store_down"]
        );
        assert!(facts.look(2_000, Err("refused".into()), []).is_empty());
        let back = facts.look(4_500, Ok(()), []);
        assert_eq!(back, [Alert::StoreBack { down_seconds: 3.5 }]);
    }
}
