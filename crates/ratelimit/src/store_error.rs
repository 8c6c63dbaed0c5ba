//! What a store failing means to its caller: the limiter's, and the queue's that shares its Redis
//! connection.

/// The store could not do its work: it is unreachable or answered something unexpected.
///
/// Domain outcomes (sold out, not admitted, …) are never errors: they are values of the
/// operations' outcome types.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached now; the caller may retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store answered something this version does not understand.
    #[error("store answered unexpectedly: {0}")]
    Corrupt(String),
}
