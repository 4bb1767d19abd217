//! The pages in a real headless Chromium: what a control room and a crew would see.
//!
//! Skipped (with a line saying so) where Chromium is not installed; CI installs it.
//! Screenshots go to `target/screenshots/`: the wallboard at 3840×2160, the crew page
//! at 390×844.

mod common;
mod browser {
    pub mod cdp;
}

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use browser::cdp::Browser;
use chrono::Utc;
use faultline::api::{build_server, AppState, Role, Tokens};
use faultline::store::{Store, StoreOptions};
use serde_json::{json, Value};

const ADMIN: &str = "browser-admin-token";
const WALLBOARD: &str = "browser-wallboard-token";
const CREW7: &str = "browser-crew7-token";

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

/// A server on a fixed port over one SQLite file, which can be stopped and started
/// again on the same port and file (a restart, as the wallboard sees it).
struct Server {
    db: String,
    port: u16,
    running: Option<Running>,
}

struct Running {
    handle: actix_web::dev::ServerHandle,
    shutdown: tokio::sync::watch::Sender<bool>,
    writer: faultline::store::WriterHandle,
}

impl Server {
    async fn start(dir: &std::path::Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = Server {
            db: common::db::test_db(dir).await,
            port,
            running: None,
        };
        s.up().await;
        s
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn up(&mut self) {
        let network = common::bundled("ieee123.geojson");
        let (store, writer) = Store::open(&self.db, StoreOptions::default())
            .await
            .unwrap();
        let (shutdown_tx, shutdown) = tokio::sync::watch::channel(false);
        let engine = faultline::engine::Engine::new(network.clone(), Default::default());
        let live = faultline::live::Live::start(engine, store.clone(), shutdown)
            .await
            .unwrap();
        let mut tokens = Tokens::new(ADMIN);
        tokens.add(WALLBOARD, Role::Wallboard);
        tokens.add(CREW7, Role::Crew("CREW-7".into()));
        let state = AppState {
            live,
            network: Arc::new(network),
            store,
            tokens,
            max_body_bytes: 1 << 20,
        };
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("the port again");
        let server = build_server(listener, state, Some(1)).unwrap();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        self.running = Some(Running {
            handle,
            shutdown: shutdown_tx,
            writer,
        });
    }

    async fn down(&mut self) {
        if let Some(r) = self.running.take() {
            r.handle.stop(false).await;
            let _ = r.shutdown.send(true);
            r.writer.finish(Duration::from_secs(5)).await;
        }
    }

    async fn post(&self, events: &[Value]) {
        let body: String = events.iter().map(|e| e.to_string() + "\n").collect();
        let resp = awc::Client::default()
            .post(format!("{}/api/v1/events", self.base()))
            .insert_header(("Authorization", format!("Bearer {ADMIN}")))
            .insert_header(("Content-Type", "application/x-ndjson"))
            .send_body(body)
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 202);
    }

