//! `GET /api/v1/reports` through a real server (issue 7, item 4).

mod common;
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use helpers::{spawn_app, TestApp, CREW7_TOKEN, TOKEN, WALLBOARD_TOKEN};
use serde_json::json;

/// GET with a token: status, content type, body text.
async fn get_as(app: &TestApp, token: Option<&str>, path: &str) -> (u16, String, String) {
    app.get_text(token, path).await
}

/// A breaker-like switch (line.sw1, 91 customers below it on IEEE 123) trips at 03:00
/// and closes at 04:00: 91 customers × 60 min = 5,460 customer-minutes, 91 interruptions.
async fn one_hour_outage(app: &TestApp) {
    for (at, state) in [("03:00", "open"), ("04:00", "closed")] {
        let (status, _) = app
            .post_json(json!({"type":"scada","at":format!("2026-07-14T{at}:00Z"),"device":"line.sw1","state":state}))
            .await;
        assert_eq!(status, 202);
    }
    app.wait_for("/api/v1/outages?status=all", |v| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|o| o["status"] == "restored"))
    })
    .await;
}

#[actix_web::test]
async fn the_report_of_the_day_counts_the_outage_s_customer_minutes() {
    let app = spawn_app().await;
    one_hour_outage(&app).await;
    let r = app
        .get_json("/api/v1/reports?from=2026-07-14&to=2026-07-14")
        .await;
    assert_eq!(r["scope"]["from"], "2026-07-14T00:00:00Z");
    assert_eq!(r["scope"]["to"], "2026-07-15T00:00:00Z");
    let rel = &r["reliability"];
    assert_eq!(rel["outages"], 1);
    assert_eq!(rel["all_days"]["customer_minutes"], 5460.0);
    assert_eq!(rel["all_days"]["customer_interruptions"], 91);
    let served = rel["customers_served"].as_f64().unwrap();
    let saidi = rel["all_days"]["saidi_min"].as_f64().unwrap();
    assert!((saidi - 5460.0 / served).abs() < 1e-9);
    assert_eq!(r["calls"]["outages"], 1);
    // Without from/to: today on the engine's clock, the same day.
    let today = app.get_json("/api/v1/reports").await;
    assert_eq!(today["scope"]["from"], "2026-07-14T00:00:00Z");
    assert_eq!(today["reliability"]["all_days"], rel["all_days"]);
    // The next day has nothing.
    let next = app.get_json("/api/v1/reports?from=2026-07-15").await;
    assert_eq!(next["reliability"]["outages"], 0);
}

#[actix_web::test]
async fn csv_is_one_flat_table_with_its_header() {
    let app = spawn_app().await;
    one_hour_outage(&app).await;
    let (status, content_type, body) = get_as(
        &app,
        Some(TOKEN),
        "/api/v1/reports?from=2026-07-14&to=2026-07-14&format=csv",
    )
    .await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let mut lines = body.lines();
    assert_eq!(lines.next(), Some("section,group,metric,value"));
    assert!(
        body.lines()
            .any(|l| l == "reliability,all_days,customer_minutes,5460.0"),
        "{body}"
    );
    assert!(body.lines().all(|l| l.split(',').count() >= 4), "{body}");
}

#[actix_web::test]
async fn bad_or_unknown_parameters_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, parameter) in [
        ("from=yesterday", "from"),
        ("from=2026-07-14&to=2026-07-01", "to"),
        ("zone=downtown", "zone"),
        ("feeder=NO-SUCH-FEEDER", "feeder"),
        ("format=xlsx", "format"),
        ("utc_offset=8", "utc_offset"),
        ("form=2026-07-14", "form"),
    ] {
        let (status, body) = app.get(&format!("/api/v1/reports?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with(&format!("{parameter}:")),
            "{query}: {error}"
        );
    }
}

#[actix_web::test]
async fn dispatchers_and_wallboards_read_reports_crews_and_strangers_do_not() {
    let app = spawn_app().await;
    let path = "/api/v1/reports?format=json";
    assert_eq!(get_as(&app, Some(WALLBOARD_TOKEN), path).await.0, 200);
    assert_eq!(
        get_as(&app, Some(helpers::DISPATCHER_TOKEN), path).await.0,
        200
    );
    assert_eq!(get_as(&app, Some(CREW7_TOKEN), path).await.0, 403);
    assert_eq!(get_as(&app, None, path).await.0, 401);
    // The page itself needs no token (it reads it from its URL).
    let (status, content_type, body) = get_as(&app, None, "/reports").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"));
    assert!(body.contains("reports.js"));
}

/// Planned work on line.sw2 (its customers: n, from the notice):
/// - PO-1, scheduled at 01:00 for 01:30–02:00: completed, dark 30 min;
/// - PO-2, urgent work published at 02:10 for a window that began at 02:00 and ends
///   02:40: dark from 02:10 (when the notice took effect), 30 min;
/// - PO-3, scheduled for 05:00–06:00 and cancelled at 02:50: nobody dark.
///
/// Planned: 2 outages, n × 60 customer-minutes, 2n interruptions; nothing unplanned.
#[actix_web::test]
async fn planned_work_from_the_notices_is_in_the_planned_section() {
    let app = spawn_app().await;
    let planned = |at: &str, id: &str, start: &str, end: &str, kind: &str| {
        json!({"type":"planned_outage","at":format!("2026-07-14T{at}:00Z"),"id":id,
            "device":"line.sw2","start":format!("2026-07-14T{start}:00Z"),
            "end":format!("2026-07-14T{end}:00Z"),"kind":kind})
    };
    for event in [
        planned("01:00", "PO-1", "01:30", "02:00", "planned"),
        planned("01:00", "PO-3", "05:00", "06:00", "planned"),
        json!({"type":"tick","at":"2026-07-14T01:45:00Z"}),
        planned("02:10", "PO-2", "02:00", "02:40", "urgent"),
        json!({"type":"planned_outage_cancel","at":"2026-07-14T02:50:00Z","id":"PO-3"}),
        json!({"type":"tick","at":"2026-07-14T03:00:00Z"}),
    ] {
        let (status, body) = app.post_json(event).await;
        assert_eq!(status, 202, "{body}");
    }
    let notices = app
        .wait_for("/api/v1/notices?status=all", |v| {
            v.as_array().is_some_and(|a| {
                a.len() == 3
                    && a.iter()
                        .all(|n| n["status"] != "scheduled" && n["status"] != "active")
            })
        })
        .await;
    let n = notices[0]["customers"].as_f64().unwrap();
    assert!(n > 0.0);
    let r = app
        .get_json("/api/v1/reports?from=2026-07-14&to=2026-07-14")
        .await;
    let p = &r["reliability"]["planned"];
    assert_eq!(p["outages"], 2, "{p}");
    assert_eq!(p["customer_minutes"].as_f64(), Some(n * 60.0), "{p}");
    assert_eq!(p["customer_interruptions"].as_f64(), Some(n * 2.0), "{p}");
    assert_eq!(r["reliability"]["outages"], 0);
    assert_eq!(r["reliability"]["all_days"]["customer_minutes"], 0.0);
}
