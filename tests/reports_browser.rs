//! The report page (`/reports`) in a real headless Chromium, over three simulated storm
//! days with crews in the loop (issue 7, item 4). Skipped, with a line saying so, where
//! Chromium is not installed. Screenshots go to `target/screenshots/`.

mod common;
mod browser {
    pub mod cdp;
}

use std::path::PathBuf;
use std::time::Duration;

use browser::cdp::Browser;
use faultline::api::Tokens;
use faultline::engine::EngineOptions;
use faultline::events::Event;
use faultline::sim::crews::{self, CrewOptions};
use faultline::sim::{generate, StormOptions};

const TOKEN: &str = "reports-admin-token";

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

async fn get_json(url: &str) -> serde_json::Value {
    let mut resp = awc::Client::default()
        .get(url)
        .insert_header(("Authorization", format!("Bearer {TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    serde_json::from_slice(&resp.body().limit(1 << 26).await.unwrap()).unwrap()
}

/// Storms on 14, 15 and 16 July 2026 on IEEE 123, played with six simulated crews: the
/// whole log (roster, storm, crews' actions, ticks).
fn three_storm_days() -> Vec<Event> {
    let net = common::bundled("ieee123.geojson");
    let mut storm = Vec::new();
    for (day, faults) in [(0, 6), (1, 4), (2, 14)] {
        let s = generate(
            &net,
            &StormOptions {
                seed: 40 + day,
                faults,
                restore: false,
                start: StormOptions::default().start + chrono::Duration::days(day as i64),
                ..StormOptions::default()
            },
        );
        storm.extend(s.events);
    }
    storm.sort_by_key(|e| e.at);
    let run = crews::run(
        &net,
        &storm,
        &CrewOptions {
            crews: 6,
            ..CrewOptions::default()
        },
        EngineOptions::default(),
        chrono::Duration::hours(30),
    );
    run.events
}

#[actix_web::test]
async fn the_report_page_draws_the_figures_the_api_gives_and_prints() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = three_storm_days();
    let server = common::server::TestServer::start(dir.path(), Tokens::new(TOKEN), &log).await;
    let base = server.base.clone();
    let period = "from=2026-07-14&to=2026-07-16";
    let api = get_json(&format!("{base}/api/v1/reports?{period}")).await;
    let last = faultline::events::format_time(log.iter().map(|e| e.at).max().unwrap());
    assert_eq!(
        api["scope"]["as_of"],
        last.as_str(),
        "the whole log applied"
    );
    let saidi = api["reliability"]["all_days"]["saidi_min"]
        .as_f64()
        .unwrap();
    assert!(saidi > 0.0, "the storms darkened customers: {api}");
    let crews_in_api = api["workload"]["crews"].as_object().unwrap().len();
    assert!(crews_in_api >= 2, "{api}");

    // English first: the figures on the page are the API's.
    let mut page = browser
        .open(
            &format!("{}/reports?token={TOKEN}&lang=en&{period}", base),
            1240,
            2400,
            false,
        )
        .await;
    page.wait_until(
        "document.body.dataset.ready === '1'",
        Duration::from_secs(10),
    )
    .await;
    let shown = page
        .eval("document.querySelector('#kpis .kpi .v').textContent")
        .await;
    let expected = format!("{saidi:.2}");
    assert_eq!(
        shown.as_str().unwrap().replace(',', ""),
        expected,
        "SAIDI on the page"
    );
    let bars = page
        .eval("document.querySelectorAll('#daily-chart rect.bar').length")
        .await;
    assert_eq!(bars, 3, "one bar per day of the period");
    let crew_rows = page
        .eval("document.querySelectorAll('#crews tbody tr').length")
        .await;
    assert_eq!(crew_rows, crews_in_api as u64);
    let dispatchers = page
        .eval("document.querySelector('#dispatchers').textContent")
        .await;
    assert!(dispatchers
        .as_str()
        .unwrap()
        .contains("do not record which dispatcher"));
    // The CSV link asks for the same period as CSV.
    let csv = page.eval("document.querySelector('#csv').href").await;
    assert!(csv.as_str().unwrap().contains("format=csv"), "{csv}");
    assert!(csv.as_str().unwrap().contains("from=2026-07-14"), "{csv}");
    page.screenshot(&screenshots().join("reports-en-1240.png"))
        .await;

    // Chinese, as printed for the managers.
    let mut page = browser
        .open(
            &format!("{}/reports?token={TOKEN}&lang=zh-CN&{period}", base),
            1240,
            2400,
            false,
        )
        .await;
    page.wait_until(
        "document.body.dataset.ready === '1'",
        Duration::from_secs(10),
    )
    .await;
    let title = page.eval("document.querySelector('h1').textContent").await;
    assert_eq!(title, "供电可靠性与抢修工作量报表");
    page.call(
        "Emulation.setEmulatedMedia",
        serde_json::json!({"media": "print"}),
    )
    .await;
    page.screenshot(&screenshots().join("reports-zh-CN-print-1240.png"))
        .await;

    // A bad parameter is shown, naming it.
    let mut page = browser
        .open(
            &format!(
                "{}/reports?token={TOKEN}&lang=en&feeder=NO-SUCH-FEEDER",
                base
            ),
            1240,
            600,
            false,
        )
        .await;
    page.wait_until(
        "document.body.dataset.ready === 'error'",
        Duration::from_secs(10),
    )
    .await;
    let error = page
        .eval("document.querySelector('#error').textContent")
        .await;
    assert!(error.as_str().unwrap().contains("feeder:"), "{error}");

    // The wallboard's panel: today's figures (the engine's day, in the screen's zone).
    let mut wall = browser
        .open(
            &format!("{base}/?token={TOKEN}&lang=zh-CN"),
            1920,
            1080,
            false,
        )
        .await;
    wall.wait_until(
        "document.querySelector('#fig-today').dataset.outages !== undefined",
        Duration::from_secs(10),
    )
    .await;
    let offset = wall
        .eval("(() => { const m = -new Date().getTimezoneOffset(), a = Math.abs(m); return (m < 0 ? '-' : '+') + String(Math.floor(a / 60)).padStart(2, '0') + ':' + String(a % 60).padStart(2, '0'); })()")
        .await;
    let today = get_json(&format!(
        "{base}/api/v1/reports?utc_offset={}",
        offset.as_str().unwrap().replace('+', "%2B")
    ))
    .await;
    let shown = wall
        .eval("Number(document.querySelector('#fig-today').dataset.outages)")
        .await;
    assert_eq!(shown, today["reliability"]["outages"]);
    let label = wall
        .eval("document.querySelector('#fig-today .label').textContent")
        .await;
    assert_eq!(label, "今日供电可靠性（非计划停电）");
    wall.screenshot(&screenshots().join("wallboard-today-zh-1920x1080.png"))
        .await;
}
