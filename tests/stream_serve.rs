//! The stream inside `faultline serve` as a user runs it: a tokens file gives the
//! wallboard its role, and SIGTERM with a wallboard connected stops the server at
//! once, telling the wallboard where to resume.

mod common;

use common::free_port;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

#[actix_web::test]
async fn sigterm_closes_open_streams_with_where_to_resume_and_exits_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.jsonl");
    std::fs::write(
        &tokens,
        r#"{"token":"wallboard-token-0123","role":"wallboard"}"#,
    )
    .unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["serve", "--network"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/gis-data/ieee123.geojson"
        ))
        .arg("--db")
        .arg(common::db::test_db(dir.path()).await)
        .args(["--bind", &format!("127.0.0.1:{port}"), "--tokens"])
        .arg(&tokens)
        .env("FAULTLINE_ADMIN_TOKEN", "admin-token-0123456")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("ws://127.0.0.1:{port}/api/v1/stream?since=0&token=wallboard-token-0123");
    let deadline = Instant::now() + Duration::from_secs(30);
    let (_, mut socket) = loop {
        match awc::Client::default().ws(url.as_str()).connect().await {
            Ok(ok) => break ok,
            Err(e) => {
                assert!(Instant::now() < deadline, "the stream never opened: {e}");
                actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // The stream is live (nothing stored yet).
    let first = actix_web::rt::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        matches!(first, awc::ws::Frame::Text(ref t) if t.starts_with(br#"{"type":"stream.live""#))
    );

    let stopped = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let close = loop {
        let frame = actix_web::rt::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a close frame within 10 s")
            .expect("the socket is open until it closes")
            .unwrap();
        if let awc::ws::Frame::Close(reason) = frame {
            break reason.expect("a close reason");
        }
    };
    assert!(
        close
            .description
            .as_deref()
            .unwrap_or_default()
            .contains("reconnect with since=0"),
        "{close:?}"
    );
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(8),
            "an open websocket held the shutdown"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit}");
}
