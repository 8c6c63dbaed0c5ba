//! Relaxations for a sale: some rules raised while an event is open, or during a time range.
//!
//! Which events are open is told to the limiter by the service ([`OpenEvents`]); it is read on
//! the request path without a lock.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::clock::UnixMillis;

/// A compiled relaxation.
#[derive(Debug, Clone, PartialEq)]
pub struct Relaxation {
    /// Indices of the rules it raises.
    pub rules: Vec<usize>,
    /// The multiplier in thousandths.
    pub permille: i64,
    /// Applies only while an event (or `event`) is open.
    pub while_event_open: bool,
    /// The event that must be open.
    pub event: Option<String>,
    /// Applies from this time.
    pub from_ms: Option<UnixMillis>,
    /// Applies until this time.
    pub until_ms: Option<UnixMillis>,
}

impl Relaxation {
    /// Whether it applies at `now_ms` with these events open.
    pub fn applies(&self, now_ms: UnixMillis, open: &[String]) -> bool {
        let in_time = self.from_ms.is_none_or(|from| now_ms >= from)
            && self.until_ms.is_none_or(|until| now_ms < until);
        let event_ok = !self.while_event_open
            || match &self.event {
                Some(event) => open.iter().any(|id| id == event),
                None => !open.is_empty(),
            };
        in_time && event_ok
    }
}

/// The events open now, as the service last said.
#[derive(Debug, Default)]
pub struct OpenEvents(ArcSwap<Vec<String>>);

impl OpenEvents {
    /// Marks `event` open or not.
    pub fn set(&self, event: &str, open: bool) {
        self.0.rcu(|current| {
            let mut next: Vec<String> = current.iter().filter(|id| *id != event).cloned().collect();
            if open {
                next.push(event.to_owned());
            }
            Arc::new(next)
        });
    }

    /// The open events.
    pub fn current(&self) -> Arc<Vec<String>> {
        self.0.load_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relaxation_for_an_open_event_applies_only_while_it_is_open() {
        let relax = Relaxation {
            rules: vec![0],
            permille: 1500,
            while_event_open: true,
            event: Some("launch".to_owned()),
            from_ms: None,
            until_ms: None,
        };
        let open = OpenEvents::default();
        assert!(!relax.applies(0, &open.current()));
        open.set("launch", true);
        assert!(relax.applies(0, &open.current()));
        open.set("launch", false);
        assert!(!relax.applies(0, &open.current()));
    }
}
