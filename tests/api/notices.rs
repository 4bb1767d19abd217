//! Planned-outage notices and callbacks through the HTTP API (issue 7, items 1 and 3):
//! bad events refused naming the field, the Atom/CAP feed is well-formed XML with the
//! notice in it, and each role reads what it may.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, CREW7_TOKEN, DISPATCHER_TOKEN, TOKEN, WALLBOARD_TOKEN};

const AT: &str = "2026-07-01T08:00:00Z";

fn planned(id: &str, start: &str, end: &str) -> Value {
    json!({"type":"planned_outage","at":AT,"id":id,"device":"line.sw2","start":start,"end":end,
        "kind":"planned","reason":"pole <replacement> & \"re-conductoring\""})
}

#[actix_web::test]
async fn a_bad_planned_outage_is_refused_naming_the_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"type":"planned_outage","at":AT,"id":"PO-1","device":"line.sw2","start":"2026-07-10T08:00:00Z","end":"2026-07-10T07:00:00Z","kind":"planned"}),
            "end",
        ),
        (
            json!({"type":"planned_outage","at":AT,"id":"PO-1","device":"line.sw2","start":"tomorrow","end":"2026-07-10T07:00:00Z","kind":"planned"}),
            "start",
        ),
        (
            json!({"type":"planned_outage","at":AT,"id":"PO-1","device":"line.sw2","start":"2026-07-10T08:00:00Z","end":"2026-07-10T10:00:00Z","kind":"whenever"}),
            "kind",
        ),
        (
            json!({"type":"planned_outage","at":AT,"id":"PO-1","device":"nowhere","start":"2026-07-10T08:00:00Z","end":"2026-07-10T10:00:00Z","kind":"planned"}),
            "device",
        ),
        (
            json!({"type":"planned_outage","at":AT,"device":"line.sw2","start":"2026-07-10T08:00:00Z","end":"2026-07-10T10:00:00Z","kind":"planned"}),
            "id",
        ),
        (
            json!({"type":"callback","at":AT,"outage":"OUT-1","customer":"load.s1a","outcome":"perhaps"}),
            "outcome",
        ),
        (
            json!({"type":"callback","at":AT,"outage":"OUT-1","customer":"nobody","outcome":"restored"}),
            "customer",
        ),
    ];
    for (event, field) in cases {
        let (status, body) = app.post_json(event.clone()).await;
        assert_eq!(status, 400, "{event}: {body}");
        assert_eq!(body["field"], field, "{event}: {body}");
    }
    // A callback for an outage nobody reported is a conflict, not stored.
    let (status, body) = app
        .post_json(json!({"type":"callback","at":AT,"outage":"OUT-1","customer":"load.s1a","outcome":"restored"}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("no callback is listed"));
    // Cancelling an unknown notice too.
    let (status, _) = app
        .post_json(json!({"type":"planned_outage_cancel","at":AT,"id":"PO-404"}))
        .await;
    assert_eq!(status, 409);
    assert!(app.stored(0).await.is_empty());
}

