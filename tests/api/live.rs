//! The engine behind the API: posted events become outages and messages.

use crate::helpers::{spawn_app, TOKEN};
use serde_json::json;

fn call(id: &str, customer: &str, minute: u32) -> String {
    json!({"type":"report","at":format!("2026-07-14T03:{minute:02}:00Z"),"id":id,"customer":customer,"source":"call","problem":"no_power"}).to_string()
}

#[actix_web::test]
async fn posted_scada_trip_is_an_outage_in_the_api_and_the_messages() {
    let app = spawn_app().await;
    let (status, _) = app
        .post_json(
            json!({"type":"scada","at":"2026-07-14T03:00:00Z","device":"line.sw1","state":"open"}),
        )
        .await;
    assert_eq!(status, 202);
    let outages = app
        .wait_for("/api/v1/outages", |v| {
            v.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    assert_eq!(outages[0]["device"], "line.sw1");
    assert_eq!(outages[0]["status"], "confirmed");
    assert_eq!(outages[0]["customers_out"], 91);
    // The messages are kept, gap-free, for a later reader.
    // The messages are kept, gap-free, for a later reader (stored just after the
    // engine applies the events, so wait for them).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let lines = loop {
        let mut resp = app
            .client
            .get(format!("{}/api/v1/messages?since=0", app.base))
            .insert_header(("Authorization", format!("Bearer {TOKEN}")))
            .send()
            .await
            .unwrap();
        let body = resp.body().await.unwrap();
        let lines: Vec<serde_json::Value> = std::str::from_utf8(&body)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if !lines.is_empty() {
            break lines;
        }
        assert!(std::time::Instant::now() < deadline, "no message stored");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(lines[0]["seq"], 1);
    assert_eq!(lines[0]["type"], "outage.created");
    assert_eq!(lines[0]["data"]["device"], "line.sw1");
    // Closing it restores it; `status=all` still lists it.
    app.post_json(
        json!({"type":"scada","at":"2026-07-14T04:00:00Z","device":"line.sw1","state":"closed"}),
    )
    .await;
    app.wait_for("/api/v1/outages", |v| {
        v.as_array().is_some_and(|a| a.is_empty())
    })
    .await;
    let all = app.get_json("/api/v1/outages?status=all").await;
    assert_eq!(all[0]["status"], "restored");
}

#[actix_web::test]
async fn calls_become_a_single_customer_outage_and_crews_are_listed() {
    let app = spawn_app().await;
    let body = format!(
        "{}\n{}\n",
        call("R1", "load.s1a", 0),
        json!({"type":"crew","at":"2026-07-14T03:00:00Z","id":"CREW-1","skills":["line"],"lon":116.37,"lat":39.89})
    );
    let (status, _) = app.post("application/x-ndjson", body).await;
    assert_eq!(status, 202);
    let outages = app
        .wait_for("/api/v1/outages", |v| {
            v.as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    assert_eq!(outages[0]["device"], "load.s1a");
    assert_eq!(outages[0]["kind"], "service");
    let crews = app.get_json("/api/v1/crews").await;
    assert_eq!(crews[0]["id"], "CREW-1");
    assert_eq!(app.get_json("/api/v1/orders").await, json!([]));
}
