//! The public outage page and feed (issue 24, item 3) on the real BDGD network (13,340
//! customers, each given an account number here) during a simulated storm with a
//! planned-work notice: no token needed; outages only as ~1 km areas and districts;
//! nothing personal — no customer id, account, or exact service point — anywhere in the
//! JSON or the page's HTML; the feed is cached and each address rate limited.
//! Screenshots go to `target/screenshots/` (skipped, with a line saying so, without
//! Chromium).

mod common;
mod browser {
    pub mod cdp;
}

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use browser::cdp::Browser;
use faultline::api::Tokens;
use faultline::events::{format_time, Event};
use faultline::network::{DeviceKind, LoadOptions, Network};
use faultline::sim::{generate, StormOptions};
use serde_json::{json, Value};

const ADMIN: &str = "public-page-admin-token";

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

/// BDGD with an account number on every customer (`ACC-<n>`: the bundled file has
/// none).
fn bdgd_with_accounts() -> Network {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/gis-data/bdgd_mux_energia.geojson"
    );
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut n = 0;
    for f in v["features"].as_array_mut().unwrap() {
        if f["properties"]["kind"] == "customer" {
            n += 1;
            f["properties"]["account"] = json!(format!("ACC-{n:06}"));
        }
    }
    Network::from_geojson(&v.to_string(), &LoadOptions::default()).unwrap()
}

/// A GET without a token: status, headers we check, body.
async fn get(url: &str) -> (u16, Option<String>, Option<String>, String) {
    let mut resp = awc::Client::default().get(url).send().await.unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (cache, retry) = (header("cache-control"), header("retry-after"));
    let body = resp.body().limit(1 << 26).await.unwrap();
    (
        resp.status().as_u16(),
        cache,
        retry,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

async fn admin_json(url: &str) -> Value {
    let mut resp = awc::Client::default()
        .get(url)
        .insert_header(("Authorization", format!("Bearer {ADMIN}")))
        .send()
        .await
        .unwrap();
    serde_json::from_slice(&resp.body().limit(1 << 26).await.unwrap()).unwrap()
}

/// What must never be published: every customer id and account, and the exact
/// coordinates of every service point (as the file gives them, with 5+ decimals).
struct Personal {
    words: HashSet<String>,
}

impl Personal {
    fn of(net: &Network) -> Personal {
        let mut words = HashSet::new();
        for c in net.customers() {
            words.insert(c.id.clone());
            if let Some(a) = &c.account {
                words.insert(a.clone());
            }
            for x in [c.lon, c.lat] {
                let s = x.to_string();
                if s.split('.').nth(1).is_some_and(|d| d.len() >= 5) {
                    words.insert(s);
                }
            }
        }
        Personal { words }
    }

    /// Fails naming the first personal item found in `text`.
    fn assert_none_in(&self, what: &str, text: &str) {
        // Every quoted string and every number in the text, as tokens.
        let tokens: HashSet<&str> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_')))
            .filter(|t| !t.is_empty())
            .collect();
        for t in &tokens {
            assert!(
                !self.words.contains(*t),
                "{what} publishes {t:?}, a customer's id, account or exact place"
            );
        }
        // Ids that hold other characters: a plain search.
        for w in self.words.iter().filter(|w| w.len() >= 8) {
            if !w
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c))
            {
                assert!(!text.contains(w.as_str()), "{what} publishes {w:?}");
            }
        }
    }
}

