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
//! On start the engine is rebuilt by the same catch-up, from its newest snapshot (or
//! the start) to the end of the log (the engine is a pure function of it); messages
//! already stored are not written again. A second task
//! appends a `tick` event when the log has been quiet for a few seconds, so the
//! engine's clock — and every timer that hangs on it — moves with the wall clock.
//!
//! On PostgreSQL the store's `commits()` also moves when another instance commits (it
//! LISTENs), so the same loop follows the whole shared log and every instance's engine
//! is a replica; only the leading instance appends ticks.
//!
//! Snapshots: every [`LiveOptions::snapshot_every`] events the follow loop keeps the
//! engine's state ([`Engine::snapshot`]) in the store, and a start restores the newest
//! one taken under the same network, settings and version, then replays only the log
//! after it. A snapshot that does not fit is ignored (the log is the truth) and the
//! engine is rebuilt from the start. BENCHMARKS.md gives both restart times.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{broadcast, watch};

use crate::engine::{Engine, Output};
use crate::events::{Event, EventKind};
use crate::store::{Store, StoredOutput};

/// Events read from the log per batch.
const BATCH: i64 = 10_000;
/// Events applied per hold of the engine's lock (a reader waits for one slice at most).
const LOCK_SLICE: usize = 1_000;
/// Live messages a slow reader may fall behind before it must catch up from the store.
const BROADCAST_CAPACITY: usize = 4096;
/// The longest pause between two tries when following the log fails.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Sleep `d`, or forever when there is nothing to wait for.
async fn sleep_or_never(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// A quiet log gets a `tick` after this long.
pub const TICK_EVERY: Duration = Duration::from_secs(5);

/// How the live engine keeps itself.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// Events applied between two snapshots (0: never take one).
    pub snapshot_every: i64,
    /// And at least this long between two: a snapshot holds the engine while it is
    /// written out (~0.2 s per 50 MB of state), so a storm's flood of events does not
    /// take one every few seconds.
    pub snapshot_min_interval: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            snapshot_every: 100_000,
            snapshot_min_interval: Duration::from_secs(60),
        }
    }
}

/// The live engine: shared state and the feed of new messages.
#[derive(Clone)]
pub struct Live {
    engine: Arc<Mutex<Engine>>,
    messages: broadcast::Sender<Arc<StoredOutput>>,
    /// The seq of the last event applied.
    applied: Arc<watch::Sender<i64>>,
    options: LiveOptions,
    /// The seq the newest snapshot was taken after, and when.
    snapshot_at: Arc<Mutex<(i64, std::time::Instant)>>,
    /// A snapshot is on its way to the store (the next waits for it).
    saving: Arc<std::sync::atomic::AtomicBool>,
    /// Messages applied but not yet stored (the store failed): stored first next time.
    unstored: Arc<Mutex<Vec<StoredOutput>>>,
    /// Messages up to this seq were stored by an earlier run: a rebuild does not write
    /// (or publish) them again.
    already_stored: i64,
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
        engine: Engine,
        store: Store,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<Live> {
        Self::start_with(engine, store, shutdown, LiveOptions::default()).await
    }

