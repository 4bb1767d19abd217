//! faultline: outage and repair dispatch for electric power distribution utilities.
//!
//! # Layout
//! The pure core is the crate `faultline-core` (crates/faultline-core), re-exported
//! here under the same names — [`network`], [`events`], [`inference`], [`orders`],
//! [`dispatch`], [`ids`], [`engine`] — and it does no I/O, reads no wall clock and
//! spawns nothing: its dependencies cannot (time comes in with each event).
//!
//! This crate is the server and the tools around that core:
//! - [`store`]: the append-only event log (SQLite, or PostgreSQL shared by several
//!   instances) with group commit; an event is acknowledged only once it is durable;
//!   the output messages; snapshots.
//! - [`live`]: the engine inside `serve`, following the log.
//! - [`api`]: the actix-web HTTP API (CONTRACT section 3); [`serve`] starts it all.
//! - [`monitoring`]: the Prometheus metrics' names and recorder (`GET /metrics`).
//! - [`telemetry`]: the logs, as text or JSON lines.
//! - [`config`]: settings with defaults, overridden by flags and `FAULTLINE_…` variables.
//! - [`reports`]: reliability (IEEE 1366) and workload reports, for
//!   `GET /api/v1/reports`, the `/reports` page and `faultline report`.
//! - [`input`]: what the commands read from files (a network, an events file).
//! - [`sim`]: the storm simulator with its ground truth, and scoring against an oracle.
//! - [`import`]: OpenDSS models to contract GeoJSON.
//! - [`monitoring`]: the Prometheus metrics' names and recorder (`GET /metrics`).
//! - [`telemetry`]: the logs, as text or JSON lines.
//! - [`replay`], [`demo`]: the other commands; `bench` (with `--features bench`): the
//!   benchmark harness, kept out of the shipped binary.
//!
//! Dependencies point one way: the core knows nothing of this crate; within it, `store`
//! and `live` under `api` under `serve`, and the commands on top.
#![deny(missing_docs)]

pub use faultline_core::{dispatch, engine, events, ids, inference, network, orders};

pub mod api;
#[cfg(feature = "bench")]
pub mod bench;
pub mod config;
pub mod demo;
pub mod import;
pub mod input;
pub mod live;
pub mod monitoring;
pub mod replay;
pub mod reports;
pub mod serve;
pub mod serve_lock;
pub mod sim;
pub mod store;
pub mod telemetry;
