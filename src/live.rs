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
    /// Seqs of stored events whose application panicked (set aside): a rebuild skips
    /// them. A std mutex: held for a copy, never across an `.await`.
    poisoned: Arc<Mutex<std::collections::BTreeSet<i64>>>,
}

fn stored(o: &Output) -> StoredOutput {
    StoredOutput {
        seq: o.seq as i64,
        at: crate::events::format_time(o.at),
        kind: o.kind().to_owned(),
        body: o.to_json(),
        about: Some(o.message.about()),
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
            poisoned: Arc::default(),
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
            let (count, started) = (events.len() as u64, std::time::Instant::now());
            let applied_batch = tokio::task::spawn_blocking(move || -> Applied {
                // A poisoned lock would mean a panic while it was held outside the guard
                // below; keep serving what is there, but never keep such a state as a
                // snapshot. The lock is taken per slice of the batch, so the API's
                // readers wait for a slice at most.
                let lock = || match engine.lock() {
                    Ok(e) => (e, false),
                    Err(p) => (p.into_inner(), true),
                };
                let mut outputs = Vec::new();
                for slice in events.chunks(LOCK_SLICE) {
                    let (mut engine, _) = lock();
                    for e in slice {
                        match apply_stored(&mut engine, e) {
                            Ok(out) => outputs.extend(out.iter().map(stored)),
                            Err(poisoned) => {
                                return Applied {
                                    outputs,
                                    last: e.seq - 1,
                                    poisoned: Some(poisoned),
                                    snapshot: None,
                                }
                            }
                        }
                    }
                }
                let snapshot = due.then(lock).and_then(|(engine, poisoned)| {
                    (!poisoned).then(|| (engine.fingerprint().to_owned(), engine.snapshot()))
                });
                Applied {
                    outputs,
                    last,
                    poisoned: None,
                    snapshot,
                }
            })
            .await;
            let Applied {
                outputs,
                last,
                poisoned,
                snapshot,
            } = match applied_batch {
                Ok(done) => done,
                // Only `apply_stored` can panic in there, and it catches its own.
                Err(join) => return Err(anyhow::anyhow!("applying a batch failed: {join}")),
            };
            metrics::histogram!(crate::monitoring::ENGINE_APPLY_SECONDS)
                .record(started.elapsed().as_secs_f64());
            metrics::counter!(crate::monitoring::ENGINE_EVENTS_APPLIED).increment(count);
            self.applied.send_replace(last);
            self.unstored
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(outputs.into_iter().filter(|o| o.seq > self.already_stored));
            if let Some(p) = poisoned {
                self.set_aside_poisoned(store, p).await?;
                continue;
            }
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

/// What one batch of the follow loop did.
struct Applied {
    outputs: Vec<StoredOutput>,
    /// The seq of the last event applied (or set aside).
    last: i64,
    /// The event whose application panicked, where one did: the batch stopped before it.
    poisoned: Option<Box<Poisoned>>,
    /// The engine's state after the batch, when a snapshot was due.
    snapshot: Option<(String, String)>,
}

/// A stored event whose application panicked (a bug: the engine's state may be half
/// changed).
struct Poisoned {
    seq: i64,
    event: Event,
    reason: String,
    /// The engine's next message seq before the event: the rebuilt engine must agree.
    next_seq: u64,
}

/// Apply one stored event. A stored text this version cannot read (corrupted, or an
/// event a newer version wrote) and an event the engine cannot take are set aside with
/// an `event.set_aside` message — deterministic, so every instance and every replay of
/// the log does the same, and the log goes on. A panic is caught and handed back: the
/// caller rebuilds the engine without the event ([`Live::set_aside_poisoned`]).
fn apply_stored(
    engine: &mut Engine,
    e: &crate::store::StoredEvent,
) -> Result<Vec<Output>, Box<Poisoned>> {
    let event = match crate::events::parse_line(&e.body) {
        Ok(event) => event,
        Err(err) => {
            let reason = format!("its stored text cannot be read: {err}");
            tracing::error!(seq = e.seq, %reason, "a stored event is set aside");
            return Ok(vec![engine.set_aside(Some(e.seq), None, &reason)]);
        }
    };
    let next_seq = engine.next_seq();
    let customer = engine.customer_of(&event);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        engine.apply_from_log(Some(e.seq), &event, customer)
    }))
    .map_err(|payload| {
        Box::new(Poisoned {
            seq: e.seq,
            reason: crate::engine::panic_reason(payload.as_ref()),
            event,
            next_seq,
        })
    })
}

