//! The engine behind the API: posted events become outages and messages.

use crate::helpers::spawn_app;
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
    let lines = app.wait_for_message(|_| true).await;
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
    // A single customer's outage gets its work order only if it is still out ten
    // minutes on (most merge into a larger outage); then the free crew goes.
    assert_eq!(app.get_json("/api/v1/orders").await, json!([]));
    let tick = json!({"type":"tick","at":"2026-07-14T03:10:00Z"});
    assert_eq!(app.post_json(tick).await.0, 202);
    let orders = app
        .wait_for("/api/v1/orders", |v| v[0]["crew"] == "CREW-1")
        .await;
    assert_eq!(orders[0]["outage"], outages[0]["id"]);
    assert_eq!(orders[0]["state"], "assigned");
    assert_eq!(orders[0]["skill"], "line");
    let crews = app.get_json("/api/v1/crews").await;
    assert_eq!(crews[0]["id"], "CREW-1");
    assert_eq!(crews[0]["status"], "assigned");
    assert_eq!(crews[0]["order"], orders[0]["id"]);
    let outage = app.get_json("/api/v1/outages").await;
    assert_eq!(outage[0]["order"], orders[0]["id"]);
    assert_eq!(outage[0]["crew"], "CREW-1");
    assert!(outage[0]["eta"].is_string() && outage[0]["etr"].is_string());
}

#[actix_web::test]
async fn crew_actions_that_do_not_fit_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let crew = |id: &str| {
        json!({"type":"crew","at":"2026-07-14T03:00:00Z","id":id,"skills":["line"],"lon":116.37,"lat":39.89,"on_shift":true}).to_string()
    };
    // A tick ten minutes on: a single customer's outage waits that long for a crew.
    let tick = json!({"type":"tick","at":"2026-07-14T03:11:00Z"}).to_string();
    let body = format!(
        "{}\n{}\n{}\n{tick}\n",
        crew("CREW-1"),
        crew("CREW-2"),
        call("R1", "load.s1a", 1)
    );
    assert_eq!(app.post("application/x-ndjson", body).await.0, 202);
    let orders = app
        .wait_for("/api/v1/orders", |v| v[0]["crew"].is_string())
        .await;
    let mine = orders[0]["crew"].as_str().unwrap().to_owned();
    let other = if mine == "CREW-1" { "CREW-2" } else { "CREW-1" };
    let action = |crew: &str, order: &str, action: &str| json!({"type":"crew_action","at":"2026-07-14T03:05:00Z","crew":crew,"order":order,"action":action});
    let stored_before = app.stored(0).await.len();
    for (event, message) in [
        (
            action(&mine, "WO-99", "acknowledge"),
            "order \"WO-99\" does not exist".to_string(),
        ),
        (
            action(other, "WO-1", "acknowledge"),
            format!("order WO-1 is {mine}'s, not {other}'s"),
        ),
        (
            action(&mine, "WO-1", "restored"),
            format!("order WO-1 is assigned: {mine} cannot restore it now"),
        ),
    ] {
        let (status, body) = app.post_json(event).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"], message);
    }
    assert_eq!(
        app.stored(0).await.len(),
        stored_before,
        "nothing refused was stored"
    );
    // The right crew acknowledges; sending it twice does no harm.
    for _ in 0..2 {
        assert_eq!(
            app.post_json(action(&mine, "WO-1", "acknowledge")).await.0,
            202
        );
    }
    let orders = app
        .wait_for("/api/v1/orders", |v| v[0]["state"] == "acknowledged")
        .await;
    let history: Vec<&str> = orders[0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["created", "assigned", "acknowledged"]);
}

#[actix_web::test]
async fn a_call_center_agent_looks_up_a_customer_by_id_or_place() {
    let app = spawn_app().await;
    // Before anything happens: known customer, no known outage.
    let status = app.get_json("/api/v1/status?customer=load.s1a").await;
    assert_eq!(status["customer"], "load.s1a");
    assert_eq!(status["status"], "no_known_outage");
    assert_eq!(status["outage"], serde_json::Value::Null);
    // The feeder head trips: the customer is in that outage, found by id or by place.
    let trip =
        json!({"type":"scada","at":"2026-07-14T03:00:00Z","device":"line.sw1","state":"open"});
    assert_eq!(app.post_json(trip).await.0, 202);
    let status = app
        .wait_for("/api/v1/status?customer=load.s1a", |v| v["status"] == "out")
        .await;
    assert_eq!(status["outage"]["device"], "line.sw1");
    assert_eq!(status["outage"]["started_at"], "2026-07-14T03:00:00Z");
    assert!(status["outage"]["restore_by"].is_string());
    let by_place = app
        .get_json("/api/v1/status?lon=116.37571&lat=39.89464")
        .await;
    assert_eq!(by_place["customer"], "load.s1a");
    assert_eq!(by_place["outage"]["id"], status["outage"]["id"]);
    // Asking wrongly says how to ask.
    let (code, body) = app.get("/api/v1/status?customer=nobody").await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(body["error"], "no customer \"nobody\"");
    let (code, body) = app.get("/api/v1/status?lon=116.3").await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("customer=ID"));
}
