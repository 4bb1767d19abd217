//! `faultline serve` as an operator's IT runs it (issue 24): logs a shipper can read
//! (`FAULTLINE_LOG_FORMAT=json`: one JSON object per line; text without colours when
//! standard error is not a terminal) and `/metrics` on its own address without a token.

mod common;

use common::free_port;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "serve-ops-admin-token";

/// One HTTP/1.1 request; the whole answer as text ("" when nothing answers).
fn http(port: u16, request: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn get(port: u16, path: &str) -> String {
    http(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

fn serve(
    db: &std::path::Path,
    port: u16,
    env: &[(&str, &str)],
    extra: &[&str],
) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_faultline"));
    cmd.args(["serve", "--network"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/gis-data/ieee123.geojson"
        ))
        .arg("--db")
        .arg(db)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(extra)
        .env("FAULTLINE_ADMIN_TOKEN", ADMIN)
        .env_remove("FAULTLINE_LOG")
        .env_remove("FAULTLINE_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn wait_healthy(port: u16, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !get(port, "/healthz").starts_with("HTTP/1.1 200") {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server exited: {status}");
        }
        assert!(Instant::now() < deadline, "no /healthz answer in 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM, then everything it wrote to standard error.
fn stop(mut child: std::process::Child) -> String {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "clean exit on SIGTERM: {exit}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    err
}

#[test]
fn json_logs_are_one_object_per_line_and_metrics_have_their_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let mut child = serve(
        &dir.path().join("log.db"),
        port,
        &[("FAULTLINE_LOG_FORMAT", "json")],
        &["--metrics-bind", &format!("127.0.0.1:{metrics_port}")],
    );
    wait_healthy(port, &mut child);

    // The metrics address needs no token and serves nothing else; the API's address
    // asks for one.
    let open = get(metrics_port, "/metrics");
    assert!(open.starts_with("HTTP/1.1 200"), "{open}");
    assert!(
        open.contains("# TYPE faultline_active_outages gauge"),
        "{open}"
    );
    assert!(get(metrics_port, "/api/v1/outages").starts_with("HTTP/1.1 404"));
    assert!(get(port, "/metrics").starts_with("HTTP/1.1 401"));
    let with_token = http(
        port,
        &format!("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nConnection: close\r\n\r\n"),
    );
    assert!(with_token.starts_with("HTTP/1.1 200"), "{with_token}");

    let log = stop(child);
    let mut messages = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line:?}"));
        assert!(v["timestamp"].is_string(), "{line}");
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
                .contains(&v["level"].as_str().unwrap_or("")),
            "{line}"
        );
        assert!(v["target"].is_string(), "{line}");
        messages.push(v);
    }
    // The fields stay fields: a shipper can filter on them.
    let listening = messages
        .iter()
        .find(|v| v["message"] == "listening")
        .unwrap_or_else(|| panic!("no 'listening' line in {log}"));
    assert_eq!(listening["addr"], format!("127.0.0.1:{port}"));
    assert!(messages.iter().any(|v| v["message"] == "metrics listening"));
    // The request log is there too, as JSON, without the query string.
    assert!(
        messages.iter().any(|v| v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("GET /metrics 401"))),
        "{log}"
    );
}

#[test]
fn text_logs_to_a_pipe_carry_no_colour_codes_and_a_bad_format_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = serve(&dir.path().join("log.db"), port, &[], &[]);
    wait_healthy(port, &mut child);
    let log = stop(child);
    assert!(log.contains("listening"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a piped log: {log:?}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["serve", "--network", "no-such-file.geojson"])
        .env("FAULTLINE_LOG_FORMAT", "yaml")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("FAULTLINE_LOG_FORMAT must be text or json, not \"yaml\""),
        "{err}"
    );
}
