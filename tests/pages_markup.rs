//! Pages that cannot be scripted by data (issue 19, item 6): every page answers with a
//! strict Content-Security-Policy, and names, ids and notes that look like markup — a
//! crew named `<img src=x onerror=…>` posted by a dispatcher, a device id in the
//! network file, a report id, a crew's note, a notice, a callback note — are shown as
//! those characters on the wallboard, the console, the crew page, the lookup, the
//! callback list and the report, and run nothing.
//!
//! The browser half is skipped, with a line saying so, where Chromium is not installed.
//! Were a value inserted as markup, the policy would stop its handler from running, so
//! `window.__pwned` alone could not catch it: the test also fails on any element
//! carrying an `onerror`/`onload` attribute, on the text missing from the page, and
//! (through `browser/cdp.rs`) on the console reporting a policy violation.

mod common;
mod browser {
    pub mod cdp;
}

use std::path::PathBuf;
use std::time::{Duration, Instant};

use browser::cdp::{Browser, Page};
use chrono::Utc;
use common::NetBuilder;
use faultline::api::{Role, Tokens};
use faultline::events::format_time;
use serde_json::{json, Value};

const ADMIN: &str = "markup-admin-token";
const CREW_TOKEN: &str = "markup-crew-token";

/// The policy the brief asks for, word for word.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// A crew's name, as a dispatcher token may post it.
const NAME: &str = r#"<img src=x onerror="window.__pwned=1">"#;
/// A crew's id.
const CREW: &str = "<b>CREW-7</b>";
/// The feeder breaker's id in the network file.
const BREAKER: &str = r#"BRK<svg onload="window.__pwned=2">"#;
/// A customer's id in the network file.
const CUSTOMER: &str = r#"c1<img src=c onerror="window.__pwned=3">"#;
/// A report's id, and its note.
const REPORT: &str = r#"R-1<img src=r onerror="window.__pwned=4">"#;
const REPORT_NOTE: &str = r#"<img src=rn onerror="window.__pwned=5">"#;
/// The crew's note on its way out (an order's history shows it).
const CREW_NOTE: &str = r#"<img src=n onerror="window.__pwned=6">road closed"#;
/// A planned-outage notice's id and reason.
const NOTICE: &str = r#"PO-1<i onmouseover="window.__pwned=7">"#;
const REASON: &str = r#"<img src=p onerror="window.__pwned=8">pole work"#;
/// An agent's name and note on a callback.
const AGENT: &str = "<u>Ana</u>";
const CALLBACK_NOTE: &str = r#"<img src=k onerror="window.__pwned=9">call later"#;

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

/// One feeder whose breaker, and one of whose customers, have markup for ids:
///
/// ```text
///  S ─BREAKER─ A ─L1─ B ─F1─ C ─XF1─ T1 ── CUSTOMER c2 c3(critical)
/// ```
fn a_network_with_markup_ids() -> faultline::network::Network {
    let text = NetBuilder::new()
        .node("S", "substation", 116.0, 39.0)
        .node("A", "bus", 116.001, 39.0)
        .node("B", "bus", 116.002, 39.0)
        .node("C", "bus", 116.003, 39.0)
        .node("T1", "transformer", 116.004, 39.0)
        .customer(CUSTOMER, "T1", 116.0041, 39.0, false)
        .customer("c2", "T1", 116.0042, 39.0, false)
        .customer("c3", "T1", 116.0043, 39.0, true)
        .edge(BREAKER, "breaker", "S", "A")
        .edge("L1", "line", "A", "B")
        .edge("F1", "fuse", "B", "C")
        .edge_with(
            "XF1",
            "transformer",
            "C",
            "T1",
            json!({"subtype":"distribution"}),
        )
        .text();
    faultline::network::Network::from_geojson(&text, &Default::default())
        .expect("the test network loads")
}

