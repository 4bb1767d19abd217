//! The event log: append-only, gap-free `seq`, durable before acknowledged.
//!
//! # Shape
//! One **writer task** owns the database connection that appends. Request handlers
//! send it an [`AppendRequest`] (the events of one HTTP request and a oneshot for the
//! answer) through a bounded channel and wait. The writer takes every request waiting
//! in the channel, writes them all in **one transaction** (one fsync for the group:
//! group commit), and only after `COMMIT` returns answers each request with the seqs
//! its events got. A request is all or nothing: if the transaction fails, every
//! request of the group gets the error and nothing of them is stored.
//!
//! `seq` is assigned by the writer, one more than the last, inside the transaction, so
//! the log is gap-free and totally ordered by construction. Report ids are the callers'
//! idempotency keys: the writer keeps the seq of every report id it has stored and
//! drops a repeated report (it answers with the first one's seq); a unique index in
//! the database backs this up.
//!
//! # The seam for PostgreSQL
//! The core never sees the database: it sees [`Store`]'s methods and the stored event
//! text. Backends are the variants of a small private enum over sqlx connections, one
//! SQL text (`$1` placeholders) serving both; the migrations live in
//! `migrations/sqlite/` and `migrations/postgres/` with matching names. Only SQLite is
//! wired today; a `postgres://` URL is refused with a message until the several-
//! instances issue lands (appends from many instances need a lock around seq
//! allocation there, not this single writer).

mod sqlite;

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::events::Event;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations could not be applied.
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL names something the store cannot open.
    #[error("{0}")]
    Unsupported(String),
    /// The group commit that carried these events failed: nothing of them is stored.
    #[error("{0}")]
    NotStored(String),
    /// The writer has stopped (the server is shutting down).
    #[error("the event log is closed")]
    Closed,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Appended {
    /// Events stored by this request.
    pub accepted: usize,
    /// Reports whose id was already stored: one report, not two.
    pub duplicates: usize,
    /// The seq of the request's last event (for a repeated report, the first one's seq).
    pub last_seq: i64,
}

/// One stored event: its seq and canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredEvent {
    /// Position in the log, from 1, gap-free.
    pub seq: i64,
    /// The canonical JSON of the event ([`Event::to_json`]).
    pub body: String,
}

impl StoredEvent {
    /// The event with its seq as the first field: `{"seq":42,"type":…}`.
    pub fn to_json_with_seq(&self) -> String {
        format!("{{\"seq\":{},{}", self.seq, &self.body[1..])
    }
}

/// An event ready to store: the parsed event and its canonical text.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    at: String,
    kind: &'static str,
    report_id: Option<String>,
    body: String,
}

impl Row {
    fn from_event(e: &Event) -> Self {
        Row {
            at: crate::events::format_time(e.at),
            kind: e.type_name(),
            report_id: e.report_id().map(str::to_owned),
            body: e.to_json(),
        }
    }
}

/// The events of one request on their way to the writer.
pub(crate) struct AppendRequest {
    rows: Vec<Row>,
    reply: oneshot::Sender<Result<Appended, String>>,
}

/// Tuning of the writer.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Requests that may wait for the writer before senders wait for room.
    pub queue: usize,
    /// Most events one transaction takes (a larger backlog waits for the next one).
    pub max_group_events: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            queue: 4096,
            max_group_events: 50_000,
        }
    }
}

/// The event log. Cheap to clone: clones share the writer and the read pool.
#[derive(Clone)]
pub struct Store {
    appends: mpsc::Sender<AppendRequest>,
    backend: sqlite::SqliteLog,
    /// The last committed seq, for readers that follow the log (the live engine).
    committed: tokio::sync::watch::Receiver<i64>,
}

/// One output message as stored: its seq, time, type and whole JSON line.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredOutput {
    /// The message's seq.
    pub seq: i64,
    /// The engine clock, RFC 3339.
    pub at: String,
    /// The message type (`outage.created`, …).
    #[sqlx(rename = "type")]
    pub kind: String,
    /// The whole message as one line of JSON.
    pub body: String,
}

