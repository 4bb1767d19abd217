//! faultline: outage and repair dispatch for electric power distribution utilities.
//!
//! # Layout
//! The pure core (no I/O, no wall clock, no async; time comes in with each event):
//! - [`network`]: the distribution network in memory: graph, feeders,
//!   protective-device chains, customers below each device, spatial index, switching.
//! - [`events`]: the input events of CONTRACT section 2, parsed and validated at the
//!   edge so nothing invalid reaches the log.
//! - [`inference`]: trouble-call analysis, faultline's scored inference and the classic
//!   roll-up rule as a baseline.
//! - [`orders`]: the work-order state machine and its audit trail.
//! - [`dispatch`]: crews, travel times, service-target clocks, escalation and the
//!   optimal assignment of crews to orders.
//! - [`engine`]: one event in, output messages out (CONTRACT section 4).
//! - [`sim`]: the storm simulator with its ground truth, and scoring against an oracle.
//! - [`import`]: OpenDSS models to contract GeoJSON.
//!
//! The edges:
//! - [`store`]: the append-only event log (SQLite now, PostgreSQL later) with group
//!   commit; an event is acknowledged only once it is durable; the output messages.
//! - [`live`]: the engine inside `serve`, following the log.
//! - [`api`]: the actix-web HTTP API (CONTRACT section 3); [`serve`] starts it all.
//! - [`reports`]: reliability (IEEE 1366) and workload reports from the log, for
//!   `GET /api/v1/reports`, the `/reports` page and `faultline report`.
//! - [`replay`], [`demo`], [`bench`]: the other commands.
//! - [`monitoring`]: the Prometheus metrics' names and recorder (`GET /metrics`).
//! - [`telemetry`]: the logs, as text or JSON lines.
//! - [`config`]: settings with defaults, overridden by flags and `FAULTLINE_…` variables.
//!
//! Dependencies point one way: the core knows nothing of the edges; `store`, `live`,
//! `api` and the commands use the core, never the reverse.
#![deny(missing_docs)]

pub mod api;
pub mod bench;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod engine;
pub mod events;
pub mod import;
pub mod inference;
pub mod live;
pub mod monitoring;
pub mod network;
pub mod orders;
pub mod replay;
pub mod reports;
pub mod serve;
pub mod serve_lock;
pub mod sim;
pub mod store;
pub mod telemetry;