#[actix_web::test]
async fn the_public_page_shows_outage_areas_and_districts_and_nothing_personal() {
    let net = bdgd_with_accounts();
    let personal = Personal::of(&net);
    let storm = generate(
        &net,
        &StormOptions {
            seed: 24,
            faults: 8,
            restore: false,
            ..StormOptions::default()
        },
    );
    let mut log = storm.events;
    let last = log.iter().map(|e| e.at).max().unwrap();
    // Planned work tomorrow on a fuse with customers below it.
    let fuse = net
        .devices()
        .find(|d| d.kind() == DeviceKind::Fuse && d.customers_below() >= 20)
        .expect("a fuse with customers below it");
    log.push(
        Event::parse(&json!({
            "type":"planned_outage","at":format_time(last),"id":"PO-24","device":fuse.id(),
            "start":format_time(last + chrono::Duration::hours(20)),
            "end":format_time(last + chrono::Duration::hours(24)),
            "kind":"planned","reason":"pole replacement"
        }))
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let server =
        common::server::TestServer::start_on(net.clone(), dir.path(), Tokens::new(ADMIN), &log)
            .await;
    let base = server.base.clone();

    // The engine's view, for comparison (the admin's API).
    let outages = admin_json(&format!("{base}/api/v1/outages")).await;
    let outages = outages.as_array().unwrap();
    assert!(outages.len() >= 3, "the storm left outages: {outages:?}");

    // The feed: no token, cacheable, aggregated.
    let (status, cache, _, body) = get(&format!("{base}/public/v1/outages.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache.as_deref(), Some("public, max-age=30"));
    personal.assert_none_in("the feed", &body);
    let feed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(feed["summary"]["outages"], outages.len());
    assert_eq!(feed["summary"]["customers_served"], 13_340);
    // No device id either (a local outage is named by its service point); a feeder
    // head is a district's name.
    let feeders: HashSet<&str> = net.feeder_ids().collect();
    for o in outages {
        let device = o["device"].as_str().unwrap();
        if !feeders.contains(device) {
            assert!(!body.contains(device), "the feed names device {device}");
        }
    }
    let cell = feed["cell_deg"].as_f64().unwrap();
    let mut shown_total = 0;
    for a in feed["areas"].as_array().unwrap() {
        let b: Vec<f64> = a["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert!(
            ((b[2] - b[0]) - cell).abs() < 1e-9,
            "an area is one grid cell: {a}"
        );
        assert!(
            ((b[3] - b[1]) - cell).abs() < 1e-9,
            "an area is one grid cell: {a}"
        );
        match a["customers_out"].as_u64() {
            Some(n) => {
                assert!(n >= 5, "a count below 5 is published: {a}");
                assert_eq!(a["fewer_than_5"], false);
                shown_total += n;
            }
            None => assert_eq!(a["fewer_than_5"], true, "{a}"),
        }
    }
    let districts = feed["districts"].as_array().unwrap();
    assert!(!districts.is_empty());
    for d in districts {
        assert!(d["customers_out"].as_u64().is_none_or(|n| n >= 5), "{d}");
        assert!(feeders.contains(d["district"].as_str().unwrap()), "{d}");
    }
    let total = feed["summary"]["customers_out"].as_u64().unwrap();
    assert!(shown_total <= total);
    let planned = feed["planned"].as_array().unwrap();
    assert_eq!(planned.len(), 1, "{feed}");
    assert_eq!(planned[0]["status"], "scheduled");
    assert_eq!(planned[0]["reason"], "pole replacement");

    // Computed at most every few seconds: the next request is the same document.
    let (_, _, _, again) = get(&format!("{base}/public/v1/outages.json")).await;
    assert_eq!(again, body, "the cached feed");

    // The lookup by account: in a known outage, since, expected back — nothing else.
    let in_outage = outages
        .iter()
        .flat_map(|o| {
            let device = o["device"].as_str().unwrap();
            net.darkened_by(device)
                .map(|d| d.points)
                .or_else(|| net.customer_idx(device).map(|c| vec![c]))
                .unwrap_or_default()
        })
        .map(|c| net.customer(c))
        .find(|c| c.account.is_some())
        .expect("a customer in an outage");
    let account = in_outage.account.clone().unwrap();
    let (status, cache, _, body) = get(&format!("{base}/public/v1/status?account={account}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache.as_deref(), Some("private, max-age=30"));
    personal.assert_none_in("the account lookup", &body);
    let answer: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["expected_back", "since", "status"], "{answer}");
    assert_eq!(answer["status"], "outage");
    let (status, _, _, body) = get(&format!("{base}/public/v1/status?account=NO-SUCH")).await;
    assert_eq!(status, 404);
    assert!(body.contains("account:"), "{body}");
    let (status, _, _, body) = get(&format!("{base}/public/v1/status")).await;
    assert_eq!(status, 400);
    assert!(body.contains("account:"), "{body}");

    if let Some(browser) = Browser::start() {
        // English on a desk.
        let mut page = browser
            .open(&format!("{base}/public?lang=en"), 1280, 1900, false)
            .await;
        page.wait_until(
            "document.body.dataset.ready === '1'",
            Duration::from_secs(10),
        )
        .await;
        let figure = page
            .eval("document.querySelector('#fig-customers').textContent")
            .await;
        assert_eq!(
            figure.as_str().unwrap().replace(',', ""),
            total.to_string(),
            "customers out on the page"
        );
        let rows = page
            .eval("document.querySelectorAll('#districts tbody tr').length")
            .await;
        assert_eq!(rows, districts.len() as u64);
        let areas = page
            .eval("document.querySelectorAll('#map rect.area').length")
            .await;
        assert_eq!(areas, feed["areas"].as_array().unwrap().len() as u64);
        let work = page
            .eval("document.querySelectorAll('#map rect.work').length")
            .await;
        assert_eq!(work, 1);
        // The lookup, as a customer types it.
        page.eval(&format!(
            "document.querySelector('#account').value = {account:?}; document.querySelector('#go').click(); 1"
        ))
        .await;
        page.wait_until(
            "document.querySelector('#answer').className.includes('out')",
            Duration::from_secs(10),
        )
        .await;
        let said = page
            .eval("document.querySelector('#answer').textContent")
            .await;
        assert!(said.as_str().unwrap().contains("known outage"), "{said}");
        let html = page.eval("document.documentElement.outerHTML").await;
        personal.assert_none_in("the page", html.as_str().unwrap());
        page.screenshot(&screenshots().join("public-en-1280.png"))
            .await;

        // Chinese on a phone.
        let mut phone = browser
            .open(&format!("{base}/public?lang=zh-CN"), 390, 1500, true)
            .await;
        phone
            .wait_until(
                "document.body.dataset.ready === '1'",
                Duration::from_secs(10),
            )
            .await;
        let title = phone.eval("document.querySelector('h1').textContent").await;
        assert_eq!(title, "停电信息");
        let html = phone.eval("document.documentElement.outerHTML").await;
        personal.assert_none_in("the page in Chinese", html.as_str().unwrap());
        phone
            .screenshot(&screenshots().join("public-zh-CN-390.png"))
            .await;
    }

    // A storm of requests from one address: refused past its rate, with Retry-After;
    // the feed is still the cached one for those let through.
    let mut refused = 0;
    for _ in 0..60 {
        let (status, _, retry, _) = get(&format!("{base}/public/v1/outages.json")).await;
        if status == 429 {
            refused += 1;
            assert!(retry.is_some(), "a 429 says when to retry");
        } else {
            assert_eq!(status, 200);
        }
    }
    assert!(
        refused >= 30,
        "only {refused} of 60 quick requests were refused"
    );
}
