//! The adaptive API rate limiter.
pub mod decision;
pub mod gcra;
pub mod outcome;
pub mod penalty;
pub mod sliding_window;
pub mod store;
