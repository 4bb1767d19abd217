//! The engine inside `faultline serve`: it follows the event log, applies each event
//! after it is committed, and keeps the output messages.
//!
//! # Shape
//! One task owns the follow loop: when the store says a group committed, it reads the
//! new events in seq order, applies them to the [`Engine`] and stores the output
//! messages (their own gap-free seq) in the `outputs` table, then publishes them on a
//! bounded broadcast channel for live readers. The engine sits behind a `std` mutex,
//! not a tokio one: it is held only while applying a batch or answering a query, never
//! across an `.await`.
//!
//! On start the engine is rebuilt by replaying the whole log (the engine is a pure
//! function of it); messages already stored are not written again. A second task
//! appends a `tick` event when the log has been quiet for a few seconds, so the
//! engine's clock — and every timer that hangs on it — moves with the wall clock.
//!
//! On PostgreSQL the store's `commits()` also moves when another instance commits (it
//! LISTENs), so the same loop follows the whole shared log and every instance's engine
//! is a replica; only the leading instance appends ticks.
//!
//! Not yet here: snapshots of the engine state (a restart replays the log from the
//! start; see BENCHMARKS.md for how long that takes).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{broadcast, watch};

use crate::engine::{Engine, Output};
use crate::events::{Event, EventKind};
use crate::store::{Store, StoredOutput};

/// Events read from the log per batch.
const BATCH: i64 = 10_000;
/// Live messages a slow reader may fall behind before it must catch up from the store.
const BROADCAST_CAPACITY: usize = 4096;
/// A quiet log gets a `tick` after this long.
pub const TICK_EVERY: Duration = Duration::from_secs(5);

/// The live engine: shared state and the feed of new messages.
#[derive(Clone)]
pub struct Live {
    engine: Arc<Mutex<Engine>>,
    messages: broadcast::Sender<Arc<StoredOutput>>,
    /// The seq of the last event applied.
    applied: Arc<watch::Sender<i64>>,
}

fn stored(o: &Output) -> StoredOutput {
    StoredOutput {
        seq: o.seq as i64,
        at: crate::events::format_time(o.at),
        kind: o.kind.to_owned(),
        body: o.to_json(),
    }
}

impl Live {
    /// Rebuild the engine from the log, then follow it until `shutdown` fires.
    pub async fn start(
        mut engine: Engine,
        store: Store,
        mut shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<Live> {
        let already_stored = store.last_output_seq().await?;
        let started = std::time::Instant::now();
        let mut applied = 0i64;
        loop {
            let events = store.read_since(applied, BATCH).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                break;
            };
            let mut fresh = Vec::new();
            for e in &events {
                for o in engine.apply(&parse_stored(&e.body)?) {
                    if o.seq as i64 > already_stored {
                        fresh.push(stored(&o));
                    }
                }
            }
            store.append_outputs(&fresh).await?;
            applied = last;
        }
        tracing::info!(
            events = applied,
            messages = engine.next_seq() - 1,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "engine rebuilt from the log"
        );
        let (messages, _) = broadcast::channel(BROADCAST_CAPACITY);
        let live = Live {
            engine: Arc::new(Mutex::new(engine)),
            messages,
            applied: Arc::new(watch::channel(applied).0),
        };
        let follower = live.clone();
        let mut commits = store.commits();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = commits.changed() => if changed.is_err() { break },
                    _ = shutdown.changed() => break,
                }
                match follower.catch_up(&store, applied).await {
                    Ok(a) => applied = a,
                    Err(e) => tracing::error!(error = %e, "the engine could not follow the log"),
                }
            }
        });
        Ok(live)
    }

    async fn catch_up(&self, store: &Store, mut applied: i64) -> anyhow::Result<i64> {
        loop {
            let events = store.read_since(applied, BATCH).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                return Ok(applied);
            };
            // Parsing and applying are CPU work: off the runtime thread, which the event
            // writer shares (a storm's batches would otherwise wait behind the engine).
            let engine = self.engine.clone();
            let outputs: Vec<StoredOutput> =
                tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<StoredOutput>> {
                    let parsed: Vec<Event> = events
                        .iter()
                        .map(|e| parse_stored(&e.body))
                        .collect::<Result<_, _>>()?;
                    // A poisoned lock means a panic while applying; keep serving what is there.
                    let mut engine = engine.lock().unwrap_or_else(|p| p.into_inner());
                    Ok(parsed
                        .iter()
                        .flat_map(|e| engine.apply(e))
                        .map(|o| stored(&o))
                        .collect())
                })
                .await??;
            store.append_outputs(&outputs).await?;
            for o in outputs {
                let _ = self.messages.send(Arc::new(o));
            }
            applied = last;
            self.applied.send_replace(applied);
        }
    }

    /// Read the engine's state (briefly: the follow loop waits meanwhile).
    pub fn with_engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> T {
        let engine = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        f(&engine)
    }

    /// The seq of the last event the engine has applied.
    pub fn applied(&self) -> i64 {
        *self.applied.borrow()
    }

    /// Wait (up to `timeout`) until the engine has applied every event up to `seq`;
    /// false if it has not by then.
    pub async fn wait_applied(&self, seq: i64, timeout: std::time::Duration) -> bool {
        let mut applied = self.applied.subscribe();
        tokio::time::timeout(timeout, applied.wait_for(|a| *a >= seq))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// New messages as they are produced (a reader that falls behind gets `Lagged`
    /// and catches up from the store).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredOutput>> {
        self.messages.subscribe()
    }
}

fn parse_stored(body: &str) -> anyhow::Result<Event> {
    let value: serde_json::Value = serde_json::from_str(body)?;
    Ok(Event::parse(&value)?)
}

/// Append a `tick` whenever the log has been quiet for [`TICK_EVERY`], until shutdown.
/// Only the leading instance ticks (on SQLite the one instance always leads); the log's
/// quiet counts commits from every instance.
pub fn spawn_ticker(store: Store, mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut commits = store.commits();
        let leader = store.leadership();
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = commits.changed() => continue,
                _ = tokio::time::sleep(TICK_EVERY) => {
                    if !*leader.borrow() {
                        continue;
                    }
                    let tick = Event { at: Utc::now(), kind: EventKind::Tick };
                    if let Err(e) = store.append(&[tick]).await {
                        tracing::warn!(error = %e, "could not append a tick");
                    }
                }
            }
        }
    });
}
