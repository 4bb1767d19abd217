//! The SQLite backend: one file, WAL journal, `synchronous = FULL` so a commit is on
//! disk when it returns. Readers use a small pool of their own; the writer a single
//! connection that only the writer task touches. The engine's snapshots are kept in a
//! second file beside it (see [`SqliteLog`]'s `snapshot_pool`).

use std::collections::HashMap;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection, SqlitePool};

use super::{LogState, Row, StoreError};

/// Rows per INSERT statement: 6 parameters each, well under SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 500;

#[derive(Clone)]
pub(crate) struct SqliteLog {
    /// Readers (read-only connections).
    pool: SqlitePool,
    /// One connection for the engine's output messages: derived data, written off the
    /// acknowledgement path, so a normal (not fsync-per-commit) durability is enough.
    writer_pool: SqlitePool,
    /// One connection to the engine's snapshots, kept in a file of their own beside
    /// the log ([`snapshot_file`]). SQLite lets one writer at a time into a file: a
    /// snapshot is tens or hundreds of megabytes, and written into the log's file it
    /// held every event's commit, so every acknowledgement, for as long (a second and
    /// more after a storm).
    snapshot_pool: SqlitePool,
}

pub(crate) struct SqliteWriter {
    conn: SqliteConnection,
    /// The INSERT text for a full chunk, built once.
    full_chunk_sql: String,
}

fn options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    let base = if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url)?
    } else {
        SqliteConnectOptions::new().filename(url)
    };
    Ok(base
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(std::time::Duration::from_secs(10)))
}

/// A multi-row INSERT with positional `?` placeholders.
///
/// Not `$N`: sqlx binds a `$N` argument by asking SQLite for the parameter's name, and
/// SQLite finds it by walking the statement's whole parameter list, so a 3,000-
/// parameter statement costs quadratic time to bind (78 % of the writer's CPU in
/// `bench ingest`). Positional `?` binds in constant time. Only this SQLite backend
/// builds such statements; the PostgreSQL one keeps `$N`.
fn multi_row_insert(head: &str, columns: usize, rows: usize, tail: &str) -> String {
    let row = format!("({})", vec!["?"; columns].join(","));
    let mut sql = String::with_capacity(head.len() + rows * (row.len() + 1) + tail.len());
    sql.push_str(head);
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&row);
    }
    sql.push_str(tail);
    sql
}

/// The file engine snapshots are kept in: `<log>-snapshots` beside the log file, as
/// SQLite's own `-wal` and `-shm` are (`None` for a log in memory: its snapshots are
/// in memory too). Derived data: deleting it costs one replay of the whole log.
fn snapshot_file(url: &str) -> Option<std::path::PathBuf> {
    let log = super::sqlite_file(url)?;
    let mut name = log.into_os_string();
    name.push("-snapshots");
    Some(name.into())
}

/// Open the snapshots' file beside the log at `url` (`log_db`: a connection to the log
/// itself), and make it this log's ([`claim_snapshots`]).
async fn open_snapshots(
    url: &str,
    log_db: &mut SqliteConnection,
) -> Result<SqlitePool, StoreError> {
    let opts = match snapshot_file(url) {
        Some(file) => SqliteConnectOptions::new().filename(file),
        None => SqliteConnectOptions::from_str("sqlite::memory:")?,
    }
    .create_if_missing(true)
    .journal_mode(SqliteJournalMode::Wal)
    .synchronous(SqliteSynchronous::Normal)
    .busy_timeout(std::time::Duration::from_secs(10));
    // One connection, never closed while the store lives (a database in memory lasts
    // as long as its connection).
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(opts)
        .await?;
    sqlx::migrate!("migrations/sqlite_snapshots")
        .run(&pool)
        .await?;
    if claim_snapshots(&pool, log_db).await? {
        // Once they are safe in their own file.
        sqlx::query("DELETE FROM snapshots")
            .execute(&mut *log_db)
            .await?;
        tracing::info!("the log's snapshots moved to the file beside it");
    }
    Ok(pool)
}