async fn serve(dir: &std::path::Path) -> common::server::TestServer {
    let mut tokens = Tokens::new(ADMIN);
    tokens.add(CREW_TOKEN, Role::Crew(CREW.into()));
    common::server::TestServer::start_on(a_network_with_markup_ids(), dir, tokens, &[]).await
}

async fn post(base: &str, events: &[Value]) {
    let body: String = events.iter().map(|e| e.to_string() + "\n").collect();
    let mut resp = awc::Client::default()
        .post(format!("{base}/api/v1/events"))
        .insert_header(("Authorization", format!("Bearer {ADMIN}")))
        .insert_header(("Content-Type", "application/x-ndjson"))
        .send_body(body)
        .await
        .unwrap();
    let status = resp.status().as_u16();
    assert_eq!(status, 202, "{:?}", resp.body().await);
}

/// Poll `GET path` (as the admin) until `ok` accepts its JSON.
async fn wait_json(base: &str, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut resp = awc::Client::default()
            .get(format!("{base}{path}"))
            .insert_header(("Authorization", format!("Bearer {ADMIN}")))
            .send()
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&resp.body().await.unwrap()).unwrap_or_default();
        if resp.status() == 200 && ok(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never ready: {body}");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What `FL.short` makes of a long id on a line of text.
fn short(id: &str, max: usize) -> String {
    if id.chars().count() > max {
        format!("{}…", id.chars().take(max - 1).collect::<String>())
    } else {
        id.to_owned()
    }
}

/// The page shows every one of `texts` as text (within a few seconds), made no element
/// of any value, and ran none.
async fn shows_as_text(page: &mut Page, what: &str, texts: &[&str]) {
    let wanted = serde_json::to_string(texts).unwrap();
    let look = format!(
        "({{ pwned: window.__pwned === undefined ? null : window.__pwned, \
          elements: [...document.querySelectorAll('[onerror], [onload], [onmouseover], img, u, b')] \
            .filter((e) => e.tagName !== 'B' || e.textContent === 'CREW-7').map((e) => e.outerHTML), \
          missing: {wanted}.filter((t) => !document.body.innerText.includes(t)) }})"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let found = loop {
        let found = page.eval(&look).await;
        if found["missing"] == json!([]) || Instant::now() > deadline {
            break found;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(found["pwned"], Value::Null, "{what} ran a value: {found}");
    assert_eq!(
        found["elements"],
        json!([]),
        "{what} made elements of values: {found}"
    );
    assert_eq!(found["missing"], json!([]), "{what} does not show: {found}");
}

async fn headers(url: &str) -> (u16, awc::http::header::HeaderMap) {
    let resp = awc::Client::default().get(url).send().await.unwrap();
    (resp.status().as_u16(), resp.headers().clone())
}

#[actix_web::test]
async fn every_page_and_file_is_served_with_a_strict_content_security_policy() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path()).await;
    let paths = [
        ("/", 200),
        ("/console", 200),
        ("/crew", 200),
        ("/callbacks", 200),
        ("/reports", 200),
        ("/lookup", 200),
        ("/public", 200),
        ("/static/public.js", 200),
        ("/static/public.css", 200),
        ("/static/faultline.js", 200),
        ("/static/wallboard.css", 200),
        ("/static/icon.svg", 200),
        ("/sw.js", 200),
        ("/manifest.webmanifest", 200),
        ("/static/no-such-file.js", 404),
    ];
    for (path, status) in paths {
        let (got, h) = headers(&format!("{}{path}", server.base)).await;
        assert_eq!(got, status, "{path}");
        let header = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(
            header("content-security-policy").as_deref(),
            Some(POLICY),
            "{path}"
        );
        assert_eq!(
            header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{path}"
        );
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{path}");
    }
    // A revalidated page (304) keeps them too.
    let (_, h) = headers(&format!("{}/console", server.base)).await;
    let etag = h.get("etag").unwrap().to_str().unwrap().to_owned();
    let resp = awc::Client::default()
        .get(format!("{}/console", server.base))
        .insert_header(("If-None-Match", etag))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 304);
    assert_eq!(
        resp.headers().get("content-security-policy").unwrap(),
        POLICY
    );
}

#[test]
fn no_page_has_inline_script_style_or_handlers() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wallboard");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("html") {
            continue;
        }
        let html = std::fs::read_to_string(&path).unwrap().to_lowercase();
        let name = path.display();
        // Every <script> names its file and holds nothing.
        for (i, _) in html.match_indices("<script") {
            let tag_end = i + html[i..].find('>').unwrap();
            assert!(
                html[i..tag_end].contains(" src=\"/static/"),
                "{name}: inline <script>"
            );
            assert!(
                html[tag_end + 1..].starts_with("</script>"),
                "{name}: a <script> with a body"
            );
        }
        assert!(!html.contains("<style"), "{name}: inline <style>");
        assert!(!html.contains(" style="), "{name}: a style attribute");
        assert!(!html.contains("javascript:"), "{name}: a javascript: URL");
        let handler = inline_handler(&html);
        assert!(handler.is_none(), "{name}: an inline handler {handler:?}");
    }
}

