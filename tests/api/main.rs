//! The HTTP API through a real server on a real SQLite file, one per test.

#[path = "../common/mod.rs"]
mod common;
mod events;
mod helpers;
mod hostile;
mod live;
mod notices;
mod roles;
mod stream;
