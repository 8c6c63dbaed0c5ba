//! Admission: who is let through, and the signed, single-use permission to check out.
//!
//! [`follow_checkout`] moves the outflow after the checkout's health as [`checkout_health`]
//! measures it; [`keys`] holds the Ed25519 keys and their JWKS, [`token`] signs and verifies
//! admission tokens, and [`layer`] is the check as a tower layer that any Rust checkout service
//! can add. The ticker that drains each event's queue is in [`crate::live`].

pub mod checkout_health;
pub mod follow_checkout;
pub mod keys;
pub mod layer;
pub mod token;

pub use keys::{KeyError, SigningKeys};
pub use layer::{ADMISSION_TOKEN_HEADER, AdmissionLayer, AdmittedSubject, admission_token};
pub use token::{Admission, AdmissionError, AdmissionVerifier, Expected, sign_admission};