#[actix_web::test]
async fn the_feed_is_valid_xml_with_the_notice_in_it_and_a_late_notice_flagged() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(planned(
            "PO-1",
            "2026-07-03T08:00:00Z",
            "2026-07-03T12:00:00Z",
        ))
        .await;
    assert_eq!(status, 202, "{body}");
    let notices = app
        .wait_for("/api/v1/notices", |v| {
            v.as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    let n = &notices[0];
    assert_eq!(n["id"], "PO-1");
    assert_eq!(n["status"], "scheduled");
    assert_eq!(n["late"], true, "two days' notice for planned work: {n}");
    assert!(n["customers"].as_u64().unwrap() > 0);

    for token in [TOKEN, WALLBOARD_TOKEN, CREW7_TOKEN] {
        let (status, ct, xml) = app.get_text(Some(token), "/api/v1/notices.atom").await;
        assert_eq!(status, 200);
        assert!(ct.starts_with("application/atom+xml"), "{ct}");
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        let feed = doc.root_element();
        assert_eq!(feed.tag_name().name(), "feed");
        assert_eq!(
            feed.tag_name().namespace(),
            Some("http://www.w3.org/2005/Atom")
        );
        let entry = feed
            .children()
            .find(|c| c.has_tag_name("entry"))
            .expect("an entry");
        let title = entry
            .children()
            .find(|c| c.has_tag_name("title"))
            .and_then(|t| t.text())
            .unwrap();
        assert!(title.starts_with("[late notice]"), "{title}");
        assert!(title.contains("PO-1"), "{title}");
        let alert = entry
            .descendants()
            .find(|c| c.has_tag_name(("urn:oasis:names:tc:emergency:cap:1.2", "alert")))
            .expect("a CAP 1.2 alert in the entry");
        let text = |name: &str| {
            alert
                .descendants()
                .find(|c| c.has_tag_name(name))
                .and_then(|c| c.text())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(text("msgType"), "Alert");
        assert_eq!(text("onset"), "2026-07-03T08:00:00-00:00");
        assert!(text("description").contains("pole <replacement> & \"re-conductoring\""));
        let late = alert
            .descendants()
            .filter(|c| c.has_tag_name("parameter"))
            .find(|p| p.descendants().any(|c| c.text() == Some("late_notice")))
            .expect("a late_notice parameter");
        assert!(late.descendants().any(|c| c.text() == Some("true")));
    }
    // One notice's CAP document.
    let (status, ct, xml) = app.get_text(Some(TOKEN), "/api/v1/notices/PO-1/cap").await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/cap+xml"), "{ct}");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "alert");

    // A change is an Update that references the first alert.
    let (status, _) = app
        .post_json(planned(
            "PO-1",
            "2026-07-03T08:00:00Z",
            "2026-07-03T14:00:00Z",
        ))
        .await;
    assert_eq!(status, 202);
    app.wait_for("/api/v1/notices", |v| v[0]["revision"] == 2)
        .await;
    let (_, _, xml) = app.get_text(Some(TOKEN), "/api/v1/notices/PO-1/cap").await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let refs = doc
        .descendants()
        .find(|c| c.has_tag_name("references"))
        .and_then(|c| c.text())
        .unwrap();
    assert!(
        refs.starts_with("faultline,faultline-notice-PO-1-1,"),
        "{refs}"
    );
}

#[actix_web::test]
async fn roles_read_notices_and_callbacks_as_they_may() {
    let app = spawn_app().await;
    app.post_json(planned(
        "PO-1",
        "2026-07-10T08:00:00Z",
        "2026-07-10T12:00:00Z",
    ))
    .await;
    app.wait_for("/api/v1/notices", |v| {
        v.as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
    // Everyone reads notices; a notice's customer list is for dispatchers.
    for token in [WALLBOARD_TOKEN, DISPATCHER_TOKEN, CREW7_TOKEN] {
        let (status, _) = app.call("GET", "/api/v1/notices", Some(token), None).await;
        assert_eq!(status, 200, "{token}");
    }
    let (status, body) = app
        .call(
            "GET",
            "/api/v1/notices/PO-1/customers",
            Some(DISPATCHER_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(!body["customers"].as_array().unwrap().is_empty());
    let (status, _) = app
        .call(
            "GET",
            "/api/v1/notices/PO-1/customers",
            Some(CREW7_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app.call("GET", "/api/v1/notices", None, None).await;
    assert_eq!(status, 401);
    // Only dispatchers (and admins) post notices and callbacks.
    for (token, expected) in [
        (WALLBOARD_TOKEN, 403),
        (CREW7_TOKEN, 403),
        (DISPATCHER_TOKEN, 202),
    ] {
        let (status, body) = app
            .call(
                "POST",
                "/api/v1/events",
                Some(token),
                Some(planned(
                    "PO-2",
                    "2026-07-10T08:00:00Z",
                    "2026-07-10T12:00:00Z",
                )),
            )
            .await;
        assert_eq!(status, expected, "{token}: {body}");
    }

    // An outage restored by CREW-3 with two callers: its callbacks are not CREW-7's.
    let at = "2026-07-01T09:00:00Z";
    let events = [
        json!({"type":"crew","at":at,"id":"CREW-3","skills":["line"],"lon":116.37,"lat":39.895}),
        json!({"type":"scada","at":at,"device":"line.sw1","state":"open"}),
        json!({"type":"report","at":"2026-07-01T09:01:00Z","id":"R-1","customer":"load.s1a","source":"call","problem":"no_power"}),
        json!({"type":"report","at":"2026-07-01T09:02:00Z","id":"R-2","customer":"load.s2b","source":"call","problem":"no_power"}),
    ];
    let body: String = events.iter().map(|e| e.to_string() + "\n").collect();
    assert_eq!(app.post("application/x-ndjson", body).await.0, 202);
    let orders = app
        .wait_for("/api/v1/orders", |v| v[0]["crew"] == "CREW-3")
        .await;
    let order = orders[0]["id"].as_str().unwrap().to_owned();
    for (i, action) in ["acknowledge", "en_route", "on_site", "restored"]
        .iter()
        .enumerate()
    {
        let (status, body) = app
            .post_json(json!({"type":"crew_action","at":format!("2026-07-01T09:0{}:00Z", 3 + i),"crew":"CREW-3","order":order,"action":action}))
            .await;
        assert_eq!(status, 202, "{action}: {body}");
    }
    // SCADA sees the feeder head closed again.
    let (status, _) = app
        .post_json(json!({"type":"scada","at":"2026-07-01T09:07:00Z","device":"line.sw1","state":"closed"}))
        .await;
    assert_eq!(status, 202);
    let pending = app
        .wait_for("/api/v1/callbacks", |v| {
            v.as_array().is_some_and(|a| a.len() == 2)
        })
        .await;
    assert_eq!(pending[0]["crew"], "CREW-3");
    for token in [WALLBOARD_TOKEN, DISPATCHER_TOKEN] {
        let (status, body) = app
            .call("GET", "/api/v1/callbacks", Some(token), None)
            .await;
        assert_eq!((status, body.as_array().unwrap().len()), (200, 2));
    }
    let (status, body) = app
        .call(
            "GET",
            "/api/v1/callbacks?status=all",
            Some(CREW7_TOKEN),
            None,
        )
        .await;
    assert_eq!((status, body), (200, json!([])));
    let (status, _) = app
        .call("GET", "/api/v1/callbacks?status=maybe", Some(TOKEN), None)
        .await;
    assert_eq!(status, 400);
    // A crew token may not record a callback's outcome.
    let cb = json!({"type":"callback","at":"2026-07-01T10:00:00Z","outage":pending[0]["outage"],"customer":"load.s1a","outcome":"still_out"});
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/events",
            Some(CREW7_TOKEN),
            Some(cb.clone()),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .call("POST", "/api/v1/events", Some(DISPATCHER_TOKEN), Some(cb))
        .await;
    assert_eq!(status, 202, "{body}");
    let all = app
        .wait_for("/api/v1/callbacks?status=all", |v| {
            v.as_array()
                .is_some_and(|a| a.iter().any(|c| c["follow_up"].is_string()))
        })
        .await;
    let done = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["customer"] == "load.s1a")
        .unwrap();
    assert_eq!(done["outcome"], "still_out");
    let pending = app.get_json("/api/v1/callbacks").await;
    assert_eq!(pending.as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn the_status_lookup_names_planned_work_before_and_during_its_window() {
    let app = spawn_app().await;
    let (status, _) = app
        .post_json(planned(
            "PO-1",
            "2026-07-10T08:00:00Z",
            "2026-07-10T12:00:00Z",
        ))
        .await;
    assert_eq!(status, 202);
    app.wait_for("/api/v1/notices", |v| v.to_string().contains("PO-1"))
        .await;
    let customers = app.get_json("/api/v1/notices/PO-1/customers").await;
    let inside = customers["customers"][0]["id"]
        .as_str()
        .or_else(|| customers["customers"][0].as_str())
        .expect("a customer id")
        .to_owned();
    // Announced, not begun: no outage, but the agent sees the work to come.
    let before = app
        .get_json(&format!("/api/v1/status?customer={inside}"))
        .await;
    assert_eq!(before["status"], "no_known_outage", "{before}");
    assert_eq!(before["planned"][0]["id"], "PO-1", "{before}");
    assert_eq!(before["planned"][0]["status"], "scheduled");
    // A customer the work does not touch hears nothing of it.
    let outside = app.get_json("/api/v1/status?customer=load.s1a").await;
    assert_eq!(outside["planned"], json!([]), "{outside}");
    // The window begins: the customer is dark by plan, not by a fault.
    let (status, _) = app
        .post_json(json!({"type":"tick","at":"2026-07-10T08:01:00Z"}))
        .await;
    assert_eq!(status, 202);
    let during = app
        .wait_for(&format!("/api/v1/status?customer={inside}"), |v| {
            v["status"] == "planned_work"
        })
        .await;
    assert_eq!(during["outage"], Value::Null);
    assert_eq!(during["planned"][0]["status"], "active");
}
