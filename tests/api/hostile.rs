//! What a broken client or an attacker may send: times far off, oversized or binary
//! strings. Each is refused with 400 naming the field, nothing of it is stored, and the
//! engine's clock stays where the log put it. See: issue 19.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, CREW7_TOKEN, DISPATCHER_TOKEN, TOKEN};

const AT: &str = "2026-07-14T03:00:00Z";

fn report_at(id: &str, at: &str) -> Value {
    json!({"type":"report","at":at,"id":id,"customer":"load.s1a","source":"call","problem":"no_power"})
}

/// The engine's clock, as the newest stored message says it.
async fn clock(app: &TestApp) -> Option<String> {
    app.wait_for_message(|_| true)
        .await
        .iter()
        .filter_map(|m| m["at"].as_str().map(str::to_owned))
        .max()
}

#[actix_web::test]
async fn an_event_from_far_ahead_or_before_1970_is_refused_by_every_role_naming_at() {
    let app = spawn_app().await;
    let crew = json!({"type":"crew","at":AT,"id":"CREW-7","skills":["line"],"lon":-84.39,"lat":33.75,"on_shift":true});
    assert_eq!(app.post_json(crew).await.0, 202);
    assert_eq!(app.post_json(report_at("R-1", AT)).await.0, 202);
    app.wait_for_message(|m| m["type"] == "outage.created")
        .await;
    let before = clock(&app).await;
    let stored = app.stored(0).await.len();

    let ahead = (chrono::Utc::now() + chrono::Duration::minutes(30))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for at in [
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        ahead.as_str(),
    ] {
        for token in [TOKEN, DISPATCHER_TOKEN] {
            let (status, body) = app
                .call(
                    "POST",
                    "/api/v1/events",
                    Some(token),
                    Some(report_at("R-far", at)),
                )
                .await;
            assert_eq!(status, 400, "{at}: {body}");
            assert_eq!(body["field"], "at", "{at}: {body}");
        }
        let position =
            json!({"type":"crew_position","at":at,"crew":"CREW-7","lon":-84.39,"lat":33.75});
        let (status, body) = app
            .call("POST", "/api/v1/events", Some(CREW7_TOKEN), Some(position))
            .await;
        assert_eq!(status, 400, "{at}: {body}");
        assert_eq!(body["field"], "at", "{at}: {body}");
    }
    let (_, body) = app
        .call(
            "POST",
            "/api/v1/events",
            Some(TOKEN),
            Some(report_at("R-far", "9999-12-31T23:59:59Z")),
        )
        .await;
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("outside the times faultline takes"),
        "{body}"
    );
    let (_, body) = app
        .call(
            "POST",
            "/api/v1/events",
            Some(TOKEN),
            Some(report_at("R-far", &ahead)),
        )
        .await;
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("ahead of this server's clock"),
        "{body}"
    );
    assert_eq!(app.stored(0).await.len(), stored, "nothing of them stored");

    // A few minutes ahead (clocks drift) and long ago (late evidence) are taken, and the
    // late one does not move the clock back.
    let drift = (chrono::Utc::now() + chrono::Duration::minutes(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(app.post_json(report_at("R-drift", &drift)).await.0, 202);
    assert_eq!(
        app.post_json(report_at("R-old", "1999-01-01T00:00:00Z"))
            .await
            .0,
        202
    );
    assert_eq!(app.post_json(report_at("R-2", AT)).await.0, 202);
    app.wait_for_message(|m| m["at"].as_str() == Some(drift.as_str()))
        .await;
    let after = clock(&app).await.unwrap();
    assert!(before.unwrap() < after);
    assert_eq!(after, drift, "the clock stays at the latest time taken");
}

#[actix_web::test]
async fn oversized_strings_and_control_characters_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let long_id = "R".repeat(201);
    let cases = [
        (
            json!({"type":"report","at":AT,"id":long_id,"customer":"load.s1a","source":"call","problem":"no_power"}),
            "id",
            "201 characters",
        ),
        (
            json!({"type":"report","at":AT,"id":"R-\u{0}1","customer":"load.s1a","source":"call","problem":"no_power"}),
            "id",
            "U+0000",
        ),
        (
            json!({"type":"report","at":AT,"id":"R-1","customer":"load.s1a","source":"call","problem":"no_power","note":"x".repeat(4001)}),
            "note",
            "4001 characters",
        ),
        (
            json!({"type":"crew","at":AT,"id":"CREW-1","name":"a\u{1b}[31mred","skills":["line"],"on_shift":true}),
            "name",
            "U+001B",
        ),
        (
            json!({"type":"crew","at":AT,"id":"CREW-1","skills":["x".repeat(300)],"on_shift":true}),
            "skills",
            "300 characters",
        ),
    ];
    for (event, field, says) in cases {
        let (status, body) = app.post_json(event).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["field"], field, "{body}");
        assert!(body["error"].as_str().unwrap().contains(says), "{body}");
    }
    assert!(app.stored(0).await.is_empty(), "nothing of them stored");
    // A note may hold line breaks and tabs.
    let note = json!({"type":"report","at":AT,"id":"R-2","customer":"load.s1a","source":"call","problem":"no_power","note":"line one\n\tline two"});
    assert_eq!(app.post_json(note).await.0, 202);
}

#[actix_web::test]
async fn a_report_id_reused_for_another_report_is_refused_with_409_naming_it() {
    let app = spawn_app().await;
    assert_eq!(app.post_json(report_at("R-1", AT)).await.0, 202);
    // A retry of the same report is one report.
    let (status, body) = app.post_json(report_at("R-1", AT)).await;
    assert_eq!((status, &body["duplicates"]), (202, &json!(1)), "{body}");
    // Another report under the same id is refused, whole.
    let other = json!({"type":"report","at":AT,"id":"R-1","customer":"load.s2b","source":"call","problem":"no_power"});
    let batch = format!("{}\n{}\n", report_at("R-2", AT), other);
    let (status, body) = app.post("application/x-ndjson", batch).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("report id \"R-1\" is already stored (seq 1) with other content"),
        "{body}"
    );
    let stored = app.stored(0).await;
    assert_eq!(
        stored.len(),
        1,
        "nothing of the refused request stored: {stored:?}"
    );
}
