//! The store's calls timed, and their failures counted, whatever store is wrapped.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use metrics::Histogram;

use super::metrics::{STORE_DURATION, STORE_ERRORS};
use crate::store::wrapped::{AroundCall, Wrapped};
use crate::store::{QueueStore, StoreError};

/// Around every call: `waitroom_store_operation_duration_seconds{operation}` and
/// `waitroom_store_errors_total{operation,kind}`.
pub struct Timed;

impl Timed {
    /// Times the calls made to `inner`.
    pub fn wrap(inner: Arc<dyn QueueStore>) -> Arc<dyn QueueStore> {
        Arc::new(Wrapped::new(inner, Timed))
    }
}

impl AroundCall for Timed {
    async fn around<T: Send>(
        &self,
        operation: &'static str,
        _work: u64,
        call: impl Future<Output = Result<T, StoreError>> + Send,
    ) -> Result<T, StoreError> {
        timed(operation, call).await
    }
}

/// Runs one store call, recording its latency and, when it fails, its failure.
async fn timed<T>(
    operation: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let result = call.await;
    record_duration(operation, started.elapsed().as_secs_f64());
    if let Err(error) = &result {
        let kind = match error {
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Corrupt(_) => "corrupt",
        };
        metrics::counter!(STORE_ERRORS, "operation" => operation, "kind" => kind).increment(1);
    }
    result
}

thread_local! {
    /// Each worker thread's duration histograms by operation: a recorder lookup per call (a key
    /// hashed, a shared map read) would cost as much as a memory store's answer.
    static DURATIONS: RefCell<Vec<(&'static str, Histogram)>> = const { RefCell::new(Vec::new()) };
}

fn record_duration(operation: &'static str, seconds: f64) {
    // Handles are kept only once the process's recorder is in place: before, they are no-ops.
    if !super::metrics::installed() {
        metrics::histogram!(STORE_DURATION, "operation" => operation).record(seconds);
        return;
    }
    DURATIONS.with_borrow_mut(|durations| {
        if let Some((_, histogram)) = durations.iter().find(|(known, _)| *known == operation) {
            return histogram.record(seconds);
        }
        let histogram = metrics::histogram!(STORE_DURATION, "operation" => operation);
        histogram.record(seconds);
        durations.push((operation, histogram));
    });
}
