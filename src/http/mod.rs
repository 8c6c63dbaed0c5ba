//! The axum application: the router states each route's middleware chain in order.
//!
//! * [`router`] builds it; [`state::AppState`] is what every handler shares.
//! * [`auth`] and [`admission`] are the authentication and admission steps of the chain;
//!   [`json`] the validation step; [`paths`] parses ids at the edge.
//! * [`event_settings`] keeps events' settings for a moment, so a join is one store round trip.
//! * [`ws`] is the position socket's route; the socket itself is [`crate::live`];
//!   [`socket_slots`] caps open sockets per identity and in total.
//! * [`membership`] keeps visitors out of members-only events; [`visitor_cookie`] sets their
//!   cookie.
//! * [`panic`] turns a handler's panic into a logged `500` problem.
//! * [`pages`] serves the pages (built in, or `static_dir`) with their security headers.
//! * [`routes`] holds the handlers; [`views`] the JSON they answer; [`openapi`] the document.

pub mod admission;
pub mod audit_layer;
pub mod auth;
pub mod checkout_timing;
pub mod event_settings;
pub mod fact_alerts;
pub mod join_defences;
pub mod json;
pub mod membership;
pub mod openapi;
pub mod pages;
pub mod panic;
pub mod paths;
pub mod public_snapshot;
pub mod router;
pub mod routes;
pub mod socket_slots;
pub mod state;
pub mod telemetry;
pub mod views;
pub mod visitor_cookie;
pub mod ws;

pub use router::router;
pub use state::AppState;