impl Store {
    /// Open (creating and migrating if needed) the log at `url`: a file path or a
    /// `sqlite:` URL.
    pub async fn open(
        url: &str,
        options: StoreOptions,
    ) -> Result<(Store, WriterHandle), StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err(StoreError::Unsupported(
                "PostgreSQL is not wired yet in this version: use a SQLite file for --db".into(),
            ));
        }
        let (backend, mut writer) = sqlite::SqliteLog::open(url).await?;
        let (tx, rx) = mpsc::channel(options.queue);
        let state = writer.load_state().await?;
        let (committed_tx, committed) = tokio::sync::watch::channel(state.last_seq);
        let task = tokio::spawn(writer_loop(writer, state, rx, options, committed_tx));
        Ok((
            Store {
                appends: tx,
                backend,
                committed,
            },
            WriterHandle { task },
        ))
    }

    /// Append events, all or nothing; returns once they are durable.
    pub async fn append(&self, events: &[Event]) -> Result<Appended, StoreError> {
        let rows = events.iter().map(Row::from_event).collect();
        let (reply, answer) = oneshot::channel();
        self.appends
            .send(AppendRequest { rows, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        match answer.await {
            Ok(Ok(appended)) => Ok(appended),
            Ok(Err(message)) => Err(StoreError::NotStored(message)),
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// Stored events with `seq > since`, in order, at most `limit`.
    pub async fn read_since(&self, since: i64, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
        self.backend.read_since(since, limit).await
    }

    /// Follow the log: the receiver changes each time a group commits.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<i64> {
        self.committed.clone()
    }

    /// Store output messages (idempotent: a message already stored is kept).
    pub async fn append_outputs(&self, outputs: &[StoredOutput]) -> Result<(), StoreError> {
        self.backend.append_outputs(outputs).await
    }

    /// Stored output messages with `seq > since`, in order, at most `limit`.
    pub async fn outputs_since(
        &self,
        since: i64,
        limit: i64,
    ) -> Result<Vec<StoredOutput>, StoreError> {
        self.backend.outputs_since(since, limit).await
    }

    /// The seq of the last stored output message (0 when none).
    pub async fn last_output_seq(&self) -> Result<i64, StoreError> {
        self.backend.last_output_seq().await
    }

    /// The seq of the last stored event (0 for an empty log).
    pub async fn last_seq(&self) -> Result<i64, StoreError> {
        self.backend.last_seq().await
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.backend.ping().await
    }
}

/// The writer task; [`WriterHandle::finish`] waits until every accepted request is
/// committed and answered, once every [`Store`] clone is dropped.
pub struct WriterHandle {
    task: tokio::task::JoinHandle<()>,
}

impl WriterHandle {
    /// Wait for the writer to drain and stop (drop every `Store` first).
    pub async fn finish(self, timeout: Duration) {
        if tokio::time::timeout(timeout, self.task).await.is_err() {
            tracing::warn!("the event writer did not stop in time");
        }
    }
}

/// What the writer knows at start: the last seq and the report ids already stored.
pub(crate) struct LogState {
    pub(crate) last_seq: i64,
    pub(crate) report_seq: HashMap<String, i64>,
}

async fn writer_loop(
    mut writer: sqlite::SqliteWriter,
    mut state: LogState,
    mut rx: mpsc::Receiver<AppendRequest>,
    options: StoreOptions,
    committed: tokio::sync::watch::Sender<i64>,
) {
    let mut group: Vec<AppendRequest> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut events = first.rows.len();
        group.push(first);
        while events < options.max_group_events {
            match rx.try_recv() {
                Ok(next) => {
                    events += next.rows.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        commit_group(&mut writer, &mut state, &mut group).await;
        committed.send_if_modified(|last| {
            let changed = *last != state.last_seq;
            *last = state.last_seq;
            changed
        });
    }
    tracing::info!(last_seq = state.last_seq, "event writer stopped");
}

/// Write one group in one transaction and answer every request in it.
async fn commit_group(
    writer: &mut sqlite::SqliteWriter,
    state: &mut LogState,
    group: &mut Vec<AppendRequest>,
) {
    let mut seq = state.last_seq;
    let mut new_ids: HashMap<String, i64> = HashMap::new();
    let mut to_write: Vec<(i64, &Row)> = Vec::new();
    let mut answers = Vec::with_capacity(group.len());
    for req in group.iter() {
        let mut accepted = 0;
        let mut duplicates = 0;
        let mut last = 0;
        for row in &req.rows {
            if let Some(id) = &row.report_id {
                let earlier = state
                    .report_seq
                    .get(id)
                    .copied()
                    .or_else(|| new_ids.get(id).copied());
                if let Some(s) = earlier {
                    duplicates += 1;
                    last = last.max(s);
                    continue;
                }
            }
            seq += 1;
            if let Some(id) = &row.report_id {
                new_ids.insert(id.clone(), seq);
            }
            to_write.push((seq, row));
            accepted += 1;
            last = seq;
        }
        answers.push(Appended {
            accepted,
            duplicates,
            last_seq: if last == 0 { state.last_seq } else { last },
        });
    }
    let outcome = writer.write(&to_write).await;
    match outcome {
        Ok(()) => {
            state.last_seq = seq;
            state.report_seq.extend(new_ids);
            tracing::debug!(
                requests = group.len(),
                events = to_write.len(),
                last_seq = seq,
                "group committed"
            );
            for (req, answer) in group.drain(..).zip(answers) {
                let _ = req.reply.send(Ok(answer));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, requests = group.len(), "group commit failed; nothing of it is stored");
            for req in group.drain(..) {
                let _ = req.reply.send(Err(format!(
                    "the event log could not store the events: {e}"
                )));
            }
        }
    }
}
