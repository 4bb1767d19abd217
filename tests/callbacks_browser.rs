//! The callback list (`/callbacks`) in a real headless Chromium, as a call-center agent
//! uses it on the phone: the callers of a restored outage are listed, one click records
//! an answer (a double click records it once), "still out" shows the follow-up outage,
//! a refused answer shows the server's reason, and a read-only token is told so.
//! Skipped, with a line saying so, where Chromium is not installed. Screenshots go to
//! `target/screenshots/`.

mod common;
mod browser {
    pub mod cdp;
}

use std::path::PathBuf;
use std::time::{Duration, Instant};

use browser::cdp::{Browser, Page};
use chrono::Utc;
use faultline::api::{Role, Tokens};
use faultline::events::format_time;
use serde_json::{json, Value};

const ADMIN: &str = "callbacks-admin-token";
const WALLBOARD: &str = "callbacks-wallboard-token";

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

/// A server over a fresh log on IEEE 123 (admin and wallboard tokens).
async fn serve(dir: &std::path::Path) -> common::server::TestServer {
    let mut tokens = Tokens::new(ADMIN);
    tokens.add(WALLBOARD, Role::Wallboard);
    common::server::TestServer::start(dir, tokens, &[]).await
}

async fn post(base: &str, events: &[Value]) {
    let body: String = events.iter().map(|e| e.to_string() + "\n").collect();
    let resp = awc::Client::default()
        .post(format!("{base}/api/v1/events"))
        .insert_header(("Authorization", format!("Bearer {ADMIN}")))
        .insert_header(("Content-Type", "application/x-ndjson"))
        .send_body(body)
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
}

