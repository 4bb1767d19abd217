//! The names of the objects faultline makes, one place for both the engine and
//! dispatch: outages are `OUT-<n>` and work orders `WO-<n>`, numbered from 1 in the
//! order the engine makes them (so every replica and replay names them alike).
//!
//! Crews, customers, devices and reports are named by whoever sends them (the network
//! file, a crew's own event, the call centre) and stay the strings they were given.

use std::fmt;

/// An outage's number; written `OUT-<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutageId(pub u64);

/// A work order's number; written `WO-<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(pub u64);

impl OutageId {
    /// The number in `OUT-<n>`, if `s` is one.
    pub fn parse(s: &str) -> Option<Self> {
        s.strip_prefix("OUT-")?.parse().ok().map(Self)
    }
}

impl OrderId {
    /// The number in `WO-<n>`, if `s` is one.
    pub fn parse(s: &str) -> Option<Self> {
        s.strip_prefix("WO-")?.parse().ok().map(Self)
    }
}

impl fmt::Display for OutageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OUT-{}", self.0)
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WO-{}", self.0)
    }
}

/// `OUT-<n>`.
pub fn outage_name(n: u64) -> String {
    OutageId(n).to_string()
}

/// The number in `OUT-<n>`.
pub fn parse_outage_name(s: &str) -> Option<u64> {
    OutageId::parse(s).map(|id| id.0)
}

/// `WO-<n>`.
pub fn order_name(n: u64) -> String {
    OrderId(n).to_string()
}

/// The number in `WO-<n>`.
pub fn parse_order_name(s: &str) -> Option<u64> {
    OrderId::parse(s).map(|id| id.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_written_and_read_back() {
        assert_eq!(OutageId(12).to_string(), "OUT-12");
        assert_eq!(OrderId::parse("WO-7"), Some(OrderId(7)));
        assert_eq!(OutageId::parse("WO-7"), None);
        assert_eq!(OrderId::parse("WO-x"), None);
    }
}
