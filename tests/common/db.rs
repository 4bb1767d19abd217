//! Where a test's event log lives. By default a SQLite file in the test's temp dir;
//! with `FAULTLINE_TEST_DB=postgres` the same test runs on a fresh schema of the local
//! PostgreSQL (`FAULTLINE_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`),
//! so the whole suite can run against both backends (`.ci/run` does both).

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Connection;

/// Schemas made by tests start with this, then the Unix time they were made.
const PREFIX: &str = "fl_t_";

/// The PostgreSQL server tests use.
pub fn pg_url() -> String {
    std::env::var("FAULTLINE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Whether this run puts every test's log on PostgreSQL.
pub fn postgres_requested() -> bool {
    std::env::var("FAULTLINE_TEST_DB").is_ok_and(|v| v.eq_ignore_ascii_case("postgres"))
}

/// Whether a missing PostgreSQL must fail the run rather than skip (CI sets it).
fn postgres_required() -> bool {
    postgres_requested() || std::env::var("FAULTLINE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// The `--db` for one test: a SQLite file in `dir`, or a fresh PostgreSQL schema when
/// the run asks for PostgreSQL.
pub async fn test_db(dir: &Path) -> String {
    if postgres_requested() {
        fresh_schema()
            .await
            .expect("FAULTLINE_TEST_DB=postgres, but no PostgreSQL answers")
    } else {
        dir.join("log.db").to_string_lossy().into_owned()
    }
}

/// [`test_db`] for tests without an async runtime.
pub fn test_db_blocking(dir: &Path) -> String {
    block_on(test_db(dir))
}

/// A URL of a fresh, empty schema on the test server, or `None` when no PostgreSQL
/// answers (then the caller skips, saying so — unless PostgreSQL is required, when
/// this panics).
pub async fn fresh_schema() -> Option<String> {
    static N: AtomicU32 = AtomicU32::new(0);
    let base = pg_url();
    let mut conn = match tokio::time::timeout(
        Duration::from_secs(5),
        sqlx::PgConnection::connect(&base),
    )
    .await
    {
        Ok(Ok(c)) => c,
        Ok(Err(e)) if !postgres_required() => {
            eprintln!("skipped: no PostgreSQL at {base} ({e})");
            return None;
        }
        Err(_) if !postgres_required() => {
            eprintln!("skipped: no PostgreSQL answered at {base} in 5 s");
            return None;
        }
        Ok(Err(e)) => panic!("PostgreSQL is required but {base} refused: {e}"),
        Err(_) => panic!("PostgreSQL is required but {base} did not answer in 5 s"),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    drop_old_schemas(&mut conn, now).await;
    let schema = format!(
        "{PREFIX}{now}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create a test schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

/// Schemas left by test runs more than two hours ago (a test cannot drop its own: its
/// servers may still hold connections when it ends).
async fn drop_old_schemas(conn: &mut sqlx::PgConnection, now: u64) {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'fl\\_t\\_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let made: u64 = name[PREFIX.len()..]
            .split('_')
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        if made + 7200 < now {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// Run a future on a small runtime of its own.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}