impl Live {
    /// After applying the event at `p.seq` panicked: rebuild the engine from its newest
    /// snapshot before that event (or the start) with the log up to it, but without it
    /// (and without any other event that panicked: the rebuild meets the same panics),
    /// say that it was set aside, and go on after it. The rebuild's messages were all
    /// stored already and are not written again.
    async fn set_aside_poisoned(&self, store: &Store, p: Box<Poisoned>) -> anyhow::Result<()> {
        let p = *p;
        tracing::error!(seq = p.seq, reason = %p.reason, "applying a stored event panicked; rebuilding the engine without it");
        self.poisoned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(p.seq);
        let mut engine = self.with_engine(Engine::fresh);
        let from = match store.latest_snapshot(engine.fingerprint()).await {
            Ok(Some((seq, body))) if seq < p.seq => {
                let fingerprint = engine.fingerprint().to_owned();
                match engine.restore(&fingerprint, &body) {
                    Ok(()) => seq,
                    Err(_) => {
                        engine = engine.fresh();
                        0
                    }
                }
            }
            _ => 0,
        };
        let mut at = from;
        while at < p.seq - 1 {
            let events = store.read_since(at, BATCH.min(p.seq - 1 - at)).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                break;
            };
            let poisoned = self
                .poisoned
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            engine = tokio::task::spawn_blocking(move || {
                for e in events.iter().filter(|e| e.seq < p.seq) {
                    if poisoned.contains(&e.seq) {
                        engine.set_aside(Some(e.seq), None, "");
                        continue;
                    }
                    if apply_stored(&mut engine, e).is_err() {
                        // Not met before: the log is read again with it set aside.
                        return Err(e.seq);
                    }
                }
                Ok(engine)
            })
            .await?
            .map_err(|seq| anyhow::anyhow!("the rebuild met another panic, at seq {seq}"))?;
            at = last;
        }
        if engine.next_seq() != p.next_seq {
            tracing::error!(
                rebuilt = engine.next_seq(),
                before = p.next_seq,
                "the engine rebuilt without the event does not agree with the one before it"
            );
        }
        let message = engine.set_aside(
            Some(p.seq),
            Some(&p.event),
            &format!("applying it failed: {}", p.reason),
        );
        *self.engine.lock().unwrap_or_else(|e| e.into_inner()) = engine;
        self.applied.send_replace(p.seq);
        self.unstored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(std::iter::once(stored(&message)).filter(|o| o.seq > self.already_stored));
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use crate::network::{LoadOptions, Network};
    use crate::store::StoreOptions;

    fn engine() -> Engine {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/gis-data/ieee123.geojson");
        let text = std::fs::read_to_string(path).unwrap();
        let network = Network::from_geojson(&text, &LoadOptions::default()).unwrap();
        Engine::new(network, EngineOptions::default())
    }

    fn report(id: &str, minute: usize) -> Event {
        let customers = ["load.s1a", "load.s2b", "load.s4c", "load.s5c", "load.s6c"];
        let json = format!(
            r#"{{"type":"report","at":"2026-07-14T03:{minute:02}:00Z","id":"{id}","customer":"{}","source":"call","problem":"no_power"}}"#,
            customers[minute % customers.len()]
        );
        Event::parse(&serde_json::from_str(&json).unwrap()).unwrap()
    }

    async fn messages(store: &Store, at_least: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let stored = store.outputs_since(0, 100_000).await.unwrap();
            if stored.len() >= at_least {
                return stored.into_iter().map(|o| o.body).collect();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} stored",
                stored.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Two messages are the same but for their seq.
    fn without_seq(m: &str) -> &str {
        m.split_once(",\"at\"").unwrap().1
    }

    #[actix_web::test]
    async fn an_event_whose_application_panics_is_set_aside_and_the_engine_goes_on_and_restarts() {
        // See: issue 19.
        crate::engine::poison::set("R-live-poison-1");
        crate::engine::poison::set("R-live-poison-2");
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("log.db");
        let (store, _writer) = Store::open(db.to_str().unwrap(), StoreOptions::default())
            .await
            .unwrap();
        let mut log: Vec<Event> = (0..8).map(|i| report(&format!("R-{i}"), i)).collect();
        log.insert(4, report("R-live-poison-1", 4));
        store.append(&log).await.unwrap();
        let (stop, shutdown) = watch::channel(false);
        let live = Live::start(engine(), store.clone(), shutdown)
            .await
            .unwrap();
        assert_eq!(
            live.applied(),
            9,
            "the rebuild went past the poisoned event"
        );

        // And while following: another poisoned event, then more.
        let more = vec![
            report("R-live-poison-2", 9),
            report("R-9", 10),
            report("R-10", 11),
        ];
        let last = store.append(&more).await.unwrap().last_seq;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while live.applied() < last {
            assert!(
                std::time::Instant::now() < deadline,
                "applied {}",
                live.applied()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // What a replay of the log without the two poisoned events gives, and one
        // set-aside message in the place of each.
        let mut replay = engine();
        let expected: Vec<String> = log
            .iter()
            .chain(&more)
            .filter(|e| !e.report_id().unwrap().contains("poison"))
            .flat_map(|e| replay.apply(e))
            .map(|o| o.to_json())
            .collect();
        let stored = messages(&store, expected.len() + 2).await;
        let set_aside: Vec<&String> = stored
            .iter()
            .filter(|m| m.contains("\"event.set_aside\""))
            .collect();
        assert_eq!(set_aside.len(), 2, "{stored:#?}");
        assert!(
            set_aside[0].contains(r#""seq":5,"#)
                && set_aside[0].contains("poisoned report R-live-poison-1")
        );
        assert!(
            set_aside[1].contains(r#""seq":10,"#)
                && set_aside[1].contains("poisoned report R-live-poison-2")
        );
        let others: Vec<&str> = stored
            .iter()
            .filter(|m| !m.contains("\"event.set_aside\""))
            .map(|m| without_seq(m))
            .collect();
        let expected: Vec<&str> = expected.iter().map(|m| without_seq(m)).collect();
        assert_eq!(others, expected);
        let seqs: Vec<i64> = stored
            .iter()
            .map(|m| {
                serde_json::from_str::<serde_json::Value>(m).unwrap()["seq"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            seqs,
            (1..=stored.len() as i64).collect::<Vec<_>>(),
            "gap-free"
        );
        drop(stop);
        drop(live);

        // A restart rebuilds past both and writes nothing twice.
        let (_stop, shutdown) = watch::channel(false);
        let live = Live::start(engine(), store.clone(), shutdown)
            .await
            .unwrap();
        assert_eq!(live.applied(), last);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(messages(&store, 0).await, stored);
    }
}