    /// [`Live::start`] with options.
    pub async fn start_with(
        mut engine: Engine,
        store: Store,
        mut shutdown: watch::Receiver<bool>,
        options: LiveOptions,
    ) -> anyhow::Result<Live> {
        let already_stored = store.last_output_seq().await?;
        let started = std::time::Instant::now();
        let from = restore_snapshot(&mut engine, &store).await;
        let (messages, _) = broadcast::channel(BROADCAST_CAPACITY);
        let live = Live {
            engine: Arc::new(Mutex::new(engine)),
            messages,
            applied: Arc::new(watch::channel(from).0),
            options,
            // No snapshot during the rebuild: one is kept at its end if it was long.
            snapshot_at: Arc::new(Mutex::new((i64::MAX, std::time::Instant::now()))),
            saving: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            unstored: Arc::new(Mutex::new(Vec::new())),
            already_stored,
        };
        // The rebuild is the follow loop's own catch-up, from the snapshot (or the start)
        // to the end of the log; messages a previous run stored are not written again.
        live.catch_up(&store).await?;
        let applied = live.applied();
        tracing::info!(
            events = applied,
            replayed = applied - from,
            messages = live.with_engine(Engine::next_seq) - 1,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "engine rebuilt from the log"
        );
        let mut snapshot_at = from;
        if options.snapshot_every > 0 && applied - from >= options.snapshot_every {
            let (fingerprint, body) =
                live.with_engine(|e| (e.fingerprint().to_owned(), e.snapshot()));
            keep_snapshot(&store, applied, &fingerprint, &body).await;
            snapshot_at = applied;
        }
        *live.snapshot_at.lock().unwrap_or_else(|p| p.into_inner()) =
            (snapshot_at, std::time::Instant::now());
        let follower = live.clone();
        let mut commits = store.commits();
        tokio::spawn(async move {
            // After a failure (the database restarting, a pool exhausted) the loop tries
            // again on its own, backing off, without waiting for the next commit.
            let mut retry: Option<Duration> = None;
            loop {
                tokio::select! {
                    changed = commits.changed() => if changed.is_err() { break },
                    _ = shutdown.changed() => break,
                    _ = sleep_or_never(retry) => {}
                }
                match follower.catch_up(&store).await {
                    Ok(()) => retry = None,
                    Err(e) => {
                        let pause =
                            retry.map_or(Duration::from_millis(200), |d| (d * 2).min(RETRY_MAX));
                        tracing::error!(error = %e, retry_in_ms = pause.as_millis() as u64, "the engine could not follow the log");
                        retry = Some(pause);
                    }
                }
            }
        });
        Ok(live)
    }

