//! No stored event can stop the engine (see: issue 19). A log that holds events the
//! engine cannot take (dated year 9999 or year 1, as an older faultline stored them) or
//! cannot even read (a damaged row) is followed to its end: each is set aside with an
//! `event.set_aside` message naming its seq, later events are applied, a restart does
//! the same without writing anything twice, and `faultline replay` of the exported log
//! gives the very same stream.

mod common;

use std::time::{Duration, Instant};

use faultline::engine::{Engine, EngineOptions};
use faultline::events::Event;
use faultline::input::{apply_all, read_events};
use faultline::live::Live;
use faultline::store::{Store, StoreOptions};
use sqlx::Connection;

fn event(json: &str) -> Event {
    Event::parse(&serde_json::from_str(json).unwrap()).unwrap()
}

fn report(id: &str, at: &str, customer: &str) -> Event {
    event(&format!(
        r#"{{"type":"report","at":"{at}","id":"{id}","customer":"{customer}","source":"call","problem":"no_power"}}"#
    ))
}

fn engine() -> Engine {
    Engine::new(common::bundled("ieee123.geojson"), EngineOptions::default())
}

async fn start(store: &Store) -> (Live, tokio::sync::watch::Sender<bool>) {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let live = Live::start(engine(), store.clone(), shutdown)
        .await
        .expect("the engine starts on the log");
    (live, stop)
}

async fn stored_messages(store: &Store, at_least: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stored = store.outputs_since(0, 100_000).await.unwrap();
        if stored.len() >= at_least {
            return stored
                .iter()
                .map(|o| serde_json::from_str(&o.body).unwrap())
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "{} messages stored",
            stored.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn a_log_with_events_the_engine_cannot_take_or_read_is_followed_to_its_end() {
    if common::db::postgres_requested() {
        eprintln!("skipped on PostgreSQL: it damages a row of the embedded log's file");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let url = db.to_str().unwrap();
    let (store, _writer) = Store::open(url, StoreOptions::default()).await.unwrap();
    let customers = ["load.s1a", "load.s2b", "load.s4c", "load.s5c", "load.s6c"];
    let mut log: Vec<Event> = (0..12)
        .map(|i| {
            let at = format!("2026-07-14T03:{:02}:00Z", i);
            report(&format!("R-{i}"), &at, customers[i % customers.len()])
        })
        .collect();
    // Seqs 4 and 7: what the API took before it checked times.
    log.insert(3, report("R-far", "9999-12-31T23:59:59Z", "load.s1a"));
    log.insert(6, report("R-early", "0001-01-01T00:00:00Z", "load.s2b"));
    let last = store.append(&log).await.unwrap().last_seq;
    assert_eq!(last, 14);
    // Seq 10's row is damaged on disk.
    let mut side = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    sqlx::query(r#"UPDATE events SET body = '{"type":"report","at":' WHERE seq = 10"#)
        .execute(&mut side)
        .await
        .unwrap();

    let (live, stop) = start(&store).await;
    assert_eq!(
        live.applied(),
        last,
        "the engine followed the log to its end"
    );
    let clock = live.with_engine(|e| e.clock()).unwrap();
    assert_eq!(
        faultline::events::format_time(clock),
        "2026-07-14T03:11:00Z"
    );
    let messages = stored_messages(&store, 1).await;
    let set_aside: Vec<&serde_json::Value> = messages
        .iter()
        .filter(|m| m["type"] == "event.set_aside")
        .collect();
    let seqs: Vec<i64> = set_aside
        .iter()
        .map(|m| m["data"]["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![4, 7, 10], "{set_aside:#?}");
    assert!(set_aside[0]["data"]["reason"]
        .as_str()
        .unwrap()
        .contains("outside the times faultline takes"));
    assert!(set_aside[2]["data"]["reason"]
        .as_str()
        .unwrap()
        .contains("cannot be read"));
    // Reports after them were applied: the last one is in an outage's evidence.
    assert!(
        messages
            .iter()
            .any(|m| m["type"].as_str().unwrap().starts_with("outage.")
                && m["data"].to_string().contains("\"R-11\"")),
        "the last report reached an outage"
    );
    let count = messages.len();
    drop(stop);
    drop(live);

    // A restart follows the same log to the same end, writing nothing again.
    let (live, _stop) = start(&store).await;
    assert_eq!(live.applied(), last);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(stored_messages(&store, count).await.len(), count);

    // `faultline replay` of the exported log agrees, message for message.
    let export = dir.path().join("export.ndjson");
    let lines: String = store
        .read_since(0, 1000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.to_json_with_seq() + "\n")
        .collect();
    std::fs::write(&export, lines).unwrap();
    let file = read_events(&export, chrono::Utc::now()).unwrap();
    let mut replayed = Vec::new();
    let engine = apply_all(engine(), &file, |o| {
        replayed.push(serde_json::from_str::<serde_json::Value>(&o.to_json()).unwrap());
        Ok::<_, ()>(())
    })
    .unwrap();
    // `serve` flushes the last minute's updates only when its clock moves on.
    replayed.truncate(count.min(replayed.len()));
    assert_eq!(replayed, messages);
    drop(engine);
}
