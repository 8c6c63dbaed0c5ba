//! The handlers, one file per resource. Each is the last step of the chain its route states in
//! [`crate::http::router`].

pub mod admin_audit;
pub mod admin_events;
pub mod admin_ratelimit;
pub mod admin_stream;
pub mod challenge;
pub mod checkout;
pub mod checkout_health;
pub mod dashboard;
pub mod draw;
pub mod draw_windows;
pub mod events;
pub mod invitations;
pub mod operations;
pub mod socket_tickets;
pub mod tickets;
