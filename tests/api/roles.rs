//! What each token's role may do, and what it is refused (and told why).

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, CREW7_TOKEN, DISPATCHER_TOKEN, TOKEN, WALLBOARD_TOKEN};

const AT: &str = "2026-07-14T03:00:00Z";

impl TestApp {
    /// A request with a token (or none); the status and the body as JSON (or Null).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "POST" => self.client.post(url),
            _ => self.client.get(url),
        };
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        let mut resp = match body {
            Some(b) => req
                .insert_header(("Content-Type", "application/json"))
                .send_body(b.to_string())
                .await
                .expect("request goes through"),
            None => req.send().await.expect("request goes through"),
        };
        let status = resp.status().as_u16();
        let bytes = resp.body().limit(1 << 26).await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn crew(id: &str) -> Value {
    json!({"type":"crew","at":AT,"id":id,"skills":["line"],"lon":-43.9,"lat":-19.9})
}

fn crew_action(crew: &str) -> Value {
    json!({"type":"crew_action","at":AT,"crew":crew,"order":"WO-1","action":"acknowledge"})
}

fn report() -> Value {
    json!({"type":"report","at":AT,"id":"R-1","customer":"load.s1a","source":"call","problem":"no_power"})
}

#[actix_web::test]
async fn a_wallboard_reads_everything_and_posts_nothing() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/outages",
        "/api/v1/orders",
        "/api/v1/crews",
        "/api/v1/messages?since=0",
        "/api/v1/network",
    ] {
        let (status, _) = app.call("GET", path, Some(WALLBOARD_TOKEN), None).await;
        assert_eq!(status, 200, "{path}");
    }
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/events",
            Some(WALLBOARD_TOKEN),
            Some(report()),
        )
        .await;
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().contains("read-only"),
        "{body}"
    );
    // Nothing of it was stored.
    assert!(app.stored(0).await.is_empty());
}

/// Two crews and an outage whose order WO-1 the dispatcher gives to `crew`.
async fn order_for(app: &TestApp, crew_id: &str) {
    app.post_json(json!([
        crew("CREW-7"),
        crew("CREW-3"),
        {"type":"scada","at":AT,"device":"line.sw1","state":"open"}
    ]))
    .await;
    app.wait_for("/api/v1/orders", |v| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|o| o["id"] == "WO-1"))
    })
    .await;
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/events",
            Some(TOKEN),
            Some(json!({"type":"dispatch","at":AT,"order":"WO-1","crew":crew_id})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    app.wait_for("/api/v1/orders", |v| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|o| o["id"] == "WO-1" && o["crew"] == crew_id))
    })
    .await;
}

#[actix_web::test]
async fn a_dispatcher_posts_dispatcher_events_and_reads() {
    let app = spawn_app().await;
    order_for(&app, "CREW-7").await;
    let before = app.stored(0).await.len();
    let dispatch = json!({"type":"dispatch","at":AT,"order":"WO-1","crew":"CREW-3"});
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/events",
            Some(DISPATCHER_TOKEN),
            Some(dispatch),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let confirm = json!({"type":"outage_confirm","at":AT,"outage":"OUT-1","device":"line.sw1"});
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/events",
            Some(DISPATCHER_TOKEN),
            Some(confirm),
        )
        .await;
    assert_eq!(status, 202);
    let (status, _) = app
        .call("GET", "/api/v1/crews", Some(DISPATCHER_TOKEN), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.stored(0).await.len(), before + 2);
}

#[actix_web::test]
async fn a_crew_posts_only_its_own_actions_and_positions() {
    let app = spawn_app().await;
    order_for(&app, "CREW-7").await;
    let before = app.stored(0).await.len();
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/events",
            Some(CREW7_TOKEN),
            Some(crew_action("CREW-7")),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let position = json!({"type":"crew_position","at":AT,"crew":"CREW-7","lon":-43.9,"lat":-19.9});
    let (status, _) = app
        .call("POST", "/api/v1/events", Some(CREW7_TOKEN), Some(position))
        .await;
    assert_eq!(status, 202);

    let (status, body) = app
        .call(
            "POST",
            "/api/v1/events",
            Some(CREW7_TOKEN),
            Some(crew_action("CREW-3")),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error"], "this token acts for crew CREW-7, not CREW-3",
        "{body}"
    );
    let (status, body) = app
        .call("POST", "/api/v1/events", Some(CREW7_TOKEN), Some(report()))
        .await;
    assert_eq!(status, 403);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("only crew_action and crew_position events, not report"),
        "{body}"
    );
    // A batch with one foreign line is refused whole, naming the line.
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/events",
            Some(CREW7_TOKEN),
            Some(json!([crew_action("CREW-7"), crew("CREW-7")])),
        )
        .await;
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().starts_with("line 2:"),
        "{body}"
    );
    assert_eq!(
        app.stored(0).await.len(),
        before + 2,
        "only the two allowed events"
    );
}

