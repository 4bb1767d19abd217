//! faultline's pure core: what a distribution network is, what arrives about it, what
//! faultline believes opened, and what it does about it — one event in, output
//! messages out.
//!
//! # What it never does
//! No I/O, no wall clock, no async, no threads: time comes in with each event, and the
//! state is a pure function of the ordered events. So `faultline serve` (every instance
//! of it), `faultline replay` and the storm simulator run the very same code and get
//! the very same stream. The crate's dependencies hold it to that: no tokio, sqlx,
//! actix or awc, and chrono without its `clock` feature.
//!
//! # Layout
//! - [`network`]: the distribution network in memory: graph, feeders,
//!   protective-device chains, customers below each device, spatial index, switching,
//!   and the GeoJSON reader with its validation.
//! - [`events`]: the input events of the contract (CONTRACT section 2), parsed and
//!   checked so nothing invalid reaches the log.
//! - [`inference`]: trouble-call analysis, faultline's scored inference and the classic
//!   roll-up rule as a baseline.
//! - [`orders`]: the work-order state machine and its audit trail.
//! - [`dispatch`]: crews, travel times, service-target clocks, escalation and the
//!   optimal assignment of crews to orders.
//! - [`ids`]: the names faultline gives outages and work orders.
//! - [`engine`]: one event in, output messages out (CONTRACT section 4).
//!
//! Dependencies point one way, top to bottom: `network`; `events`, `inference`;
//! `orders`, `ids`; `dispatch`; `engine`.
#![deny(missing_docs)]

pub mod dispatch;
pub mod engine;
pub mod events;
pub mod ids;
pub mod inference;
pub mod network;
pub mod orders;
