//! The words of the domain as types that are valid by construction.
//!
//! Input from outside (paths, bodies, tokens) is parsed into these types at the edge; code past the
//! edge never re-checks an event id or a quantity.

mod branding;
mod claim;
mod color;
mod draw_record;
mod event;
mod event_change;
mod ids;
mod presence;
mod purchase;
mod ticket;

pub use crate::ratelimit::tier::Tier;
pub use branding::{LocalText, PageBranding, PageColors, PageLink, ShopperColors, ShopperPage};
pub use claim::{Claim, ClaimOutcome, claim_step};
pub use color::{Rgb, contrast_ratio, readable_ink};
pub use draw_record::{DrawPage, DrawPageOutcome, DrawPageRequest, WindowPage};
pub use event::{
    CheckoutTarget, EventConfig, EventStatus, JoinDefences, Mode, OperatorStatus, Retention,
    event_status,
};
pub use event_change::{ChangeError, EventChange};
pub use ids::{EventId, Identity, InvalidId, OrderId, Sku, TicketId};
pub use presence::{DrainNotice, InstanceId, PresenceReport};
pub use purchase::{
    Holdings, PurchaseLimit, UnitLimit, broken_limit, left_in_stock, units_kept_per_admission,
};
pub use ticket::{
    Admitted, DrainOutcome, DrawOutcome, EventStats, JoinOutcome, Order, OrderItem, OrderStatus,
    PayOutcome, ReserveOutcome, ReserveRequest, Ticket, TicketStatus,
};
