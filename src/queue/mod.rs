//! The queue as shoppers see it: their place, their wait, and the moment they are let through.

pub mod live;
