//! A [`QueueStore`] that counts every call and the work it asks for, by operation, and passes it
//! on to a real store (see `waitroom::store::wrapped`): the structural tests measure store work per tick with it, and the
//! push-delay tests read when each ticket was admitted by a drain.
//!
//! Work is what the store does, not how often it is asked (as [`AroundCall::around`] counts it):
//! a batch of a thousand shoppers in one call is a thousand shoppers' work.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use waitroom::domain::{DrainOutcome, TicketId};
use waitroom::store::wrapped::{AroundCall, Wrapped};
use waitroom::store::{QueueStore, StoreError};

/// A store whose calls and work are counted per operation name (`"drain"`, `"ticket"`, …).
pub type CountingStore = Wrapped<Counts>;

/// `inner`, counted.
pub fn counting(inner: Arc<dyn QueueStore>) -> CountingStore {
    Wrapped::new(inner, Counts::default())
}

/// Calls and work per operation, and when each ticket was admitted by a drain.
#[derive(Default)]
pub struct Counts {
    calls: Mutex<BTreeMap<&'static str, u64>>,
    work: Mutex<BTreeMap<&'static str, u64>>,
    admitted: Mutex<HashMap<TicketId, Instant>>,
}

impl AroundCall for Counts {
    async fn around<T: Send>(
        &self,
        operation: &'static str,
        work: u64,
        call: impl Future<Output = Result<T, StoreError>> + Send,
    ) -> Result<T, StoreError> {
        *self.calls.lock().unwrap().entry(operation).or_insert(0) += 1;
        *self.work.lock().unwrap().entry(operation).or_insert(0) += work;
        call.await
    }

    fn drained(&self, outcome: &Option<DrainOutcome>) {
        let now = Instant::now();
        if let Some(outcome) = outcome {
            let mut admitted = self.admitted.lock().unwrap();
            for admission in &outcome.admitted {
                admitted.insert(admission.ticket_id, now);
            }
        }
    }
}

impl Counts {
    /// Identities named in presence reports so far: the store's work that follows sockets.
    pub fn reported_identities(&self) -> u64 {
        self.work("presence") - self.calls("presence")
    }

    /// When a drain through this store admitted `ticket`.
    pub fn admitted_at(&self, ticket: TicketId) -> Option<Instant> {
        self.admitted.lock().unwrap().get(&ticket).copied()
    }

    /// Calls of `operation` so far.
    pub fn calls(&self, operation: &str) -> u64 {
        self.calls
            .lock()
            .unwrap()
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Every count of calls so far.
    pub fn all_calls(&self) -> BTreeMap<&'static str, u64> {
        self.calls.lock().unwrap().clone()
    }

    /// Work asked of `operation` so far (see the module's note).
    pub fn work(&self, operation: &str) -> u64 {
        self.work
            .lock()
            .unwrap()
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Every count of work so far.
    pub fn all_work(&self) -> BTreeMap<&'static str, u64> {
        self.work.lock().unwrap().clone()
    }
}