/// Drop the snapshots that cannot stand for the log `log_db`: those taken from another
/// log (a log deleted and started again beside the old one's snapshots), and those
/// taken after its last event (the log put back from a backup older than the
/// snapshots: the events after it are gone, and the seqs they had will name others).
/// A file that was not this log's takes over the newest snapshots the log kept in its
/// own file, where they were kept before this file: the first start after the move
/// restores from them rather than replaying the whole log. True if any came over.
async fn claim_snapshots(
    pool: &SqlitePool,
    log_db: &mut SqliteConnection,
) -> Result<bool, StoreError> {
    let (log,): (String,) = sqlx::query_as("SELECT id FROM log_identity")
        .fetch_one(&mut *log_db)
        .await?;
    let (last_seq,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM events")
        .fetch_one(&mut *log_db)
        .await?;
    let mut tx = pool.begin().await?;
    let kept: Option<(String,)> = sqlx::query_as("SELECT id FROM log_identity")
        .fetch_optional(&mut *tx)
        .await?;
    let mut moved = false;
    if kept.as_ref().map(|(id,)| id.as_str()) != Some(log.as_str()) {
        if kept.is_some() {
            tracing::warn!("the snapshots beside the log were taken from another log: dropped");
        }
        sqlx::query("DELETE FROM snapshots")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM log_identity")
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO log_identity (id) VALUES (?)")
            .bind(&log)
            .execute(&mut *tx)
            .await?;
        // The newest of each fingerprint that the log's own table still holds.
        let before: Vec<(String, i64, String, String)> = sqlx::query_as(
            "SELECT fingerprint, seq, taken_at, body FROM snapshots AS s \
             WHERE seq = (SELECT MAX(seq) FROM snapshots WHERE fingerprint = s.fingerprint)",
        )
        .fetch_all(&mut *log_db)
        .await?;
        for (fingerprint, seq, taken_at, body) in &before {
            sqlx::query(
                "INSERT INTO snapshots (fingerprint, seq, taken_at, body) VALUES (?, ?, ?, ?)",
            )
            .bind(fingerprint)
            .bind(seq)
            .bind(taken_at)
            .bind(body)
            .execute(&mut *tx)
            .await?;
        }
        moved = !before.is_empty();
    }
    let last_seq = last_seq.unwrap_or(0);
    let ahead = sqlx::query("DELETE FROM snapshots WHERE seq > ?")
        .bind(last_seq)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if ahead > 0 {
        tracing::warn!(
            last_seq,
            "snapshots taken after the log's last event (a log put back from a backup?): dropped"
        );
    }
    tx.commit().await?;
    Ok(moved)
}

fn insert_sql(rows: usize) -> String {
    multi_row_insert(
        "INSERT INTO events (seq, at, type, report_id, received_at, body) VALUES ",
        6,
        rows,
        "",
    )
}

impl SqliteLog {
    pub(crate) async fn open(url: &str) -> Result<(SqliteLog, SqliteWriter), StoreError> {
        let opts = options(url)?;
        let mut conn = SqliteConnection::connect_with(&opts).await?;
        sqlx::migrate!("migrations/sqlite").run(&mut conn).await?;
        let writer_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone().synchronous(SqliteSynchronous::Normal))
            .await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts.read_only(true))
            .await?;
        let snapshot_pool = open_snapshots(url, &mut conn).await?;
        Ok((
            SqliteLog {
                pool,
                writer_pool,
                snapshot_pool,
            },
            SqliteWriter {
                conn,
                full_chunk_sql: insert_sql(ROWS_PER_STATEMENT),
            },
        ))
    }

    /// The read-only connections.
    pub(crate) fn readers(&self) -> &SqlitePool {
        &self.pool
    }

    /// The connection to the snapshots' file.
    pub(crate) fn snapshots(&self) -> &SqlitePool {
        &self.snapshot_pool
    }

    /// After a snapshot is kept: the snapshots' write-ahead log, as large as the
    /// snapshot just written, goes into their file and is cut back to nothing, so the
    /// disk holds the snapshots' file alone (which reuses the space the one before
    /// left) rather than that and a second copy of the newest.
    pub(crate) async fn trim_snapshots(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.snapshot_pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn append_outputs(
        &self,
        outputs: &[super::StoredOutput],
    ) -> Result<(), StoreError> {
        let mut tx = self.writer_pool.begin().await?;
        for chunk in outputs.chunks(ROWS_PER_STATEMENT) {
            let sql = multi_row_insert(
                "INSERT INTO outputs (seq, at, type, body) VALUES ",
                4,
                chunk.len(),
                " ON CONFLICT (seq) DO NOTHING",
            );
            let mut q = sqlx::query(&sql);
            for o in chunk {
                q = q.bind(o.seq).bind(&o.at).bind(&o.kind).bind(&o.body);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl SqliteWriter {
    pub(crate) async fn load_state(&mut self) -> Result<LogState, StoreError> {
        let (last,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM events")
            .fetch_one(&mut self.conn)
            .await?;
        let ids: Vec<(String, i64)> =
            sqlx::query_as("SELECT report_id, seq FROM events WHERE report_id IS NOT NULL")
                .fetch_all(&mut self.conn)
                .await?;
        Ok(LogState {
            last_seq: last.unwrap_or(0),
            report_seq: ids.into_iter().collect(),
        })
    }

    /// The stored text of the events at these seqs (for the report ids a group
    /// repeats).
    pub(crate) async fn bodies(
        &mut self,
        seqs: &[i64],
    ) -> Result<HashMap<i64, String>, StoreError> {
        let mut out = HashMap::with_capacity(seqs.len());
        for chunk in seqs.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT seq, body FROM events WHERE seq IN ({})",
                (1..=chunk.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
            for seq in chunk {
                q = q.bind(*seq);
            }
            out.extend(q.fetch_all(&mut self.conn).await?);
        }
        Ok(out)
    }

    /// Insert the rows in one transaction; durable when this returns `Ok`.
    pub(crate) async fn write(&mut self, rows: &[(i64, &Row)]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let received_at = crate::events::format_time(chrono::Utc::now());
        let mut tx = self.conn.begin().await?;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let partial;
            let sql = if chunk.len() == ROWS_PER_STATEMENT {
                self.full_chunk_sql.as_str()
            } else {
                partial = insert_sql(chunk.len());
                partial.as_str()
            };
            let mut q = sqlx::query(sql);
            for (seq, row) in chunk {
                q = q
                    .bind(*seq)
                    .bind(&row.at)
                    .bind(row.kind)
                    .bind(&row.report_id)
                    .bind(&received_at)
                    .bind(&row.body);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