    /// Poll `GET path` (as the admin) until it answers 200 with a body `ok` accepts
    /// (the engine applies events just after they are stored).
    async fn wait_json(&self, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mut resp = awc::Client::default()
                .get(format!("{}{path}", self.base()))
                .insert_header(("Authorization", format!("Bearer {ADMIN}")))
                .send()
                .await
                .unwrap();
            let body: Value =
                serde_json::from_slice(&resp.body().await.unwrap()).unwrap_or(Value::Null);
            if resp.status() == 200 && ok(&body) {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{path} never ready: {body}"
            );
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn message_count(&self) -> usize {
        let mut resp = awc::Client::default()
            .get(format!(
                "{}/api/v1/messages?since=0&limit=100000",
                self.base()
            ))
            .insert_header(("Authorization", format!("Bearer {ADMIN}")))
            .send()
            .await
            .unwrap();
        let body = resp.body().limit(1 << 26).await.unwrap();
        std::str::from_utf8(&body).unwrap().lines().count()
    }
}

fn now() -> String {
    faultline::events::format_time(Utc::now())
}

fn crew7() -> Value {
    json!({"type":"crew","at":now(),"id":"CREW-7","name":"Linha 7","skills":["line"],"lon":116.3700,"lat":39.8950})
}

/// Crew 7 on shift and the feeder head open: one outage, one order, CREW-7 on it.
async fn crew7_and_an_open_feeder(server: &Server) {
    server.post(&[crew7(), scada("line.sw1", "open")]).await;
}

fn scada(device: &str, state: &str) -> Value {
    json!({"type":"scada","at":now(),"device":device,"state":state})
}

/// Figures the page exposes for tests: the active outages on the board.
const OUTAGES_SHOWN: &str =
    "Number(document.querySelector('#fig-outages .value').dataset.value || -1)";

/// The wallboard at 3840×2160 in English, once it is live and shows no outage.
async fn quiet_wallboard(browser: &Browser, server: &Server) -> browser::cdp::Page {
    let mut page = browser
        .open(
            &format!("{}/?token={WALLBOARD}&lang=en", server.base()),
            3840,
            2160,
            false,
        )
        .await;
    page.wait_until(
        &format!(
            "{OUTAGES_SHOWN} === 0 && document.querySelector('#conn').classList.contains('ok')"
        ),
        Duration::from_secs(15),
    )
    .await;
    page
}

#[actix_web::test]
async fn the_wallboard_shows_a_new_outage_within_a_second_of_its_events() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    server
        .post(&[
            crew7(),
            json!({"type":"crew","at":now(),"id":"CREW-3","name":"Linha 3","skills":["line"],"lon":116.3640,"lat":39.8935,"on_shift":false}),
        ])
        .await;
    let mut page = quiet_wallboard(&browser, &server).await;
    let posted = std::time::Instant::now();
    server.post(&[scada("line.sw1", "open")]).await;
    page.wait_until(
        &format!(
            "{OUTAGES_SHOWN} === 1 && document.querySelectorAll('#map circle.outage').length === 1"
        ),
        Duration::from_secs(5),
    )
    .await;
    let shown = posted.elapsed();
    assert!(shown < Duration::from_secs(1), "shown after {shown:?}");
    // The dark section is drawn, and the customers out are counted.
    assert_eq!(
        page.eval("document.querySelectorAll('#map path.line.dark').length > 0")
            .await,
        Value::Bool(true)
    );
    page.wait_until(
        "document.querySelector('#fig-customers .value').textContent === '91'",
        Duration::from_secs(3),
    )
    .await;
    page.screenshot(&screenshots().join("wallboard-3840x2160.png"))
        .await;

    // The same board in Chinese, at 1920×1080.
    let mut zh = browser
        .open(
            &format!("{}/?token={WALLBOARD}&lang=zh-CN", server.base()),
            1920,
            1080,
            false,
        )
        .await;
    zh.wait_until(&format!("{OUTAGES_SHOWN} === 1"), Duration::from_secs(15))
        .await;
    assert_eq!(
        zh.eval("document.querySelector('#fig-outages .label').textContent")
            .await,
        "当前停电"
    );
    zh.wait_until(
        "document.querySelector('#fig-customers .value').textContent === '91'",
        Duration::from_secs(3),
    )
    .await;
    zh.screenshot(&screenshots().join("wallboard-zh-1920x1080.png"))
        .await;
}

#[actix_web::test]
async fn after_a_server_restart_the_wallboard_resumes_without_a_gap() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path()).await;
    server.post(&[scada("line.sw1", "open")]).await;
    let mut page = browser
        .open(
            &format!("{}/?token={WALLBOARD}", server.base()),
            1920,
            1080,
            false,
        )
        .await;
    page.wait_until(&format!("{OUTAGES_SHOWN} === 1"), Duration::from_secs(15))
        .await;

    server.down().await;
    page.wait_until(
        "document.querySelector('#conn').classList.contains('lost')",
        Duration::from_secs(10),
    )
    .await;
    assert!(page
        .eval("document.querySelector('#conn-text').textContent")
        .await
        .as_str()
        .unwrap()
        .starts_with("reconnecting"));

    server.up().await;
    server.post(&[scada("line.sw1", "closed")]).await;
    page.wait_until(
        &format!(
            "{OUTAGES_SHOWN} === 0 && document.querySelector('#conn').classList.contains('ok')"
        ),
        Duration::from_secs(20),
    )
    .await;
    // Every message the server holds was applied once, and none was skipped.
    let stored = server.message_count().await;
    let stats = page.eval("JSON.stringify(FL.stats)").await;
    let stats: Value = serde_json::from_str(stats.as_str().unwrap()).unwrap();
    assert_eq!(stats["applied"], stored, "{stats}");
    assert_eq!(stats["gaps"], 0, "{stats}");
    assert!(stats["connects"].as_u64().unwrap() >= 2, "{stats}");
    server.down().await;
}

