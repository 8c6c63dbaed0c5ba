//! Letting shoppers through: the outflow ticker that drains each event's queue and fans the result
//! out to live sockets, and the admission tokens handed to those it lets through.

pub mod outflow;
