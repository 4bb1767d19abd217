//! `faultline serve` as a user runs it: every bundled network starts and answers
//! /healthz; a malformed network is refused with the offending feature named; SIGTERM
//! stops it cleanly with every acknowledged event stored.

mod common;

use common::free_port;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The administrator's token the servers here start with.
const ADMIN: &str = "serve-cli-admin-token";

fn healthz(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200")
}

fn serve(network: &str, db: &str, port: u16) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["serve", "--network", network, "--db"])
        .arg(db)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .env("FAULTLINE_ADMIN_TOKEN", ADMIN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_healthy(port: u16, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthz(port) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server exited: {status}");
        }
        assert!(Instant::now() < deadline, "no /healthz answer in 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_bundled_network_serves_and_answers_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/gis-data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "geojson"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5);
    for (k, file) in files.iter().enumerate() {
        let port = free_port();
        let own = dir.path().join(k.to_string());
        std::fs::create_dir(&own).unwrap();
        let mut child = serve(
            file.to_str().unwrap(),
            &common::db::test_db_blocking(&own),
            port,
        );
        wait_healthy(port, &mut child);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn a_malformed_network_is_refused_naming_the_feature_and_nothing_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.geojson");
    std::fs::write(
        &bad,
        r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","geometry":{"type":"Point","coordinates":[116,39]},"properties":{"id":"S","kind":"substation"}},
          {"type":"Feature","geometry":{"type":"LineString","coordinates":[[116,39],[116,39.1]]},"properties":{"id":"L-77","kind":"line","from":"S","to":"NOWHERE"}}]}"#,
    )
    .unwrap();
    let db = dir.path().join("log.db");
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["serve", "--network", bad.to_str().unwrap(), "--db"])
        .arg(&db)
        .args(["--bind", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("L-77") && stderr.contains("NOWHERE"),
        "{stderr}"
    );
    assert!(
        !db.exists(),
        "nothing was created before the network was accepted"
    );
}

#[test]
fn sigterm_stops_the_server_cleanly_with_acknowledged_events_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::db::test_db_blocking(dir.path());
    let port = free_port();
    let network = concat!(env!("CARGO_MANIFEST_DIR"), "/gis-data/ieee123.geojson");
    let mut child = serve(network, &db, port);
    wait_healthy(port, &mut child);
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = r#"{"type":"report","at":"2026-07-14T03:12:09Z","id":"R-1","customer":"load.s1a","source":"call","problem":"no_power"}"#;
    write!(s, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 202"), "{resp}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "clean exit on SIGTERM: {exit}");
    // Restart: the event is there.
    let port = free_port();
    let mut child = serve(network, &db, port);
    wait_healthy(port, &mut child);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET /api/v1/events?since=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.contains(r#"{"seq":1,"type":"report""#), "{resp}");
    child.kill().unwrap();
    child.wait().unwrap();
}

fn http(port: u16, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp
}

fn body_of(resp: &str) -> String {
    let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    // Undo chunked transfer encoding if the server used it.
    if resp
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        return out;
    }
    body.to_owned()
}

