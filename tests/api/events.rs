//! POST and GET /api/v1/events, /healthz, auth, limits.

use crate::helpers::{report, spawn_app, spawn_app_with_limit, TOKEN};
use serde_json::json;

#[actix_web::test]
async fn healthz_answers_without_a_token() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[actix_web::test]
async fn an_event_is_acknowledged_with_its_seq_and_read_back_with_it() {
    let app = spawn_app().await;
    let (status, body) = app.post_json(report("R-1", "load.s1a")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body, json!({"accepted": 1, "duplicates": 0, "last_seq": 1}));
    let stored = app.stored(0).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["seq"], 1);
    assert_eq!(stored[0]["type"], "report");
    assert_eq!(stored[0]["customer"], "load.s1a");
    assert_eq!(stored[0]["at"], "2026-07-14T03:12:09Z");
}

#[actix_web::test]
async fn an_ndjson_batch_is_stored_in_order_and_paged_by_since() {
    let app = spawn_app().await;
    let body: String = (0..50)
        .map(|i| format!("{}\n", report(&format!("R-{i}"), "load.s1a")))
        .collect();
    let (status, ack) = app.post("application/x-ndjson", body).await;
    assert_eq!(status, 202);
    assert_eq!(ack["accepted"], 50);
    assert_eq!(ack["last_seq"], 50);
    let after = app.stored(45).await;
    let seqs: Vec<i64> = after.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![46, 47, 48, 49, 50]);
    assert_eq!(after[0]["id"], "R-45");
}

#[actix_web::test]
async fn a_bad_line_refuses_the_whole_batch_naming_line_and_field_and_stores_nothing() {
    let app = spawn_app().await;
    let body = format!(
        "{}\n{}\n{}\n",
        report("R-1", "load.s1a"),
        report("R-2", "load.s1a"),
        json!({"type":"report","at":"not a time","id":"R-3","customer":"load.s1a","source":"call","problem":"no_power"})
    );
    let (status, err) = app.post("application/x-ndjson", body).await;
    assert_eq!(status, 400);
    assert_eq!(err["line"], 3);
    assert_eq!(err["field"], "at");
    assert!(err["error"].as_str().unwrap().contains("line 3"), "{err}");
    assert!(app.stored(0).await.is_empty());
}

#[actix_web::test]
async fn an_unknown_customer_is_refused_naming_the_field_and_stores_nothing() {
    let app = spawn_app().await;
    let body = format!(
        "{}\n{}\n",
        report("R-1", "load.s1a"),
        report("R-2", "nobody")
    );
    let (status, err) = app.post("application/x-ndjson", body).await;
    assert_eq!(status, 400);
    assert_eq!(
        (err["line"].as_i64(), err["field"].as_str()),
        (Some(2), Some("customer"))
    );
    assert!(err["error"].as_str().unwrap().contains("nobody"));
    assert!(app.stored(0).await.is_empty());
}

#[actix_web::test]
async fn a_repeated_report_id_is_one_report() {
    let app = spawn_app().await;
    let (_, first) = app.post_json(report("R-7", "load.s1a")).await;
    let (status, again) = app.post_json(report("R-7", "load.s1a")).await;
    assert_eq!(status, 202);
    assert_eq!(
        again,
        json!({"accepted": 0, "duplicates": 1, "last_seq": first["last_seq"]})
    );
    // Twice in one batch, too.
    let body = format!(
        "{}\n{}\n",
        report("R-8", "load.s1a"),
        report("R-8", "load.s1a")
    );
    let (_, batch) = app.post("application/x-ndjson", body).await;
    assert_eq!(
        (batch["accepted"].as_i64(), batch["duplicates"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(app.stored(0).await.len(), 2);
}

#[actix_web::test]
async fn a_json_array_is_many_events() {
    let app = spawn_app().await;
    let (status, ack) = app
        .post_json(json!([report("R-1", "load.s1a"), {"type":"scada","at":"2026-07-14T03:12:10Z","device":"line.sw1","state":"open"}]))
        .await;
    assert_eq!(status, 202, "{ack}");
    assert_eq!(ack["accepted"], 2);
}

#[actix_web::test]
async fn calls_without_the_right_token_are_refused() {
    let app = spawn_app().await;
    for header in [None, Some("Bearer wrong"), Some("Basic abc")] {
        let mut req = app.client.post(format!("{}/api/v1/events", app.base));
        if let Some(h) = header {
            req = req.insert_header(("Authorization", h));
        }
        let resp = req.send_json(&report("R-1", "load.s1a")).await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{header:?}");
        let resp = app
            .client
            .get(format!("{}/api/v1/events", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
    }
    assert!(app.stored(0).await.is_empty());
}

#[actix_web::test]
async fn a_body_over_the_limit_gets_413_with_a_message_and_stores_nothing() {
    let app = spawn_app_with_limit(4096).await;
    let body: String = (0..100)
        .map(|i| format!("{}\n", report(&format!("R-{i}"), "load.s1a")))
        .collect();
    let (status, err) = app.post("application/x-ndjson", body).await;
    assert_eq!(status, 413);
    assert!(
        err["error"].as_str().unwrap().contains("4096 bytes"),
        "{err}"
    );
    assert!(app.stored(0).await.is_empty());
}

#[actix_web::test]
async fn concurrent_requests_get_gap_free_seqs_and_distinct_acks() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for r in 0..40 {
        let body: String = (0..25)
            .map(|i| format!("{}\n", report(&format!("R-{r}-{i}"), "load.s1a")))
            .collect();
        let client = app.client.clone();
        let url = format!("{}/api/v1/events", app.base);
        tasks.push(actix_web::rt::spawn(async move {
            let mut resp = client
                .post(url)
                .insert_header(("Authorization", format!("Bearer {TOKEN}")))
                .insert_header(("Content-Type", "application/x-ndjson"))
                .send_body(body)
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 202);
            let ack: serde_json::Value =
                serde_json::from_slice(&resp.body().await.unwrap()).unwrap();
            ack["last_seq"].as_i64().unwrap()
        }));
    }
    let mut lasts = Vec::new();
    for t in tasks {
        lasts.push(t.await.unwrap());
    }
    lasts.sort();
    lasts.dedup();
    assert_eq!(lasts.len(), 40, "every request got its own last seq");
    let stored = app.stored(0).await;
    let seqs: Vec<i64> = stored.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=1000).collect::<Vec<_>>());
    // Each request's 25 events are contiguous: all or nothing, in order.
    for last in lasts {
        let first = &stored[(last - 25) as usize];
        let r = first["id"]
            .as_str()
            .unwrap()
            .rsplit_once('-')
            .unwrap()
            .0
            .to_owned();
        for k in 0..25 {
            let e = &stored[(last - 25 + k) as usize];
            assert_eq!(e["id"], format!("{r}-{k}"));
        }
    }
    assert_eq!(app.store.last_seq().await.unwrap(), 1000);
}
