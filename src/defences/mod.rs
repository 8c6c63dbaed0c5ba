//! What a join may have to show beyond an identity: a proof of work and an invitation.
//!
//! Rate limits judge one identity at a time; a farm of accounts passes them. These defences make
//! each extra identity cost something: CPU time ([`proof_of_work`], with a difficulty that rises
//! on its own during a surge of new identities, [`surge`]) or an operator's invitation
//! ([`invitation`]). Both are self-contained signed strings checked without a store round trip;
//! the store is asked only to count their uses ([`crate::store::QueueStore::claim`]), so a proof
//! is spent once and an invitation serves no more identities than it says, on every instance.

pub mod invitation;
pub mod mac;
pub mod proof_of_work;
pub mod surge;

pub use invitation::{Invitation, InvitationError};
pub use mac::DefenceKeys;
pub use proof_of_work::{Challenge, ProofError, leading_zero_bits, solve};
pub use surge::SurgeMeter;