#[actix_web::test]
async fn the_crew_page_acknowledges_an_order_and_the_wallboard_shows_it() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    crew7_and_an_open_feeder(&server).await;
    let mut board = browser
        .open(
            &format!("{}/?token={WALLBOARD}", server.base()),
            3840,
            2160,
            false,
        )
        .await;
    let mut crew = browser
        .open(
            &format!("{}/crew?token={CREW7}", server.base()),
            390,
            844,
            true,
        )
        .await;
    // Dispatch assigns the outage's order to the only crew.
    crew.wait_until(
        "document.querySelector('#next-action') && !document.querySelector('#next-action').disabled && document.querySelector('#next-action').dataset.action === 'acknowledge'",
        Duration::from_secs(20),
    )
    .await;
    crew.screenshot(&screenshots().join("crew-390x844.png"))
        .await;
    crew.eval("document.querySelector('#next-action').click(); true")
        .await;
    board
        .wait_until(
            "[...document.querySelectorAll('#orders .who')].some(e => e.textContent.startsWith('acknowledged'))",
            Duration::from_secs(10),
        )
        .await;
    crew.wait_until(
        "document.querySelector('#next-action').dataset.action === 'en_route'",
        Duration::from_secs(10),
    )
    .await;
    board
        .screenshot(&screenshots().join("wallboard-order-3840x2160.png"))
        .await;
}

#[actix_web::test]
async fn the_crew_page_queues_actions_without_signal_and_sends_them_with_their_time() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path()).await;
    crew7_and_an_open_feeder(&server).await;
    let mut crew = browser
        .open(
            &format!("{}/crew?token={CREW7}&lang=en", server.base()),
            390,
            844,
            true,
        )
        .await;
    crew.wait_until(
        "document.querySelector('#next-action').dataset.action === 'acknowledge' && document.querySelector('#conn').classList.contains('ok')",
        Duration::from_secs(15),
    )
    .await;

    // The signal is lost: the crew accepts the order and drives off.
    server.down().await;
    crew.wait_until(
        "document.querySelector('#conn').classList.contains('lost')",
        Duration::from_secs(10),
    )
    .await;
    crew.eval("document.querySelector('#next-action').click(); true")
        .await;
    crew.wait_until(
        "document.querySelector('#next-action').dataset.action === 'en_route'",
        Duration::from_secs(5),
    )
    .await;
    crew.eval("document.querySelector('#next-action').click(); true")
        .await;
    crew.wait_until(
        "document.querySelector('#queue').textContent === 'waiting to send (2)' && document.querySelector('#next-action').dataset.action === 'on_site'",
        Duration::from_secs(5),
    )
    .await;
    crew.screenshot(&screenshots().join("crew-offline-390x844.png"))
        .await;
    let queued = crew
        .eval("localStorage.getItem('faultline.crew.queue')")
        .await;
    let queued: Vec<Value> = serde_json::from_str(queued.as_str().unwrap()).unwrap();
    assert_eq!(queued.len(), 2);

    // The signal is back: both go out, in order, with the times they were taken.
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    server.up().await;
    crew.wait_until(
        "document.querySelector('#queue').hidden",
        Duration::from_secs(20),
    )
    .await;
    let mut resp = awc::Client::default()
        .get(format!("{}/api/v1/events?since=0", server.base()))
        .insert_header(("Authorization", format!("Bearer {ADMIN}")))
        .send()
        .await
        .unwrap();
    let body = resp.body().await.unwrap();
    let actions: Vec<Value> = std::str::from_utf8(&body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "crew_action")
        .collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    for (sent, taken) in actions.iter().zip(&queued) {
        assert_eq!(sent["action"], taken["action"]);
        assert_eq!(sent["at"], taken["at"], "sent with the time it was taken");
    }
    crew.wait_until(
        "document.querySelector('#order-state').textContent === 'en route'",
        Duration::from_secs(10),
    )
    .await;

    // Sent twice (a resend after a lost answer): harmless.
    crew.eval(&format!("queue.push({}); true", queued[0])).await;
    crew.wait_until(
        "document.querySelector('#queue').hidden && document.querySelector('#message').hidden",
        Duration::from_secs(10),
    )
    .await;
    let orders = awc::Client::default()
        .get(format!("{}/api/v1/orders", server.base()))
        .insert_header(("Authorization", format!("Bearer {ADMIN}")))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(orders[0]["state"], "en_route", "{orders}");
    server.down().await;
}