/// The first ` on…=` attribute in `html`, if any (an inline event handler).
fn inline_handler(html: &str) -> Option<String> {
    html.match_indices(" on").find_map(|(i, _)| {
        let rest = &html[i + 3..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase())
            .collect();
        (!word.is_empty() && rest[word.len()..].starts_with('=')).then(|| format!("on{word}"))
    })
}

#[actix_web::test]
async fn names_ids_and_notes_that_look_like_markup_are_shown_as_text_on_every_page() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path()).await;
    let base = server.base.clone();
    let ago = |min: i64| format_time(Utc::now() - chrono::Duration::minutes(min));
    let ahead = |h: i64| format_time(Utc::now() + chrono::Duration::hours(h));

    // The crew comes on shift, the breaker opens, a customer calls; planned work is
    // announced below the fuse. Dispatch gives the outage's order to the only crew.
    post(
        &base,
        &[
            json!({"type":"crew","at":ago(40),"id":CREW,"name":NAME,"skills":["line"],"lon":116.0015,"lat":39.0005}),
            json!({"type":"scada","at":ago(35),"device":BREAKER,"state":"open"}),
            json!({"type":"report","at":ago(34),"id":REPORT,"customer":CUSTOMER,"source":"call","problem":"no_power","note":REPORT_NOTE}),
            json!({"type":"planned_outage","at":ago(33),"id":NOTICE,"device":"F1","start":ahead(2),"end":ahead(5),"kind":"planned","reason":REASON}),
        ],
    )
    .await;
    let orders = wait_json(&base, "/api/v1/orders", |v| v[0]["crew"] == CREW).await;
    let order = orders[0]["id"].as_str().unwrap().to_owned();
    let outage = orders[0]["outage"].as_str().unwrap().to_owned();
    // The crew sets off (with a note) and arrives.
    let action = |min: i64, what: &str| json!({"type":"crew_action","at":ago(min),"crew":CREW,"order":order,"action":what});
    let mut en_route = action(30, "en_route");
    en_route["note"] = json!(CREW_NOTE);
    post(
        &base,
        &[action(31, "acknowledge"), en_route, action(25, "on_site")],
    )
    .await;
    wait_json(&base, "/api/v1/orders", |v| v[0]["state"] == "on_site").await;

    // The wallboard: the order's device and crew, the crew's name in the ticker, the notice.
    let mut page = browser
        .open(&format!("{base}/?token={ADMIN}&lang=en"), 1920, 1080, false)
        .await;
    shows_as_text(&mut page, "the wallboard", &[BREAKER, CREW, NAME, NOTICE]).await;
    page.screenshot(&screenshots().join("markup-wallboard-1920x1080.png"))
        .await;

    // The crew page: the crew's name, the order's device.
    let mut page = browser
        .open(
            &format!("{base}/crew?token={CREW_TOKEN}&lang=en"),
            390,
            844,
            true,
        )
        .await;
    shows_as_text(&mut page, "the crew page", &[NAME, BREAKER]).await;

    // The console: the tables, the outage's evidence (the report), the order's history
    // (the crew's note).
    let mut page = browser
        .open(
            &format!("{base}/console?token={ADMIN}&lang=en"),
            1600,
            900,
            false,
        )
        .await;
    shows_as_text(&mut page, "the console's tables", &[BREAKER, CREW, NAME]).await;
    page.eval("document.querySelector('#t-outages tbody tr').click(); true")
        .await;
    shows_as_text(&mut page, "the console's outage", &[REPORT, BREAKER]).await;
    page.eval("document.querySelector('#t-orders tbody tr').click(); true")
        .await;
    shows_as_text(&mut page, "the console's order", &[CREW_NOTE, CREW]).await;
    page.screenshot(&screenshots().join("markup-console-1600x900.png"))
        .await;

    // The lookup: the customer, the device, the crew, the planned work and its reason.
    let mut page = browser
        .open(
            &format!("{base}/lookup?token={ADMIN}&lang=en"),
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
    page.eval(&format!(
        "document.querySelector('#q').value = {}; document.querySelector('#go').click(); true",
        json!(CUSTOMER)
    ))
    .await;
    shows_as_text(
        &mut page,
        "the lookup",
        &[CUSTOMER, BREAKER, CREW, NOTICE, REASON],
    )
    .await;

    // Restored, with a note; the caller is listed for a callback, and an agent's first
    // call goes unanswered.
    let mut restored = action(10, "restored");
    restored["cause"] = json!("tree");
    restored["note"] = json!(REPORT_NOTE);
    post(
        &base,
        &[
            restored,
            json!({"type":"scada","at":ago(5),"device":BREAKER,"state":"closed"}),
        ],
    )
    .await;
    wait_json(&base, "/api/v1/callbacks?status=all", |v| {
        v[0]["customer"] == CUSTOMER
    })
    .await;
    post(
        &base,
        &[json!({"type":"callback","at":ago(1),"outage":outage,"customer":CUSTOMER,"outcome":"no_answer","agent":AGENT,"note":CALLBACK_NOTE})],
    )
    .await;
    wait_json(&base, "/api/v1/callbacks?status=all", |v| {
        v[0]["attempts"] == 1
    })
    .await;

    // The callback list: customer and device (shortened, whole in their titles), crew,
    // report, agent, note.
    let mut page = browser
        .open(
            &format!("{base}/callbacks?token={ADMIN}&lang=en"),
            1366,
            768,
            false,
        )
        .await;
    let (customer, device) = (short(CUSTOMER, 26), short(BREAKER, 26));
    shows_as_text(
        &mut page,
        "the callback list",
        &[&customer, &device, CREW, REPORT, AGENT, CALLBACK_NOTE],
    )
    .await;
    let titles = page
        .eval("[...document.querySelectorAll('#pending [title]')].map((e) => e.title)")
        .await;
    assert_eq!(titles, json!([CUSTOMER, BREAKER]), "whole in the titles");
    page.screenshot(&screenshots().join("markup-callbacks-1366x768.png"))
        .await;

    // The report: the crew in its tables, the outage's device.
    let period = format!("from={}&to={}", ago(120), ago(-60));
    let mut page = browser
        .open(
            &format!("{base}/reports?token={ADMIN}&lang=en&{period}"),
            1280,
            900,
            false,
        )
        .await;
    page.wait_until(
        "document.body.dataset.ready === '1'",
        Duration::from_secs(10),
    )
    .await;
    shows_as_text(&mut page, "the report", &[CREW, &short(BREAKER, 20)]).await;
}
