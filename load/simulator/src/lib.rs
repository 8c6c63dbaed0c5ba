//! waitroom-sim plays a flash sale against a waitroom server and reports its speed and fairness.
//!
//! A run, and the module that holds each step:
//!
//! * [`scenario`] reads the sale to play from a small TOML file, every field defaulted.
//! * [`crowd`] draws the crowd from a seed: who comes, when, and what each will do.
//! * [`sign_in`] gets user tokens: dev login, or HS256 tokens minted with the server's secret.
//! * [`run`] creates the event through the admin API and plays every journey while [`sampler`]
//!   watches the queue; [`sale`] is what all journeys share.
//! * [`shopper`] and [`bot`] are the two kinds of journey, built from the [`steps`] they share;
//!   [`queue_socket`] is the WebSocket a shopper waits on, bound to a source address from
//!   [`source_address`] so tens of thousands fit on loopback.
//! * [`api`] is the HTTP contract as a client; [`recorder`] keeps latencies and errors,
//!   [`journey`] the record of each identity, and [`clock`] the run's wall-clock time.
//! * [`proof`] pays the proof of work an event may ask at join.
//! * [`checkout_fault`] plays a shop's checkout that slows down and fails on purpose, and
//!   [`follow_watch`] reports its health and watches the outflow follow it.
//! * [`report`] turns all of it into figures, a verdict, Markdown, JSON and SVG plots.

pub mod api;
pub mod bot;
pub mod checkout_fault;
pub mod clock;
pub mod crowd;
pub mod follow_watch;
pub mod journey;
pub mod proof;
pub mod queue_socket;
pub mod recorder;
pub mod report;
pub mod run;
pub mod sale;
pub mod sampler;
pub mod scenario;
pub mod shopper;
pub mod sign_in;
pub mod source_address;
pub mod steps;
