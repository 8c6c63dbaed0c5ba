//! The operators' side of a running sale, apart from HTTP: live statistics of every event and
//! the audit log of every admin change.
//!
//! * [`live_stats`]: one store poll a second per instance feeding the gauges, the admin API's
//!   rates and the dashboard's stream.
//! * [`events_file`]: events kept in a file, applied at start and on every save.
//! * [`webhook`]: alerts posted to the operator's webhook, signed and retried.
//! * [`audit`]: the middleware that records who changed what, with the state before and after.

pub mod audit;
pub mod events_file;
pub mod live_stats;
pub mod webhook;
