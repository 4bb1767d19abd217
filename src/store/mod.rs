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
//! # Two backends
//! The core never sees the database: it sees [`Store`]'s methods and the stored event
//! text. Backends are the variants of a small private enum over sqlx connections, one
//! SQL text (`$1` placeholders) serving both for reads; the migrations live in
//! `migrations/sqlite/` and `migrations/postgres/` with matching names.
//! - **SQLite** (a file path or `sqlite:` URL, the default): this writer is the only
//!   appender, so it keeps the last seq and the stored report ids itself.
//! - **PostgreSQL** (`postgres://`): several instances append to one log. Each group
//!   commit numbers its events under an advisory lock in the database, each instance
//!   follows the others' commits by LISTEN/NOTIFY (and a poll), and one instance at a
//!   time leads (appends the ticks). See `postgres.rs`.

mod postgres;
mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

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
    /// A report id already stored (or given earlier in the same request) with other
    /// content: an idempotency key names one report, so nothing of the request is
    /// stored.
    #[error("{0}")]
    Conflict(String),
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
    reply: oneshot::Sender<Result<Appended, StoreError>>,
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
    backend: Backend,
    /// The last committed seq, for readers that follow the log (the live engine).
    committed: watch::Receiver<i64>,
    /// Whether this instance leads (appends the ticks).
    leader: watch::Receiver<bool>,
}

/// Run the same code (one SQL text, `$1` placeholders) on whichever backend's pool
/// (`readers`, or `snapshots`): these statements
/// are identical on both databases.
macro_rules! on_pool {
    ($backend:expr, $which:ident, $pool:ident => $body:expr) => {
        match $backend {
            Backend::Sqlite(b) => {
                let $pool = b.$which();
                $body
            }
            Backend::Postgres(b) => {
                let $pool = b.$which();
                $body
            }
        }
    };
}

/// The database behind the reads.
#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::SqliteLog),
    Postgres(postgres::PgLog),
}

/// Which database a store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// One embedded file, one instance.
    Sqlite,
    /// A shared server, any number of instances.
    Postgres,
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
    /// What it is about, where the engine that made it said so (a message read back
    /// from the store has only its text: `None`).
    #[sqlx(skip)]
    pub about: Option<crate::engine::About>,
}

impl Store {
    /// Open (creating and migrating if needed) the log at `url`: a file path or a
    /// `sqlite:` URL for the embedded log, a `postgres://` URL for a shared one.
    pub async fn open(
        url: &str,
        options: StoreOptions,
    ) -> Result<(Store, WriterHandle), StoreError> {
        let (backend, mut writer) = if is_postgres_url(url) {
            let (log, writer) = postgres::PgLog::open(url).await?;
            (Backend::Postgres(log), Writer::Postgres(writer))
        } else {
            let (log, writer) = sqlite::SqliteLog::open(url).await?;
            (Backend::Sqlite(log), Writer::Sqlite(writer))
        };
        let (tx, rx) = mpsc::channel(options.queue);
        let state = writer.load_state().await?;
        let (committed_tx, committed) = watch::channel(state.last_seq);
        let committed_tx = Arc::new(committed_tx);
        let (leader_tx, leader) = watch::channel(matches!(backend, Backend::Sqlite(_)));
        if let Backend::Postgres(log) = &backend {
            log.follow(committed_tx.clone());
            log.campaign(Arc::new(leader_tx));
        }
        let task = tokio::spawn(writer_loop(writer, state, rx, options, committed_tx));
        Ok((
            Store {
                appends: tx,
                backend,
                committed,
                leader,
            },
            WriterHandle { task },
        ))
    }

