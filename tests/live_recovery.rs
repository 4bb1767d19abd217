//! The live engine when the store fails under it: messages that could not be stored
//! wait and are stored (in order, once) when the store is back, and no event is ever
//! applied twice — the stored messages are exactly those of a replay of the log. And
//! where the embedded log keeps the engine's snapshots.

mod common;

use std::time::{Duration, Instant};

use faultline::engine::{Engine, EngineOptions};
use faultline::events::Event;
use faultline::live::Live;
use faultline::store::{Store, StoreOptions};
use sqlx::Connection;

fn event(json: &str) -> Event {
    Event::parse(&serde_json::from_str(json).unwrap()).unwrap()
}

fn report(i: usize, customer: &str) -> Event {
    event(&format!(
        r#"{{"type":"report","at":"2026-07-14T03:{i:02}:00Z","id":"R-{i}","customer":"{customer}","source":"call","problem":"wire_down"}}"#
    ))
}

async fn wait(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "{what} within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A connection of the test's own to the embedded log's file, beside the store's.
async fn side_connection(db: &std::path::Path) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap()
}

/// A temporary directory and the embedded log's path in it, for the tests about that
/// log's files; `None` (saying so) when the run puts every log on PostgreSQL.
fn embedded_log() -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    if common::db::postgres_requested() {
        eprintln!("skipped on PostgreSQL: it is about the embedded log's files");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    Some((dir, db))
}

