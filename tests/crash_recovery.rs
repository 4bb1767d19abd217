//! The real binary, killed with SIGKILL in the middle of 10,000 events: every event
//! it acknowledged is in the log after a restart, the log is gap-free, and retrying
//! the unacknowledged ones (same report ids) completes it without duplicates.

mod common;

use common::free_port;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "crash-test-token";
const EVENTS: usize = 10_000;
const CLIENTS: usize = 8;

fn start(db: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["serve", "--network"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/gis-data/ieee123.geojson"
        ))
        .arg("--db")
        .arg(db)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .env("FAULTLINE_ADMIN_TOKEN", TOKEN)
        .env("FAULTLINE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts")
}

async fn wait_healthy(client: &awc::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(resp) = client.get(format!("{base}/healthz")).send().await {
            if resp.status().as_u16() == 200 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the server did not answer /healthz in 20 s"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

fn report(i: usize) -> String {
    // Two customers of the bundled IEEE 123 network, alternating.
    let customer = if i % 2 == 0 { "load.s1a" } else { "load.s2b" };
    format!(
        r#"{{"type":"report","at":"2026-07-14T03:{:02}:{:02}Z","id":"R-{i}","customer":"{customer}","source":"call","problem":"no_power"}}"#,
        (i / 60) % 60,
        i % 60
    )
}

/// Post events `ids` (single requests and small batches); returns the ids acknowledged.
async fn post_all(base: String, ids: Vec<usize>, acked_count: Arc<AtomicUsize>) -> Vec<usize> {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    let mut acked = Vec::new();
    let mut k = 0;
    while k < ids.len() {
        // Alternate single-event requests and NDJSON batches of up to 7.
        let n = if k % 3 == 0 { 1 } else { 7.min(ids.len() - k) };
        let batch = &ids[k..k + n];
        k += n;
        let body: String = batch.iter().map(|&i| report(i) + "\n").collect();
        let sent = client
            .post(format!("{base}/api/v1/events"))
            .insert_header(("Authorization", format!("Bearer {TOKEN}")))
            .insert_header(("Content-Type", "application/x-ndjson"))
            .send_body(body)
            .await;
        match sent {
            Ok(resp) if resp.status().as_u16() == 202 => {
                acked.extend_from_slice(batch);
                acked_count.fetch_add(n, Ordering::Relaxed);
            }
            Ok(resp) => panic!("unexpected status {}", resp.status()),
            Err(_) => break, // the server is gone
        }
    }
    acked
}

async fn stored_ids(client: &awc::Client, base: &str) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut since = 0;
    loop {
        let mut resp = client
            .get(format!("{base}/api/v1/events?since={since}&limit=5000"))
            .insert_header(("Authorization", format!("Bearer {TOKEN}")))
            .send()
            .await
            .unwrap();
        let body = resp.body().limit(1 << 30).await.unwrap();
        let text = std::str::from_utf8(&body).unwrap();
        if text.is_empty() {
            return out;
        }
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            since = v["seq"].as_i64().unwrap();
            out.push((since, v["id"].as_str().unwrap().to_owned()));
        }
    }
}

#[actix_web::test]
async fn every_acknowledged_event_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::db::test_db(dir.path()).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    let mut server = start(&db, port);
    wait_healthy(&client, &base).await;

    let acked_count = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let ids: Vec<usize> = (0..EVENTS).filter(|i| i % CLIENTS == c).collect();
        tasks.push(actix_web::rt::spawn(post_all(
            base.clone(),
            ids,
            acked_count.clone(),
        )));
    }
    // Kill it while requests are in flight: after a good share has been acknowledged.
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked_count.load(Ordering::Relaxed) < EVENTS * 6 / 10 {
        assert!(
            Instant::now() < deadline,
            "too slow: {} acked",
            acked_count.load(Ordering::Relaxed)
        );
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().expect("SIGKILL");
    server.wait().unwrap();
    let mut acked: HashSet<usize> = HashSet::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(
        acked.len() >= EVENTS * 6 / 10 && acked.len() < EVENTS,
        "acked {}",
        acked.len()
    );

    // Restart on the same file: every acknowledged event is there, gap-free.
    let mut server = start(&db, port);
    wait_healthy(&client, &base).await;
    let stored = stored_ids(&client, &base).await;
    let seqs: Vec<i64> = stored.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        (1..=stored.len() as i64).collect::<Vec<_>>(),
        "gap-free"
    );
    let stored_set: HashSet<String> = stored.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(stored_set.len(), stored.len(), "no report stored twice");
    let lost: Vec<usize> = acked
        .iter()
        .copied()
        .filter(|i| !stored_set.contains(&format!("R-{i}")))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );

    // The clients retry what was not acknowledged: the log completes, with no duplicate.
    let retry: Vec<usize> = (0..EVENTS).filter(|i| !acked.contains(i)).collect();
    let again = post_all(base.clone(), retry.clone(), Arc::default()).await;
    assert_eq!(again.len(), retry.len());
    let stored = stored_ids(&client, &base).await;
    assert_eq!(stored.len(), EVENTS);
    assert_eq!(
        stored
            .iter()
            .map(|(_, id)| id)
            .collect::<HashSet<_>>()
            .len(),
        EVENTS
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