    /// Which database this store is on.
    pub fn backend(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Whether this instance leads now (always, on SQLite); changes as leadership
    /// moves between instances on PostgreSQL.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.leader.clone()
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
            Ok(answer) => answer,
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// Stored events with `seq > since`, in order, at most `limit`.
    pub async fn read_since(&self, since: i64, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(on_pool!(&self.backend, readers, pool => {
            sqlx::query_as::<_, StoredEvent>(
                "SELECT seq, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(since)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Follow the log: the receiver changes each time a group commits.
    pub fn commits(&self) -> watch::Receiver<i64> {
        self.committed.clone()
    }

    /// Store output messages (idempotent: a message already stored is kept).
    pub async fn append_outputs(&self, outputs: &[StoredOutput]) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.append_outputs(outputs).await,
            Backend::Postgres(b) => b.append_outputs(outputs).await,
        }
    }

    /// Stored output messages with `seq > since`, in order, at most `limit`.
    pub async fn outputs_since(
        &self,
        since: i64,
        limit: i64,
    ) -> Result<Vec<StoredOutput>, StoreError> {
        Ok(on_pool!(&self.backend, readers, pool => {
            sqlx::query_as::<_, StoredOutput>(
                "SELECT seq, at, type, body FROM outputs WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(since)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The seq of the last stored output message (0 when none).
    pub async fn last_output_seq(&self) -> Result<i64, StoreError> {
        let (seq,): (Option<i64>,) = on_pool!(&self.backend, readers, pool => {
            sqlx::query_as("SELECT MAX(seq) FROM outputs").fetch_one(pool).await?
        });
        Ok(seq.unwrap_or(0))
    }

    /// The seq of the last stored event (0 for an empty log).
    pub async fn last_seq(&self) -> Result<i64, StoreError> {
        let (seq,): (Option<i64>,) = on_pool!(&self.backend, readers, pool => {
            sqlx::query_as("SELECT MAX(seq) FROM events").fetch_one(pool).await?
        });
        Ok(seq.unwrap_or(0))
    }

    /// Keep the engine's state after event `seq` ([`crate::engine::Engine::snapshot`]),
    /// taken under `fingerprint`; older snapshots under the same fingerprint are dropped
    /// (another version's, in a rolling upgrade, stay for it). Several instances on one
    /// log take the same snapshot at the same seq: the first one stored stays.
    pub async fn save_snapshot(
        &self,
        seq: i64,
        fingerprint: &str,
        body: &str,
    ) -> Result<(), StoreError> {
        let taken_at = crate::events::format_time(chrono::Utc::now());
        on_pool!(&self.backend, snapshots, pool => {
            sqlx::query(
                "INSERT INTO snapshots (seq, fingerprint, taken_at, body) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (fingerprint, seq) DO NOTHING",
            )
            .bind(seq)
            .bind(fingerprint)
            .bind(&taken_at)
            .bind(body)
            .execute(pool)
            .await?;
            sqlx::query("DELETE FROM snapshots WHERE fingerprint = $1 AND seq < $2")
                .bind(fingerprint)
                .bind(seq)
                .execute(pool)
                .await?;
        });
        if let Backend::Sqlite(b) = &self.backend {
            b.trim_snapshots().await?;
        }
        Ok(())
    }

    /// The newest snapshot taken under `fingerprint`: the seq it was taken after and
    /// its text.
    pub async fn latest_snapshot(
        &self,
        fingerprint: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        Ok(on_pool!(&self.backend, snapshots, pool => {
            sqlx::query_as::<_, (i64, String)>(
                "SELECT seq, body FROM snapshots WHERE fingerprint = $1 ORDER BY seq DESC LIMIT 1",
            )
            .bind(fingerprint)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The newest snapshot taken under `fingerprint`: the seq it was taken after and when
    /// (RFC 3339, the wall clock of the instance that kept it), without its text.
    pub async fn latest_snapshot_info(
        &self,
        fingerprint: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        Ok(on_pool!(&self.backend, snapshots, pool => {
            sqlx::query_as::<_, (i64, String)>(
                "SELECT seq, taken_at FROM snapshots WHERE fingerprint = $1 ORDER BY seq DESC LIMIT 1",
            )
            .bind(fingerprint)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The time now by the log's clock: the PostgreSQL server's, shared by every
    /// instance; this machine's for the embedded SQLite log.
    pub async fn clock(&self) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(chrono::Utc::now()),
            Backend::Postgres(b) => {
                let (micros,): (i64,) = sqlx::query_as(
                    "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint",
                )
                .fetch_one(b.readers())
                .await?;
                chrono::DateTime::from_timestamp_micros(micros).ok_or_else(|| {
                    StoreError::Unsupported(format!("the database's clock says {micros} µs"))
                })
            }
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(&self.backend, readers, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }
}

/// The database file a `--db` names, for the embedded log (`None` for PostgreSQL or
/// an in-memory SQLite database).
pub fn sqlite_file(db: &str) -> Option<std::path::PathBuf> {
    if is_postgres_url(db) {
        return None;
    }
    let path = db
        .strip_prefix("sqlite://")
        .or_else(|| db.strip_prefix("sqlite:"))
        .unwrap_or(db);
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` fit for a log line or an error message: a password in it is replaced by `***`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
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

/// The seqs one group gets: repeated report ids are dropped (answered with the first
/// one's seq), every other event numbered in order after `last_seq`. A request that
/// repeats a report id with other content is answered with a conflict and none of its
/// events is numbered.
pub(crate) struct Plan<'a> {
    pub(crate) rows: Vec<(i64, &'a Row)>,
    pub(crate) answers: Vec<Result<Appended, String>>,
    pub(crate) new_ids: HashMap<String, i64>,
    pub(crate) last_seq: i64,
}

/// Number a group after `last_seq`; `known` gives the seq of a report id already
/// stored and, where the caller has it, the stored text to compare with (`None`: it is
/// not compared).
pub(crate) fn plan<'a>(
    group: &'a [AppendRequest],
    last_seq: i64,
    known: impl Fn(&str) -> Option<(i64, Option<&'a str>)>,
) -> Plan<'a> {
    let mut seq = last_seq;
    let mut new_ids: HashMap<String, i64> = HashMap::new();
    // The text of each report id numbered in this group, to compare a repeat with.
    let mut new_bodies: HashMap<&str, &str> = HashMap::new();
    let mut rows = Vec::new();
    let mut answers = Vec::with_capacity(group.len());
    for req in group {
        let (rows_before, seq_before) = (rows.len(), seq);
        let mut added: Vec<&str> = Vec::new();
        let mut accepted = 0;
        let mut duplicates = 0;
        let mut last = 0;
        let mut conflict = None;
        for row in &req.rows {
            if let Some(id) = &row.report_id {
                let first = known(id).or_else(|| {
                    new_ids
                        .get(id)
                        .map(|&s| (s, new_bodies.get(id.as_str()).copied()))
                });
                if let Some((s, body)) = first {
                    if body.is_some_and(|b| b != row.body) {
                        conflict = Some(format!(
                            "report id {id:?} is already stored (seq {s}) with other content: an id names one report; give a new report a new id"
                        ));
                        break;
                    }
                    duplicates += 1;
                    last = last.max(s);
                    continue;
                }
            }
            seq += 1;
            if let Some(id) = &row.report_id {
                new_ids.insert(id.clone(), seq);
                new_bodies.insert(id, &row.body);
                added.push(id);
            }
            rows.push((seq, row));
            accepted += 1;
            last = seq;
        }
        if let Some(conflict) = conflict {
            // All or nothing: this request's events are not numbered.
            rows.truncate(rows_before);
            seq = seq_before;
            for id in added {
                new_ids.remove(id);
                new_bodies.remove(id);
            }
            answers.push(Err(conflict));
            continue;
        }
        answers.push(Ok(Appended {
            accepted,
            duplicates,
            last_seq: if last == 0 { last_seq } else { last },
        }));
    }
    Plan {
        rows,
        answers,
        new_ids,
        last_seq: seq,
    }
}

/// The connection the writer task appends through.
enum Writer {
    Sqlite(sqlite::SqliteWriter),
    Postgres(postgres::PgWriter),
}

impl Writer {
    async fn load_state(&mut self) -> Result<LogState, StoreError> {
        match self {
            Writer::Sqlite(w) => w.load_state().await,
            Writer::Postgres(w) => w.load_state().await,
        }
    }

    /// Store one group, all or nothing; durable when this returns `Ok`.
    async fn commit(
        &mut self,
        group: &[AppendRequest],
        state: &mut LogState,
    ) -> Result<Vec<Result<Appended, String>>, StoreError> {
        match self {
            // This writer is the only appender: its own state is the truth.
            Writer::Sqlite(w) => {
                // The text of each report id this group repeats, to tell a retry (the
                // same report) from another report under a used id. Rare: one lookup by
                // seq, and only when a group repeats an id.
                let repeated: Vec<i64> = group
                    .iter()
                    .flat_map(|r| &r.rows)
                    .filter_map(|row| state.report_seq.get(row.report_id.as_deref()?))
                    .copied()
                    .collect();
                let stored = w.bodies(&repeated).await?;
                let planned = plan(group, state.last_seq, |id| {
                    let seq = *state.report_seq.get(id)?;
                    Some((seq, stored.get(&seq).map(String::as_str)))
                });
                w.write(&planned.rows).await?;
                state.last_seq = planned.last_seq;
                state.report_seq.extend(planned.new_ids);
                Ok(planned.answers)
            }
            Writer::Postgres(w) => w.commit(group, state).await,
        }
    }
}

async fn writer_loop(
    mut writer: Writer,
    mut state: LogState,
    mut rx: mpsc::Receiver<AppendRequest>,
    options: StoreOptions,
    committed: Arc<watch::Sender<i64>>,
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
        let started = std::time::Instant::now();
        match writer.commit(&group, &mut state).await {
            Ok(answers) => {
                use crate::monitoring as m;
                metrics::histogram!(m::GROUP_COMMIT_SECONDS)
                    .record(started.elapsed().as_secs_f64());
                metrics::histogram!(m::GROUP_COMMIT_EVENTS).record(events as f64);
                metrics::histogram!(m::GROUP_COMMIT_REQUESTS).record(group.len() as f64);
                tracing::debug!(
                    requests = group.len(),
                    last_seq = state.last_seq,
                    "group committed"
                );
                for (req, answer) in group.drain(..).zip(answers) {
                    let _ = req.reply.send(answer.map_err(StoreError::Conflict));
                }
            }
            Err(e) => {
                metrics::counter!(crate::monitoring::GROUP_COMMITS_FAILED).increment(1);
                tracing::error!(error = %e, requests = group.len(), "group commit failed; nothing of it is stored");
                for req in group.drain(..) {
                    let _ = req.reply.send(Err(StoreError::NotStored(format!(
                        "the event log could not store the events: {e}"
                    ))));
                }
            }
        }
        postgres::advance(&committed, state.last_seq);
    }
    tracing::info!(last_seq = state.last_seq, "event writer stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_a_url_is_never_shown() {
        assert_eq!(
            redacted("postgres://ops:s3cret@db.example:5432/faultline"),
            "postgres://ops:***@db.example:5432/faultline"
        );
        assert_eq!(
            redacted("postgres://ops@db/faultline?options=-c%20x%3D1"),
            "postgres://ops@db/faultline?options=-c%20x%3D1"
        );
        assert_eq!(
            redacted("/var/lib/faultline/log.db"),
            "/var/lib/faultline/log.db"
        );
    }

    #[test]
    fn a_group_is_numbered_in_order_and_a_repeated_report_keeps_its_first_seq() {
        let report = |id: &str| Row {
            at: "2026-07-14T03:00:00Z".into(),
            kind: "report",
            report_id: Some(id.into()),
            body: "{}".into(),
        };
        let tick = Row {
            at: "2026-07-14T03:00:00Z".into(),
            kind: "tick",
            report_id: None,
            body: "{}".into(),
        };
        let request = |rows: Vec<Row>| AppendRequest {
            rows,
            reply: oneshot::channel().0,
        };
        let group = vec![
            request(vec![report("R-1"), tick.clone(), report("R-9")]),
            request(vec![report("R-1"), report("R-2")]),
        ];
        // R-9 was stored earlier at seq 4; the log ends at 10.
        let planned = plan(&group, 10, |id| (id == "R-9").then_some((4, Some("{}"))));
        let seqs: Vec<i64> = planned.rows.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, vec![11, 12, 13]);
        assert_eq!(planned.last_seq, 13);
        assert_eq!(
            planned.answers,
            vec![
                Ok(Appended {
                    accepted: 2,
                    duplicates: 1,
                    last_seq: 12
                }),
                Ok(Appended {
                    accepted: 1,
                    duplicates: 1,
                    last_seq: 13
                }),
            ]
        );
    }

    #[test]
    fn a_request_that_reuses_a_report_id_for_other_content_is_refused_whole() {
        // See: issue 19: a reused id with different content was silently a duplicate.
        let row = |kind: &'static str, id: Option<&str>, body: &str| Row {
            at: "2026-07-14T03:00:00Z".into(),
            kind,
            report_id: id.map(Into::into),
            body: body.into(),
        };
        let request = |rows: Vec<Row>| AppendRequest {
            rows,
            reply: oneshot::channel().0,
        };
        let group = vec![
            // R-9 is stored with other content: refused whole, its R-3 not numbered.
            request(vec![
                row("report", Some("R-3"), "a"),
                row("report", Some("R-9"), "b"),
            ]),
            // R-3 again, now new: numbered first here.
            request(vec![
                row("report", Some("R-3"), "c"),
                row("tick", None, "t"),
            ]),
            // The same id and content within the group: a retry, one report.
            request(vec![row("report", Some("R-3"), "c")]),
            // The same id, other content, within the group: refused.
            request(vec![
                row("tick", None, "t"),
                row("report", Some("R-3"), "d"),
            ]),
        ];
        let planned = plan(&group, 10, |id| {
            (id == "R-9").then_some((4, Some("stored")))
        });
        let seqs: Vec<(i64, &str)> = planned
            .rows
            .iter()
            .map(|(s, r)| (*s, r.body.as_str()))
            .collect();
        assert_eq!(seqs, vec![(11, "c"), (12, "t")]);
        assert_eq!(planned.last_seq, 12);
        assert!(planned.answers[0]
            .as_ref()
            .unwrap_err()
            .contains("report id \"R-9\" is already stored (seq 4) with other content"));
        assert_eq!(
            planned.answers[1],
            Ok(Appended {
                accepted: 2,
                duplicates: 0,
                last_seq: 12
            })
        );
        assert_eq!(
            planned.answers[2],
            Ok(Appended {
                accepted: 0,
                duplicates: 1,
                last_seq: 11
            })
        );
        assert!(planned.answers[3]
            .as_ref()
            .unwrap_err()
            .contains("(seq 11)"));
        assert_eq!(planned.new_ids.get("R-3"), Some(&11));
    }
}