#[test]
fn a_restarted_server_rebuilds_the_same_outages_and_messages_from_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::db::test_db_blocking(dir.path());
    let network = concat!(env!("CARGO_MANIFEST_DIR"), "/gis-data/ieee123.geojson");
    let port = free_port();
    let mut child = serve(network, &db, port);
    wait_healthy(port, &mut child);
    let events = [
        r#"{"type":"scada","at":"2026-07-14T03:00:00Z","device":"line.sw1","state":"open"}"#,
        r#"{"type":"report","at":"2026-07-14T03:01:00Z","id":"R-1","customer":"load.s1a","source":"call","problem":"wire_down"}"#,
    ]
    .join("\n");
    let post = format!("POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{events}", events.len());
    assert!(http(port, &post).starts_with("HTTP/1.1 202"));
    let get = |port: u16, path: &str| {
        body_of(&http(port, &format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nConnection: close\r\n\r\n")))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(port, "/api/v1/outages").matches("\"id\"").count() < 2 {
        assert!(
            Instant::now() < deadline,
            "the engine did not apply the events"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let outages = get(port, "/api/v1/outages?status=all");
    let messages = get(port, "/api/v1/messages?since=0");
    child.kill().unwrap();
    child.wait().unwrap();
    let port = free_port();
    let mut child = serve(network, &db, port);
    wait_healthy(port, &mut child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(port, "/api/v1/outages?status=all") != outages {
        assert!(
            Instant::now() < deadline,
            "rebuilt outages differ: {} vs {outages}",
            get(port, "/api/v1/outages?status=all")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The same messages, not written twice (a tick may have added more after them).
    assert!(get(port, "/api/v1/messages?since=0").starts_with(&messages));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn service_targets_are_settings_and_a_bad_one_is_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("e.ndjson");
    std::fs::write(
        &events,
        "{\"type\":\"scada\",\"at\":\"2026-07-14T03:00:00Z\",\"device\":\"line.sw1\",\"state\":\"open\"}\n",
    )
    .unwrap();
    let replay = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args([
                "replay",
                "--network",
                "gis-data/ieee123.geojson",
                "--events",
            ])
            .arg(&events)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = replay(&[
        "--on-site-target-min",
        "30,30,60",
        "--restore-target-min",
        "240,240,480",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "outage.created");
    assert_eq!(first["data"]["arrive_by"], "2026-07-14T03:30:00Z");
    assert_eq!(first["data"]["restore_by"], "2026-07-14T07:00:00Z");
    let bad = replay(&["--on-site-target-min", "30,0,60"]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("--on-site-target-min needs three positive minutes"),
        "{stderr}"
    );
}

#[test]
fn a_restart_resumes_from_the_engine_snapshot_and_ends_in_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::db::test_db_blocking(dir.path());
    let network = concat!(env!("CARGO_MANIFEST_DIR"), "/gis-data/ieee123.geojson");
    let start = |port: u16, log: &str| {
        Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args([
                "serve",
                "--network",
                network,
                "--db",
                &db,
                "--snapshot-every",
                "5",
                "--snapshot-min-interval-s",
                "0",
            ])
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .env("FAULTLINE_ADMIN_TOKEN", ADMIN)
            .env("FAULTLINE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join(log)).unwrap())
            .spawn()
            .unwrap()
    };
    let get = |port: u16, path: &str| {
        body_of(&http(port, &format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nConnection: close\r\n\r\n")))
    };
    let port = free_port();
    let mut child = start(port, "first.log");
    wait_healthy(port, &mut child);
    let mut events = vec![
        r#"{"type":"scada","at":"2026-07-14T03:00:00Z","device":"line.sw2","state":"open"}"#
            .to_owned(),
    ];
    for (i, c) in ["load.s1a", "load.s2b", "load.s4c", "load.s5c", "load.s6c"]
        .iter()
        .cycle()
        .take(30)
        .enumerate()
    {
        events.push(format!(
            r#"{{"type":"report","at":"2026-07-14T03:{:02}:00Z","id":"R-{i}","customer":"{c}","source":"call","problem":"no_power"}}"#,
            1 + i
        ));
    }
    let events = events.join("\n");
    let post = format!("POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{events}", events.len());
    assert!(http(port, &post).starts_with("HTTP/1.1 202"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(dir.path().join("first.log"))
        .unwrap()
        .contains("engine snapshot kept")
    {
        assert!(Instant::now() < deadline, "no snapshot was kept");
        std::thread::sleep(Duration::from_millis(20));
    }
    let outages = get(port, "/api/v1/outages?status=all");
    let messages = get(port, "/api/v1/messages?since=0");
    assert!(outages.contains("OUT-"), "{outages}");
    child.kill().unwrap(); // SIGKILL: the snapshot was kept while running
    child.wait().unwrap();

    let port = free_port();
    let mut child = start(port, "second.log");
    wait_healthy(port, &mut child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(port, "/api/v1/outages?status=all") != outages {
        assert!(Instant::now() < deadline, "the restarted engine differs");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(get(port, "/api/v1/messages?since=0").starts_with(&messages));
    let log = std::fs::read_to_string(dir.path().join("second.log")).unwrap();
    assert!(
        log.contains("engine restored from its snapshot"),
        "the restart did not use the snapshot:\n{log}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_second_serve_on_the_same_sqlite_file_is_refused_and_a_dead_ones_lock_is_taken_over() {
    if common::db::postgres_requested() {
        return; // several instances on one PostgreSQL log are the point there
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db").to_string_lossy().into_owned();
    let network = concat!(env!("CARGO_MANIFEST_DIR"), "/gis-data/ieee123.geojson");
    let port = free_port();
    let mut first = serve(network, &db, port);
    wait_healthy(port, &mut first);
    let second = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["serve", "--network", network, "--db", &db])
        .args(["--bind", &format!("127.0.0.1:{}", free_port())])
        .env("FAULTLINE_ADMIN_TOKEN", ADMIN)
        .output()
        .unwrap();
    assert!(!second.status.success(), "the second serve started");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("another faultline serve")
            && stderr.contains(&format!("pid {}", first.id())),
        "{stderr}"
    );
    assert!(healthz(port), "the first one is untouched");
    // The first dies without cleaning up: its lock is stale, and the next serve starts.
    first.kill().unwrap();
    first.wait().unwrap();
    let port = free_port();
    let mut third = serve(network, &db, port);
    wait_healthy(port, &mut third);
    let lock = format!("{db}.serve.lock");
    assert!(std::path::Path::new(&lock).exists());
    // A clean stop leaves no lock behind.
    Command::new("kill")
        .args(["-TERM", &third.id().to_string()])
        .status()
        .unwrap();
    assert!(third.wait().unwrap().success());
    assert!(!std::path::Path::new(&lock).exists(), "{lock} left behind");
}

#[test]
fn an_admin_token_shorter_than_any_other_token_may_be_is_refused_before_anything_opens() {
    // See: issue 19: a one-character FAULTLINE_ADMIN_TOKEN was taken while tokens-file
    // tokens need 16.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let network = concat!(env!("CARGO_MANIFEST_DIR"), "/gis-data/ieee123.geojson");
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["serve", "--network", network, "--db"])
        .arg(&db)
        .args(["--bind", &format!("127.0.0.1:{}", free_port())])
        .env("FAULTLINE_ADMIN_TOKEN", "t")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("FAULTLINE_ADMIN_TOKEN is 1 characters long; a token needs at least 16"),
        "{err}"
    );
    assert!(!db.exists(), "the event log was not created");
}

// See: #19. The demo printed its tokens, posted the storm with the admin token to
// whatever held the port, panicked, and only then said the port was in use.
#[test]
fn demo_on_a_taken_port_fails_at_once_saying_so_and_prints_no_token() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["demo", "--bind", &format!("127.0.0.1:{port}")])
        .env_remove("FAULTLINE_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("the demo is still running 30 s after it was started on a taken port");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "port {port} is in use: choose another with --bind"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stdout.contains("token") && !stdout.contains("Bearer"),
        "nothing is printed before the port is held: {stdout}"
    );
    // Nothing connected to the port's holder (the storm was never posted).
    taken.set_nonblocking(true).unwrap();
    assert!(
        taken.accept().is_err(),
        "the demo connected to the taken port"
    );
}