#[actix_web::test]
async fn the_console_shows_an_outage_with_its_evidence_and_posts_a_move_as_an_event() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    // One call: one customer out, placed at its own service point.
    server
        .post(&[json!({"type":"report","at":now(),"id":"R-1","customer":"load.s1a","source":"call","problem":"no_power"})])
        .await;
    let mut console = browser
        .open(
            &format!("{}/console?token={ADMIN}&lang=en", server.base()),
            1600,
            900,
            false,
        )
        .await;
    console
        .wait_until(
            "document.querySelectorAll('#t-outages tbody tr').length === 1",
            Duration::from_secs(15),
        )
        .await;
    console
        .eval("document.querySelector('#t-outages tbody tr').click(); true")
        .await;
    console
        .wait_until(
            "document.querySelector('#detail').textContent.includes('rule') && !!document.querySelector('#act-move')",
            Duration::from_secs(5),
        )
        .await;
    // The dispatcher knows better: the switch upstream is open.
    console
        .eval("document.querySelector('#move-device').value = 'line.sw1'; document.querySelector('#act-move').click(); true")
        .await;
    // The evidence is on screen: the rule, the confidence, the report, the alternative.
    let detail = console
        .eval("document.querySelector('#detail').textContent")
        .await;
    let detail = detail.as_str().unwrap();
    for shown in ["a single customer's outage", "50%", "R-1", "line.sw1"] {
        assert!(detail.contains(shown), "{shown} not in {detail}");
    }
    // The move went out as a dispatcher's event, stored in the log.
    console
        .wait_until(
            "document.querySelector('#results li').textContent.includes('OUT-1 @ line.sw1') && !document.querySelector('#results li.sending')",
            Duration::from_secs(5),
        )
        .await;
    let mut resp = awc::Client::default()
        .get(format!("{}/api/v1/events?since=0", server.base()))
        .insert_header(("Authorization", format!("Bearer {ADMIN}")))
        .send()
        .await
        .unwrap();
    let body = resp.body().await.unwrap();
    let confirm: Value = std::str::from_utf8(&body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["type"] == "outage_confirm")
        .expect("the move is an event in the log");
    assert_eq!(confirm["outage"], "OUT-1");
    assert_eq!(confirm["device"], "line.sw1");
    console
        .screenshot(&screenshots().join("console-1600x900.png"))
        .await;
}

#[actix_web::test]
async fn the_console_reassigns_an_order_and_shows_it_in_the_order_history() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    crew7_and_an_open_feeder(&server).await;
    let mut console = browser
        .open(
            &format!("{}/console?token={ADMIN}&lang=en", server.base()),
            1600,
            900,
            false,
        )
        .await;
    console
        .wait_until(
            "[...document.querySelectorAll('#t-orders tbody tr')].some(r => r.textContent.includes('CREW-7'))",
            Duration::from_secs(15),
        )
        .await;
    // A second crew comes on shift; the dispatcher gives it the order.
    server
        .post(&[json!({"type":"crew","at":now(),"id":"CREW-3","name":"Linha 3","skills":["line"],"lon":116.3650,"lat":39.8940})])
        .await;
    console
        .wait_until(
            "document.querySelectorAll('#t-crews tbody tr').length === 2",
            Duration::from_secs(10),
        )
        .await;
    console
        .eval("document.querySelector('#t-orders tbody tr').click(); true")
        .await;
    console
        .wait_until(
            "[...document.querySelectorAll('#assign-crew option')].some(o => o.value === 'CREW-3')",
            Duration::from_secs(5),
        )
        .await;
    console
        .eval("document.querySelector('#assign-crew').value = 'CREW-3'; document.querySelector('#act-assign').click(); true")
        .await;
    console
        .wait_until(
            "!!document.querySelector('#results li.done, #results li.failed')",
            Duration::from_secs(20),
        )
        .await;
    let result = console
        .eval("document.querySelector('#results li').className + ': ' + document.querySelector('#results li').textContent")
        .await;
    assert!(result.as_str().unwrap().starts_with("done"), "{result}");
    console
        .wait_until(
            "[...document.querySelectorAll('#t-orders tbody tr')].some(r => r.textContent.includes('CREW-3'))",
            Duration::from_secs(5),
        )
        .await;
    console
        .wait_until(
            "[...document.querySelectorAll('#detail .history li')].some(li => li.textContent.includes('CREW-3') || li.textContent.includes('dispatcher'))",
            Duration::from_secs(5),
        )
        .await;
    console
        .screenshot(&screenshots().join("console-order-1600x900.png"))
        .await;
}

