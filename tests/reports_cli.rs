//! `faultline report`: the offline report from an events file (issue 7, item 4).

use std::process::Command;

const IEEE123: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/gis-data/ieee123.geojson");

/// line.sw1 (91 customers below it) open 03:00–04:00: 5,460 customer-minutes.
fn events_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("log.ndjson");
    std::fs::write(
        &path,
        concat!(
            r#"{"type":"scada","at":"2026-07-14T03:00:00Z","device":"line.sw1","state":"open"}"#,
            "\n",
            r#"{"type":"scada","at":"2026-07-14T04:00:00Z","device":"line.sw1","state":"closed"}"#,
            "\n"
        ),
    )
    .unwrap();
    path
}

fn report(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("report")
        .args(args)
        .env("FAULTLINE_LOG", "warn")
        .output()
        .expect("faultline runs")
}

#[test]
fn the_offline_report_gives_the_day_s_customer_minutes_as_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let events = events_file(dir.path());
    let events = events.to_str().unwrap();
    let out = report(&["--network", IEEE123, "--events", events, "--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().next(), Some("section,group,metric,value"));
    assert!(csv
        .lines()
        .any(|l| l == "reliability,all_days,customer_minutes,5460.0"));
    assert!(csv.lines().any(|l| l == "scope,,from,2026-07-14T00:00:00Z"));

    let out = report(&[
        "--network",
        IEEE123,
        "--events",
        events,
        "--from",
        "2026-07-14",
    ]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["reliability"]["outages"], 1);
    assert_eq!(
        json["reliability"]["all_days"]["customer_interruptions"],
        91
    );
}

#[test]
fn a_bad_flag_value_is_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let events = events_file(dir.path());
    for (flag, value) in [
        ("--zone", "downtown"),
        ("--from", "last-week"),
        ("--utc-offset", "8"),
        ("--feeder", "NO-SUCH"),
    ] {
        let out = report(&[
            "--network",
            IEEE123,
            "--events",
            events.to_str().unwrap(),
            flag,
            value,
        ]);
        assert!(!out.status.success(), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{flag}:")), "{flag}: {err}");
    }
}

/// Planned work on line.sw2 (n customers below it), 05:00–06:00, completed: the
/// offline report counts it in the planned section, n × 60 customer-minutes, apart from
/// the unplanned figures (line.sw1's hour, 5,460 customer-minutes).
#[test]
fn the_offline_report_counts_planned_work_from_the_notices() {
    let dir = tempfile::tempdir().unwrap();
    let events = events_file(dir.path());
    let mut log = std::fs::read_to_string(&events).unwrap();
    log.push_str(concat!(
        r#"{"type":"planned_outage","at":"2026-07-14T04:30:00Z","id":"PO-1","device":"line.sw2","start":"2026-07-14T05:00:00Z","end":"2026-07-14T06:00:00Z","kind":"urgent"}"#,
        "\n",
        r#"{"type":"tick","at":"2026-07-14T06:30:00Z"}"#,
        "\n"
    ));
    std::fs::write(&events, log).unwrap();
    let net = faultline::network::Network::from_geojson(
        &std::fs::read_to_string(IEEE123).unwrap(),
        &faultline::network::LoadOptions::default(),
    )
    .unwrap();
    let n = net.darkened_by("line.sw2").unwrap().customers as f64;
    let out = report(&["--network", IEEE123, "--events", events.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &json["reliability"];
    assert_eq!(r["planned"]["outages"], 1, "{}", r["planned"]);
    assert_eq!(r["planned"]["customer_minutes"].as_f64(), Some(n * 60.0));
    assert_eq!(r["all_days"]["customer_minutes"], 5460.0);
}
