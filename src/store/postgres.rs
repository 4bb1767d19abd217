//! The PostgreSQL backend: one log shared by several `faultline serve` instances.
//!
//! # Gap-free seq under concurrent appends
//! Every instance has its own writer task, so appends from several instances meet in
//! the database. Each group commit takes a transaction-level advisory lock
//! (`pg_advisory_xact_lock`) before it reads `MAX(seq)`, numbers its events from there
//! and inserts them. PostgreSQL releases a transaction's locks only after the commit
//! is visible to others, so the next appender's `MAX(seq)` sees the previous group and
//! no reader can ever see seq 11 before seq 10 is final (a BIGSERIAL would commit out
//! of order). Duplicate report ids are looked up inside the same locked transaction,
//! so a report sent to two instances is still one report.
//!
//! # Following the log
//! The committing transaction also sends `NOTIFY` on a channel named after the schema
//! (`faultline_log_<schema>`) with its last seq; each instance LISTENs and moves its
//! `commits()` watch, and a poll of `MAX(seq)` every second catches anything a dropped
//! listener connection missed.
//!
//! # Leadership
//! One instance appends the `tick` events that move the engine's clock: the one that
//! holds a session-level advisory lock on a dedicated connection. When that instance
//! dies its connection closes, PostgreSQL drops the lock, and another instance takes
//! it within about a second. Ticks are ordinary logged events, so two leaders for a
//! moment (a partitioned one that has not noticed yet) cost an extra tick, never a
//! divergence between replicas.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use tokio::sync::watch;

use super::{plan, AppendRequest, Appended, LogState, StoreError, StoredOutput};

/// How often a follower polls `MAX(seq)` besides listening.
const POLL_EVERY: Duration = Duration::from_millis(1000);
/// How often a non-leader tries the leadership lock, and the leader checks its hold.
const LEADER_CHECK_EVERY: Duration = Duration::from_millis(500);
/// A leadership check that takes longer than this counts as a lost connection.
const LEADER_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub(crate) struct PgLog {
    pool: PgPool,
    options: Arc<PgConnectOptions>,
    names: Arc<Names>,
}

/// Per-schema names: two deployments sharing one database in different schemas never
/// hear each other or share a lock.
struct Names {
    /// The NOTIFY channel.
    channel: String,
    /// The advisory lock key that serializes appends.
    append_lock: i64,
    /// The advisory lock key held by the leader.
    leader_lock: i64,
}

pub(crate) struct PgWriter {
    pool: PgPool,
    names: Arc<Names>,
}