#[actix_web::test]
async fn a_crew_reads_its_own_crew_and_not_the_logs() {
    let app = spawn_app().await;
    app.post_json(json!([crew("CREW-7"), crew("CREW-3")])).await;
    app.wait_for("/api/v1/crews", |v| {
        v.as_array().is_some_and(|a| a.len() == 2)
    })
    .await;
    let (status, crews) = app
        .call("GET", "/api/v1/crews", Some(CREW7_TOKEN), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(crews.as_array().unwrap().len(), 1);
    assert_eq!(crews[0]["id"], "CREW-7");
    for path in ["/api/v1/messages?since=0", "/api/v1/events?since=0"] {
        let (status, body) = app.call("GET", path, Some(CREW7_TOKEN), None).await;
        assert_eq!(status, 403, "{path}");
        assert!(
            body["error"].as_str().unwrap().contains("for dispatchers"),
            "{body}"
        );
    }
    let (status, orders) = app
        .call("GET", "/api/v1/orders", Some(CREW7_TOKEN), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(orders, json!([]), "no order is CREW-7's yet");
    let (status, _) = app
        .call("GET", "/api/v1/network", Some(CREW7_TOKEN), None)
        .await;
    assert_eq!(status, 200, "the crew page draws its small map from it");
    // See: issue 19. The role table says what the code does: planned-work notices are
    // public (customers get them), their customer lists are not.
    let (status, _) = app
        .call("GET", "/api/v1/notices", Some(CREW7_TOKEN), None)
        .await;
    assert_eq!(status, 200, "a crew reads the planned-work notices");
    let (status, body) = app
        .call(
            "GET",
            "/api/v1/notices/PO-1/customers",
            Some(CREW7_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 403, "{body}");
}

#[actix_web::test]
async fn a_crew_lists_only_the_orders_assigned_to_it() {
    let app = spawn_app().await;
    order_for(&app, "CREW-7").await;
    let (_, orders) = app
        .call("GET", "/api/v1/orders", Some(CREW7_TOKEN), None)
        .await;
    assert_eq!(orders.as_array().unwrap().len(), 1);
    assert_eq!(orders[0]["id"], "WO-1");
    let (_, outages) = app
        .call("GET", "/api/v1/outages", Some(CREW7_TOKEN), None)
        .await;
    assert_eq!(outages[0]["order"], "WO-1", "the outage of its order");
    // Reassigned to CREW-3: no longer CREW-7's.
    app.post_json(json!({"type":"dispatch","at":AT,"order":"WO-1","crew":"CREW-3"}))
        .await;
    app.wait_for("/api/v1/orders", |v| v[0]["crew"] == "CREW-3")
        .await;
    let (_, orders) = app
        .call("GET", "/api/v1/orders", Some(CREW7_TOKEN), None)
        .await;
    assert_eq!(orders, json!([]));
}

#[actix_web::test]
async fn an_admin_does_everything() {
    let app = spawn_app().await;
    let (status, _) = app
        .call("POST", "/api/v1/events", Some(TOKEN), Some(report()))
        .await;
    assert_eq!(status, 202);
    let (status, _) = app
        .call("GET", "/api/v1/events?since=0", Some(TOKEN), None)
        .await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn no_token_or_a_wrong_one_is_unauthorized() {
    let app = spawn_app().await;
    let (status, _) = app.call("GET", "/api/v1/outages", None, None).await;
    assert_eq!(status, 401);
    let (status, _) = app
        .call("GET", "/api/v1/outages", Some("test-admin-tokeN"), None)
        .await;
    assert_eq!(status, 401);
}

#[actix_web::test]
async fn a_token_in_the_query_works_on_a_get_only() {
    let app = spawn_app().await;
    let (status, _) = app
        .call(
            "GET",
            &format!("/api/v1/outages?token={WALLBOARD_TOKEN}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/v1/events?token={TOKEN}"),
            None,
            Some(report()),
        )
        .await;
    assert_eq!(status, 401, "a POST must carry its token in the header");
}