async fn get_text(url: &str) -> String {
    let mut resp = awc::Client::default()
        .get(url)
        .insert_header(("Authorization", format!("Bearer {ADMIN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{url}");
    String::from_utf8(resp.body().limit(1 << 26).await.unwrap().to_vec()).unwrap()
}

async fn callbacks(base: &str) -> Vec<Value> {
    serde_json::from_str(&get_text(&format!("{base}/api/v1/callbacks?status=all")).await).unwrap()
}

/// The `callback` events stored for one customer.
async fn callback_events(base: &str, customer: &str) -> usize {
    get_text(&format!("{base}/api/v1/events?since=0"))
        .await
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "callback" && e["customer"] == customer)
        .count()
}

/// The feeder head trips half an hour ago, three customers call, and it closes again
/// five minutes ago: OUT-1 restored, its three callers listed for a callback.
async fn a_restored_outage_with_three_callers(base: &str) {
    let ago = |min: i64| format_time(Utc::now() - chrono::Duration::minutes(min));
    let report = |id: &str, customer: &str, min: i64| json!({"type":"report","at":ago(min),"id":id,"customer":customer,"source":"call","problem":"no_power"});
    post(
        base,
        &[
            json!({"type":"scada","at":ago(30),"device":"line.sw1","state":"open"}),
            report("R-1", "load.s1a", 28),
            report("R-2", "load.s2b", 27),
            report("R-3", "load.s4c", 26),
            json!({"type":"scada","at":ago(5),"device":"line.sw1","state":"closed"}),
        ],
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while callbacks(base).await.len() < 3 {
        assert!(Instant::now() < deadline, "the callers were never listed");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A real double click (two presses, the second with clickCount 2) on what `selector`
/// finds.
async fn double_click(page: &mut Page, selector: &str) {
    let at = page
        .eval(&format!(
            "(() => {{ const r = document.querySelector('{selector}').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        ))
        .await;
    let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    for count in [1, 2] {
        for kind in ["mousePressed", "mouseReleased"] {
            page.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": count}),
            )
            .await;
        }
    }
}

fn row(table: &str, id: &str) -> String {
    format!("#{table} tr[data-id=\"{id}\"]")
}

#[actix_web::test]
async fn an_agent_records_callbacks_once_each_and_sees_the_follow_up_outage() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path()).await;
    let base = server.base.clone();
    a_restored_outage_with_three_callers(&base).await;

    let mut page = browser
        .open(
            &format!("{base}/callbacks?token={ADMIN}&lang=en"),
            1366,
            768,
            false,
        )
        .await;
    page.wait_until(
        "document.body.dataset.ready === '1' && document.querySelectorAll('#pending tbody tr').length === 3",
        Duration::from_secs(10),
    )
    .await;
    // The caller's row: who, which outage on which device, the reports; oldest first.
    let s1a = row("pending", "OUT-1/load.s1a");
    let text = page
        .eval(&format!("document.querySelector('{s1a}').textContent"))
        .await;
    let text = text.as_str().unwrap();
    // And when it closes: a week after the restoration (`--callback-days`).
    for shown in [
        "load.s1a",
        "OUT-1",
        "line.sw1",
        "R-1",
        "Still out",
        "closes in 7 d",
    ] {
        assert!(text.contains(shown), "{shown} not in {text}");
    }
    page.eval("document.querySelector('#agent').value = 'A-3'; document.querySelector('#agent').dispatchEvent(new Event('input')); true")
        .await;

    // "Still out", double-clicked: one event; the row leaves the pending list and
    // shows the outage the engine opened for that customer.
    double_click(
        &mut page,
        &format!("{s1a} button[data-outcome=\"still_out\"]"),
    )
    .await;
    page.wait_until(
        &format!(
            "!document.querySelector('{s1a}') && !!document.querySelector('{}') && document.querySelector('{} .follow') !== null",
            row("done", "OUT-1/load.s1a"),
            row("done", "OUT-1/load.s1a")
        ),
        Duration::from_secs(10),
    )
    .await;
    let item = callbacks(&base)
        .await
        .into_iter()
        .find(|c| c["id"] == "OUT-1/load.s1a")
        .unwrap();
    assert_eq!(item["outcome"], "still_out");
    assert_eq!(item["agent"], "A-3");
    let follow_up = item["follow_up"].as_str().expect("a follow-up outage");
    assert_ne!(follow_up, "OUT-1");
    let shown = page
        .eval(&format!(
            "document.querySelector('{} .follow').parentElement.textContent",
            row("done", "OUT-1/load.s1a")
        ))
        .await;
    assert!(
        shown.as_str().unwrap().contains(follow_up),
        "{shown} names {follow_up}"
    );
    assert_eq!(callback_events(&base, "load.s1a").await, 1, "posted once");

    // "No answer", double-clicked: one call counted, and the row stays to call again.
    let s2b = row("pending", "OUT-1/load.s2b");
    double_click(
        &mut page,
        &format!("{s2b} button[data-outcome=\"no_answer\"]"),
    )
    .await;
    page.wait_until(
        &format!("document.querySelector('{s2b} td.num')?.textContent.startsWith('1')"),
        Duration::from_secs(10),
    )
    .await;
    let item = callbacks(&base)
        .await
        .into_iter()
        .find(|c| c["id"] == "OUT-1/load.s2b")
        .unwrap();
    assert_eq!(
        (item["attempts"].as_u64(), item["status"].as_str()),
        (Some(1), Some("pending"))
    );
    assert_eq!(callback_events(&base, "load.s2b").await, 1, "posted once");
    page.screenshot(&screenshots().join("callbacks-en-1366x768.png"))
        .await;

    // A refused answer shows the server's reason (here: nobody is listed for OUT-9).
    page.eval(
        "items.set('OUT-9/load.s1a', Object.assign({}, items.get('OUT-1/load.s4c'), {id: 'OUT-9/load.s1a', outage: 'OUT-9', customer: 'load.s1a'})); render(); \
         document.querySelector('#pending tr[data-id=\"OUT-9/load.s1a\"] button.restored').click(); true",
    )
    .await;
    page.wait_until(
        "document.querySelector('#last').textContent.includes('409') && document.querySelector('#last').textContent.includes('no callback is listed')",
        Duration::from_secs(10),
    )
    .await;

    // "Show answered" lists every settled callback; in Chinese.
    let mut zh = browser
        .open(
            &format!("{base}/callbacks?token={ADMIN}&lang=zh-CN"),
            1366,
            768,
            false,
        )
        .await;
    zh.wait_until(
        "document.body.dataset.ready === '1' && document.querySelectorAll('#pending tbody tr').length === 2",
        Duration::from_secs(10),
    )
    .await;
    zh.eval("document.querySelector('#show-answered').click(); true")
        .await;
    zh.wait_until(
        &format!(
            "!!document.querySelector('{}')",
            row("done", "OUT-1/load.s1a")
        ),
        Duration::from_secs(10),
    )
    .await;
    let title = zh
        .eval("document.querySelector('#title').textContent")
        .await;
    assert_eq!(title, "faultline · 复电回访");
    zh.screenshot(&screenshots().join("callbacks-zh-CN-1366x768.png"))
        .await;

    // A wallboard token reads the list but is told it cannot record answers.
    let mut read_only = browser
        .open(
            &format!("{base}/callbacks?token={WALLBOARD}&lang=en"),
            1366,
            768,
            false,
        )
        .await;
    read_only
        .wait_until(
            "document.body.dataset.ready === '1' && document.querySelectorAll('#pending tbody tr').length === 2",
            Duration::from_secs(10),
        )
        .await;
    let notice = read_only
        .eval("document.querySelector('#notice').textContent")
        .await;
    assert!(
        notice.as_str().unwrap().contains("not record answers"),
        "{notice}"
    );
    let buttons = read_only
        .eval("document.querySelectorAll('#pending button').length")
        .await;
    assert_eq!(buttons, 0);

    // The lookup page links here.
    let mut lookup = browser
        .open(
            &format!("{base}/lookup?token={ADMIN}&lang=en"),
            1280,
            800,
            false,
        )
        .await;
    lookup
        .wait_until(
            "document.body.dataset.ready === '1'",
            Duration::from_secs(10),
        )
        .await;
    let link = lookup
        .eval("document.querySelector('#to-callbacks').getAttribute('href')")
        .await;
    assert!(link.as_str().unwrap().starts_with("/callbacks"), "{link}");
}