impl PgLog {
    pub(crate) async fn open(url: &str) -> Result<(PgLog, PgWriter), StoreError> {
        let options = PgConnectOptions::from_str(url)?
            .application_name("faultline")
            .log_statements(tracing::log::LevelFilter::Trace)
            // The server notices a vanished instance within ~25 s (not TCP's 2 hours) and
            // drops its locks; a transaction left idle (a frozen instance holding the
            // append lock) is ended after 30 s, so the others' appends go on.
            .options([
                ("tcp_keepalives_idle", "10"),
                ("tcp_keepalives_interval", "5"),
                ("tcp_keepalives_count", "3"),
                ("tcp_user_timeout", "25000"),
                ("idle_in_transaction_session_timeout", "30000"),
            ]);
        let mut conn = PgConnection::connect_with(&options).await?;
        // sqlx's migrator takes its own advisory lock: instances starting together are fine.
        sqlx::migrate!("migrations/postgres").run(&mut conn).await?;
        let (schema,): (String,) = sqlx::query_as("SELECT current_schema()")
            .fetch_one(&mut conn)
            .await?;
        let (append_lock, leader_lock): (i64, i64) = sqlx::query_as(
            "SELECT hashtextextended('faultline append ' || $1, 0), \
                    hashtextextended('faultline leader ' || $1, 0)",
        )
        .bind(&schema)
        .fetch_one(&mut conn)
        .await?;
        conn.close().await?;
        let names = Arc::new(Names {
            channel: channel_name(&schema),
            append_lock,
            leader_lock,
        });
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        // Appends never wait behind reads, snapshots or the listener for a connection.
        let writer = PgWriter {
            pool: PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options.clone())
                .await?,
            names: names.clone(),
        };
        Ok((
            PgLog {
                pool,
                options: Arc::new(options),
                names,
            },
            writer,
        ))
    }

    /// The pool reads go through.
    pub(crate) fn readers(&self) -> &PgPool {
        &self.pool
    }

    /// The pool snapshots are written and read through: the shared one (on PostgreSQL
    /// a snapshot's row holds no event's commit).
    pub(crate) fn snapshots(&self) -> &PgPool {
        &self.pool
    }

    /// Store output messages; every instance derives the same ones from the same log, so
    /// the first to write a seq wins and the others' rows are identical no-ops.
    pub(crate) async fn append_outputs(&self, outputs: &[StoredOutput]) -> Result<(), StoreError> {
        if outputs.is_empty() {
            return Ok(());
        }
        let seqs: Vec<i64> = outputs.iter().map(|o| o.seq).collect();
        let ats: Vec<&str> = outputs.iter().map(|o| o.at.as_str()).collect();
        let kinds: Vec<&str> = outputs.iter().map(|o| o.kind.as_str()).collect();
        let bodies: Vec<&str> = outputs.iter().map(|o| o.body.as_str()).collect();
        sqlx::query(
            "INSERT INTO outputs (seq, at, type, body) \
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[]) \
             ON CONFLICT (seq) DO NOTHING",
        )
        .bind(&seqs)
        .bind(&ats)
        .bind(&kinds)
        .bind(&bodies)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Move `committed` as other instances commit: LISTEN for their NOTIFYs, and poll
    /// `MAX(seq)` in case a notification was missed. Both stop when every receiver of
    /// `committed` is gone.
    pub(crate) fn follow(&self, committed: Arc<watch::Sender<i64>>) {
        let pool = self.pool.clone();
        let poll_committed = committed.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(POLL_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = poll_committed.closed() => return,
                    _ = every.tick() => {}
                }
                match last_seq(&pool).await {
                    Ok(seq) => advance(&poll_committed, seq),
                    Err(e) => tracing::warn!(error = %e, "polling the log's last seq failed"),
                }
            }
        });
        let pool = self.pool.clone();
        let channel = self.names.channel.clone();
        tokio::spawn(async move {
            loop {
                let mut listener = match PgListener::connect_with(&pool).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot LISTEN for the log; polling only, retrying");
                        tokio::select! {
                            _ = committed.closed() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                };
                if let Err(e) = listener.listen(&channel).await {
                    tracing::warn!(error = %e, "LISTEN failed; polling only, retrying");
                    tokio::select! {
                        _ = committed.closed() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
                loop {
                    tokio::select! {
                        _ = committed.closed() => return,
                        n = listener.recv() => match n {
                            Ok(n) => {
                                if let Ok(seq) = n.payload().parse::<i64>() {
                                    advance(&committed, seq);
                                }
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "the log listener lost its connection");
                                break;
                            }
                        }
                    }
                }
            }
        });
    }

    /// Hold (or wait for) the leadership lock on a connection of its own; `leader`
    /// says whether this instance holds it now. Stops when every receiver is gone.
    pub(crate) fn campaign(&self, leader: Arc<watch::Sender<bool>>) {
        let options = self.options.clone();
        let key = self.names.leader_lock;
        tokio::spawn(async move {
            let mut conn: Option<PgConnection> = None;
            let mut first = true;
            loop {
                if !first {
                    tokio::select! {
                        _ = leader.closed() => return,
                        _ = tokio::time::sleep(LEADER_CHECK_EVERY) => {}
                    }
                }
                first = false;
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => match PgConnection::connect_with(&options).await {
                        Ok(c) => conn.insert(c),
                        Err(e) => {
                            tracing::warn!(error = %e, "leadership: cannot connect");
                            continue;
                        }
                    },
                };
                let held = *leader.borrow();
                let check = async {
                    if held {
                        // Still connected means still holding the session lock.
                        sqlx::query("SELECT 1").execute(&mut *c).await.map(|_| true)
                    } else {
                        sqlx::query_as::<_, (bool,)>("SELECT pg_try_advisory_lock($1)")
                            .bind(key)
                            .fetch_one(&mut *c)
                            .await
                            .map(|(got,)| got)
                    }
                };
                // A check that hangs is a lost connection: stop leading at once (the
                // server drops the lock when it notices, within its keepalive).
                let outcome = match tokio::time::timeout(LEADER_CHECK_TIMEOUT, check).await {
                    Ok(r) => r,
                    Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the leadership check did not answer in time",
                    ))),
                };
                match outcome {
                    Ok(now) => {
                        if now != held {
                            tracing::info!("this instance leads: it appends the ticks");
                            leader.send_replace(now);
                        }
                    }
                    Err(e) => {
                        if held {
                            tracing::warn!(error = %e, "leadership lost with its connection");
                            leader.send_replace(false);
                        }
                        conn = None;
                    }
                }
            }
        });
    }
}