#[actix_web::test]
async fn the_lookup_page_tells_an_agent_whether_a_caller_is_in_a_known_outage() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    server.post(&[scada("line.sw1", "open")]).await;
    server
        .wait_json("/api/v1/status?customer=load.s1a", |v| v["status"] == "out")
        .await;
    let mut page = browser
        .open(
            &format!("{}/lookup?token={ADMIN}&lang=en", server.base()),
            1280,
            800,
            false,
        )
        .await;
    page.wait_until(
        "document.body.dataset.ready === '1'",
        Duration::from_secs(5),
    )
    .await;
    // By customer id, then by place: the same outage, with its device and targets.
    for asked in ["load.s1a", "116.37571,39.89464"] {
        page.eval(&format!(
            "document.querySelector('#q').value = '{asked}'; document.querySelector('#go').click(); true"
        ))
        .await;
        page.wait_until(
            "document.querySelector('#result').textContent.includes('OUT-1')",
            Duration::from_secs(5),
        )
        .await;
        let text = page
            .eval("document.querySelector('#result').textContent")
            .await;
        let text = text.as_str().unwrap();
        for shown in ["Power is out", "line.sw1", "load.s1a", "Restore target"] {
            assert!(
                text.contains(shown),
                "{shown} not in {text} (asked {asked})"
            );
        }
        page.eval("document.querySelector('#result').textContent = ''; true")
            .await;
    }
    // An unknown customer says so.
    page.eval("document.querySelector('#q').value = 'nobody'; document.querySelector('#go').click(); true")
        .await;
    page.wait_until(
        "document.querySelector('#result').textContent.includes('No customer with that id or account')",
        Duration::from_secs(5),
    )
    .await;
    // Planned work announced for later today: the agent reads its window to the caller
    // (told two hours ahead, so the notice is late).
    let at = |h: i64| faultline::events::format_time(Utc::now() + chrono::Duration::hours(h));
    server
        .post(&[
            json!({"type":"planned_outage","at":now(),"id":"PO-2","device":"line.sw2",
            "start":at(2),"end":at(5),"kind":"planned","reason":"pole replacement"}),
        ])
        .await;
    let customers = server
        .wait_json("/api/v1/notices/PO-2/customers", |_| true)
        .await;
    let first = &customers["customers"][0];
    let inside = first["id"].as_str().or(first.as_str()).unwrap().to_owned();
    page.eval(&format!(
        "document.querySelector('#q').value = '{inside}'; document.querySelector('#go').click(); true"
    ))
    .await;
    page.wait_until(
        "document.querySelector('#result').textContent.includes('Planned work PO-2')",
        Duration::from_secs(5),
    )
    .await;
    let text = page
        .eval("document.querySelector('#result').textContent")
        .await;
    assert!(
        text.as_str().unwrap().contains("pole replacement")
            && text.as_str().unwrap().contains("notice given late"),
        "{text}"
    );
    page.screenshot(&screenshots().join("lookup-1280x800.png"))
        .await;
}

#[actix_web::test]
async fn the_wallboard_shows_a_planned_outage_notice_and_flags_a_late_one() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let mut page = quiet_wallboard(&browser, &server).await;
    let at = |h: i64| faultline::events::format_time(Utc::now() + chrono::Duration::hours(h));
    // Planned work told two hours ahead: it needed 7 days, so the notice is late.
    server
        .post(&[
            json!({"type":"planned_outage","at":now(),"id":"PO-7","device":"line.sw2",
            "start":at(2),"end":at(6),"kind":"planned","reason":"pole replacement"}),
        ])
        .await;
    page.wait_until(
        "!!document.querySelector('#planned li[data-id=\"PO-7\"] .flag')",
        Duration::from_secs(5),
    )
    .await;
    let text = page
        .eval("document.querySelector('#planned').textContent")
        .await;
    let text = text.as_str().unwrap();
    for shown in [
        "Planned outages",
        "PO-7",
        "line.sw2",
        "upcoming",
        "late notice",
    ] {
        assert!(text.contains(shown), "{shown} not in {text}");
    }
    page.screenshot(&screenshots().join("wallboard-notice-3840x2160.png"))
        .await;
    // Cancelled: it leaves the board.
    server
        .post(&[json!({"type":"planned_outage_cancel","at":now(),"id":"PO-7"})])
        .await;
    page.wait_until(
        "document.querySelector('#planned').hidden === true",
        Duration::from_secs(5),
    )
    .await;
}
