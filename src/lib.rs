//! faultline: outage and repair dispatch for electric power distribution utilities.
//!
//! # Layout
//! - [`network`]: the distribution network in memory (pure): graph, feeders,
//!   protective-device chains, customers below each device, spatial index.
//! - [`events`]: the input events of CONTRACT section 2, parsed and validated at the
//!   edge so nothing invalid reaches the log.
//! - [`store`]: the append-only event log (SQLite now, PostgreSQL later) with group
//!   commit; an event is acknowledged only once it is durable.
//! - [`api`]: the actix-web HTTP API (CONTRACT section 3) and `serve`'s start-up.
//! - [`config`]: settings with defaults, overridden by flags and `FAULTLINE_…` variables.
//!
//! Dependencies point one way: `network` and `events` know no I/O; `store` and `api`
//! use them, never the reverse.
#![deny(missing_docs)]

pub mod api;
pub mod bench;
pub mod config;
pub mod demo;
pub mod engine;
pub mod events;
pub mod import;
pub mod inference;
pub mod live;
pub mod network;
pub mod replay;
pub mod serve;
pub mod sim;
pub mod store;
