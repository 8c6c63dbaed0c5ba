//! The operators' side of a running sale, apart from HTTP: what an event is made of, live
//! statistics of every event, the events file and the alerts' webhook. The admin API's handlers
//! are under `http::routes::admin_*`; the audit log's entries are kept by [`crate::store::audit`].
//!
//! * [`event_bodies`]: an event as an operator writes it (admin API and events file alike),
//!   validated, and its mapping onto the store's configuration.
//! * [`live_stats`]: one store poll a second per instance feeding the gauges, the admin API's
//!   rates and the dashboard's stream.
//! * [`events_file`]: events kept in a file, applied at start and on every save.
//! * [`retention`]: closed events removed once their retention has run out.
//! * [`webhook`]: alerts posted to the operator's webhook, signed and retried (the rate
//!   limiter's, whose alerts the service raises too).

pub mod event_bodies;
pub mod events_file;
pub mod live_stats;
pub mod retention;
pub use crate::ratelimit::webhook;
