//! The operators' side of a running sale, apart from HTTP: live statistics of every event, the
//! events file and the alerts' webhook (the audit log's middleware is
//! [`crate::http::audit_layer`]; its entries are kept by [`crate::store::audit`]).
//!
//! * [`live_stats`]: one store poll a second per instance feeding the gauges, the admin API's
//!   rates and the dashboard's stream.
//! * [`events_file`]: events kept in a file, applied at start and on every save.
//! * [`webhook`]: alerts posted to the operator's webhook, signed and retried.

pub mod events_file;
pub mod live_stats;
pub mod webhook;