    /// Apply every committed event not applied yet and store (then publish) the
    /// messages. Progress is kept in `self` as soon as a batch is applied, so a failure
    /// afterwards (storing the messages) never applies an event twice: the messages
    /// wait in `unstored` and go first on the next try.
    async fn catch_up(&self, store: &Store) -> anyhow::Result<()> {
        loop {
            self.store_unstored(store).await?;
            let applied = *self.applied.borrow();
            let events = store.read_since(applied, BATCH).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                return Ok(());
            };
            // Parsing and applying are CPU work: off the runtime thread, which the event
            // writer shares (a storm's batches would otherwise wait behind the engine).
            let engine = self.engine.clone();
            let due = self.snapshot_due(last);
            type Applied = (Vec<StoredOutput>, Option<(String, String)>);
            let applied_batch = tokio::task::spawn_blocking(move || -> anyhow::Result<Applied> {
                let parsed: Vec<Event> = events
                    .iter()
                    .map(|e| crate::events::parse_line(&e.body))
                    .collect::<Result<_, _>>()?;
                // A poisoned lock means a panic while applying; keep serving what is
                // there, but never keep such a state as a snapshot. The lock is taken
                // per slice of the batch, so the API's readers wait for a slice at most.
                let lock = || match engine.lock() {
                    Ok(e) => (e, false),
                    Err(p) => (p.into_inner(), true),
                };
                let mut outputs = Vec::new();
                for slice in parsed.chunks(LOCK_SLICE) {
                    let (mut engine, _) = lock();
                    outputs.extend(
                        slice
                            .iter()
                            .flat_map(|e| engine.apply(e))
                            .map(|o| stored(&o)),
                    );
                }
                let snapshot = due.then(lock).and_then(|(engine, poisoned)| {
                    (!poisoned).then(|| (engine.fingerprint().to_owned(), engine.snapshot()))
                });
                Ok((outputs, snapshot))
            })
            .await;
            let (outputs, snapshot) = match applied_batch {
                Ok(Ok(done)) => done,
                // A stored event this version cannot read: nothing was applied; retry
                // (and say so) rather than skip a fact.
                Ok(Err(e)) => return Err(e),
                Err(panic) => {
                    // The engine panicked part-way through the batch: applying it again
                    // would double what was applied. Go on after it, loudly.
                    tracing::error!(error = %panic, first = applied + 1, last, "the engine panicked applying these events; going on after them");
                    self.applied.send_replace(last);
                    continue;
                }
            };
            self.applied.send_replace(last);
            self.unstored
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(outputs.into_iter().filter(|o| o.seq > self.already_stored));
            if let Some((fingerprint, body)) = snapshot {
                // Written in the background: the engine goes on with the log meanwhile.
                *self.snapshot_at.lock().unwrap_or_else(|p| p.into_inner()) =
                    (last, std::time::Instant::now());
                self.saving.store(true, Ordering::Release);
                let (store, saving) = (store.clone(), self.saving.clone());
                tokio::spawn(async move {
                    keep_snapshot(&store, last, &fingerprint, &body).await;
                    saving.store(false, Ordering::Release);
                });
            }
        }
    }

    /// Store the messages produced but not stored yet, then publish them, in order.
    async fn store_unstored(&self, store: &Store) -> anyhow::Result<()> {
        let waiting = std::mem::take(&mut *self.unstored.lock().unwrap_or_else(|p| p.into_inner()));
        if waiting.is_empty() {
            return Ok(());
        }
        if let Err(e) = store.append_outputs(&waiting).await {
            // Put them back in front of anything produced meanwhile (nothing is: only
            // this loop produces).
            let mut unstored = self.unstored.lock().unwrap_or_else(|p| p.into_inner());
            let later = std::mem::replace(&mut *unstored, waiting);
            unstored.extend(later);
            return Err(e.into());
        }
        for o in waiting {
            let _ = self.messages.send(Arc::new(o));
        }
        Ok(())
    }

    /// Whether a snapshot should be taken once the events up to `last` are applied.
    fn snapshot_due(&self, last: i64) -> bool {
        let (at, when) = *self.snapshot_at.lock().unwrap_or_else(|p| p.into_inner());
        self.options.snapshot_every > 0
            && last - at >= self.options.snapshot_every
            && when.elapsed() >= self.options.snapshot_min_interval
            && !self.saving.load(Ordering::Acquire)
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

/// Restore the newest fitting snapshot into the fresh `engine`; the seq it was taken
/// after (0 when there is none, or none that fits).
async fn restore_snapshot(engine: &mut Engine, store: &Store) -> i64 {
    let fingerprint = engine.fingerprint().to_owned();
    let started = std::time::Instant::now();
    match store.latest_snapshot(&fingerprint).await {
        Ok(Some((seq, body))) => match engine.restore(&fingerprint, &body) {
            Ok(()) => {
                tracing::info!(
                    seq,
                    bytes = body.len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "engine restored from its snapshot"
                );
                seq
            }
            Err(e) => {
                tracing::warn!(seq, error = %e, "snapshot ignored; rebuilding from the whole log");
                0
            }
        },
        Ok(None) => 0,
        Err(e) => {
            tracing::warn!(error = %e, "snapshots cannot be read; rebuilding from the whole log");
            0
        }
    }
}

/// Keep a snapshot; a failure costs the next restart time, nothing else.
async fn keep_snapshot(store: &Store, seq: i64, fingerprint: &str, body: &str) {
    match store.save_snapshot(seq, fingerprint, body).await {
        Ok(()) => tracing::info!(seq, bytes = body.len(), "engine snapshot kept"),
        Err(e) => tracing::warn!(seq, error = %e, "could not keep an engine snapshot"),
    }
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
                    // On a shared log the database's clock, not this machine's: a leader
                    // whose clock runs fast would move every replica's engine ahead.
                    let at = store.clock().await.unwrap_or_else(|_| Utc::now());
                    let tick = Event { at, kind: EventKind::Tick };
                    if let Err(e) = store.append(&[tick]).await {
                        tracing::warn!(error = %e, "could not append a tick");
                    }
                }
            }
        }
    });
}