#[actix_web::test]
async fn messages_wait_out_a_store_failure_and_no_event_is_applied_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (store, _writer) = Store::open(db.to_str().unwrap(), StoreOptions::default())
        .await
        .unwrap();
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let live = Live::start(
        Engine::new(common::bundled("ieee123.geojson"), EngineOptions::default()),
        store.clone(),
        shutdown,
    )
    .await
    .unwrap();
    let first = vec![
        event(r#"{"type":"scada","at":"2026-07-14T03:00:00Z","device":"line.sw2","state":"open"}"#),
        report(1, "load.s1a"),
        report(2, "load.s2b"),
    ];
    let second = vec![report(3, "load.s4c"), report(4, "load.s5c")];

    // The messages' table goes away (a disk, a permission, a database restart).
    let mut side = side_connection(&db).await;
    sqlx::query("ALTER TABLE outputs RENAME TO outputs_away")
        .execute(&mut side)
        .await
        .unwrap();
    let appended = store.append(&first).await.unwrap();
    let l = live.clone();
    wait("the first events applied", || {
        l.applied() >= appended.last_seq
    })
    .await;
    // A few tries fail meanwhile.
    tokio::time::sleep(Duration::from_millis(700)).await;
    sqlx::query("ALTER TABLE outputs_away RENAME TO outputs")
        .execute(&mut side)
        .await
        .unwrap();
    let appended = store.append(&second).await.unwrap();

    // What a replay of the same log says, message for message.
    let mut replay = Engine::new(common::bundled("ieee123.geojson"), EngineOptions::default());
    let expected: Vec<String> = first
        .iter()
        .chain(&second)
        .flat_map(|e| replay.apply(e))
        .map(|o| o.to_json())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stored: Vec<String> = store
            .outputs_since(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.body)
            .collect();
        if stored.len() >= expected.len() && live.applied() >= appended.last_seq {
            assert_eq!(stored, expected, "stored messages differ from a replay");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} messages stored",
            stored.len(),
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A snapshot is kept in a file of its own beside the embedded log, not in the log's
/// file (SQLite lets one writer into a file at a time: a snapshot of a hundred
/// megabytes written there held every event's commit, so every acknowledgement, for a
/// second and more). It is found again by the next start on the same log, and never by
/// a log started afresh beside it, nor by the log put back from a backup older than
/// the snapshot.
#[actix_web::test]
async fn snapshots_live_beside_the_embedded_log_and_a_new_log_never_starts_from_an_old_ones() {
    let Some((dir, db)) = embedded_log() else {
        return;
    };
    let url = db.to_str().unwrap();
    let open = || async { Store::open(url, StoreOptions::default()).await.unwrap() };
    let body = r#"{"state":"after event 7"}"#;

    let (store, _writer) = open().await;
    let events: Vec<Event> = (1..=7).map(|i| report(i, "load.s1a")).collect();
    store.append(&events[..4]).await.unwrap();
    // A backup of the log after four events (SQLite's online backup, as an operator
    // would take it).
    let backup = dir.path().join("backup.db");
    let mut log = side_connection(&db).await;
    sqlx::query(&format!("VACUUM INTO '{}'", backup.display()))
        .execute(&mut log)
        .await
        .unwrap();
    store.append(&events[4..]).await.unwrap();
    store.save_snapshot(7, "fp", body).await.unwrap();
    assert_eq!(
        store.latest_snapshot("fp").await.unwrap(),
        Some((7, body.to_owned()))
    );
    let beside = dir.path().join("log.db-snapshots");
    assert!(beside.exists(), "no {}", beside.display());
    // Its write-ahead log is emptied into it: no second copy of the newest on disk.
    let wal = std::fs::metadata(dir.path().join("log.db-snapshots-wal")).map(|m| m.len());
    assert_eq!(
        wal.unwrap_or(0),
        0,
        "the snapshots' WAL was left holding them"
    );
    let (in_log,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM snapshots")
        .fetch_one(&mut log)
        .await
        .unwrap();
    assert_eq!(in_log, 0, "the snapshot went into the log's own file");
    drop(log);
    drop(store);

    // The same log, opened again: its snapshot is there.
    let (store, _writer2) = open().await;
    assert_eq!(
        store.latest_snapshot("fp").await.unwrap(),
        Some((7, body.to_owned()))
    );
    drop(store);

    // The log put back from the backup: the snapshot is of events it no longer has.
    for f in ["log.db", "log.db-wal", "log.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    std::fs::copy(&backup, &db).unwrap();
    let (store, _writer3) = open().await;
    assert_eq!(store.last_seq().await.unwrap(), 4);
    assert_eq!(store.latest_snapshot("fp").await.unwrap(), None);
    store.save_snapshot(4, "fp", body).await.unwrap();
    drop(store);

    // The log deleted and started again (same path, same network and settings): the
    // old log's snapshot must not stand for the new one's first events.
    for f in ["log.db", "log.db-wal", "log.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    assert!(beside.exists());
    let (store, _writer4) = open().await;
    store.append(&events).await.unwrap();
    assert_eq!(store.latest_snapshot("fp").await.unwrap(), None);
}

/// A log whose snapshots an older faultline kept in the log's own file: the next start
/// moves the newest one beside the log and restores from it, rather than replaying the
/// whole log, and the log's file no longer carries it.
#[actix_web::test]
async fn snapshots_an_older_faultline_kept_in_the_log_move_beside_it() {
    let Some((dir, db)) = embedded_log() else {
        return;
    };
    let url = db.to_str().unwrap();
    let (store, _writer) = Store::open(url, StoreOptions::default()).await.unwrap();
    let events: Vec<Event> = (1..=3).map(|i| report(i, "load.s1a")).collect();
    store.append(&events).await.unwrap();
    drop(store);
    // As an older faultline kept them: in the log's file, and no file beside it.
    let _ = std::fs::remove_file(dir.path().join("log.db-snapshots"));
    let mut log = side_connection(&db).await;
    for (seq, body) in [(2, "older"), (3, "newest")] {
        sqlx::query(
            "INSERT INTO snapshots (fingerprint, seq, taken_at, body) VALUES ('fp', ?, 'then', ?)",
        )
        .bind(seq)
        .bind(body)
        .execute(&mut log)
        .await
        .unwrap();
    }

    let (store, _writer2) = Store::open(url, StoreOptions::default()).await.unwrap();
    assert_eq!(
        store.latest_snapshot("fp").await.unwrap(),
        Some((3, "newest".to_owned()))
    );
    let (in_log,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM snapshots")
        .fetch_one(&mut log)
        .await
        .unwrap();
    assert_eq!(in_log, 0, "the log's file still carries its old snapshots");
}