/// `faultline_log_<schema>`, cut to PostgreSQL's 63-byte identifier limit.
fn channel_name(schema: &str) -> String {
    let mut name = format!("faultline_log_{schema}");
    while name.len() > 63 {
        name.pop();
    }
    name
}

async fn last_seq(pool: &PgPool) -> Result<i64, StoreError> {
    let (seq,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM events")
        .fetch_one(pool)
        .await?;
    Ok(seq.unwrap_or(0))
}

/// Move a watch forward, never back (notifications and polls arrive in any order).
pub(crate) fn advance(committed: &watch::Sender<i64>, seq: i64) {
    committed.send_if_modified(|last| {
        let newer = seq > *last;
        if newer {
            *last = seq;
        }
        newer
    });
}

impl PgWriter {
    pub(crate) async fn load_state(&mut self) -> Result<LogState, StoreError> {
        // Report ids are checked in the database under the append lock, not cached:
        // other instances append too.
        Ok(LogState {
            last_seq: last_seq(&self.pool).await?,
            report_seq: HashMap::new(),
        })
    }

    /// Number and insert one group under the append lock; durable when this returns.
    pub(crate) async fn commit(
        &mut self,
        group: &[AppendRequest],
        state: &mut LogState,
    ) -> Result<Vec<Result<Appended, String>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // MAX(seq) must be read after the lock is held: a snapshot taken at BEGIN (the
        // database's default could be REPEATABLE READ) would miss the last group.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(self.names.append_lock)
            .execute(&mut *tx)
            .await?;
        let (last,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM events")
            .fetch_one(&mut *tx)
            .await?;
        let ids: Vec<&str> = group
            .iter()
            .flat_map(|r| r.rows.iter().filter_map(|row| row.report_id.as_deref()))
            .collect();
        let known: HashMap<String, (i64, String)> = if ids.is_empty() {
            HashMap::new()
        } else {
            sqlx::query_as::<_, (String, i64, String)>(
                "SELECT report_id, seq, body FROM events WHERE report_id = ANY($1)",
            )
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(id, seq, body)| (id, (seq, body)))
            .collect()
        };
        let planned = plan(group, last.unwrap_or(0), |id| {
            known.get(id).map(|(seq, body)| (*seq, Some(body.as_str())))
        });
        if !planned.rows.is_empty() {
            let received_at = crate::events::format_time(chrono::Utc::now());
            let n = planned.rows.len();
            let (mut seqs, mut ats, mut kinds, mut report_ids, mut bodies) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for (seq, row) in &planned.rows {
                seqs.push(*seq);
                ats.push(row.at.as_str());
                kinds.push(row.kind);
                report_ids.push(row.report_id.as_deref());
                bodies.push(row.body.as_str());
            }
            sqlx::query(
                "INSERT INTO events (seq, at, type, report_id, received_at, body) \
                 SELECT u.seq, u.at, u.type, u.report_id, $5, u.body \
                 FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $6::text[]) \
                   AS u(seq, at, type, report_id, body)",
            )
            .bind(&seqs)
            .bind(&ats)
            .bind(&kinds)
            .bind(&report_ids)
            .bind(&received_at)
            .bind(&bodies)
            .execute(&mut *tx)
            .await?;
            // Delivered at commit, to every instance listening on this schema's channel.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(&self.names.channel)
                .bind(planned.last_seq.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        state.last_seq = planned.last_seq;
        Ok(planned.answers)
    }
}
