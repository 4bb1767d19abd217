//! `GET /api/v1/stream`: the stored messages after `since`, then live, with no gap and
//! no duplicate, for every reader, however slow.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, CREW7_TOKEN, TOKEN, WALLBOARD_TOKEN};

/// How long a test waits for one websocket message.
const WAIT: Duration = Duration::from_secs(20);

type Socket = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

impl TestApp {
    /// Open the stream with a token in the query (as a browser does).
    pub async fn stream(&self, since: i64, token: &str) -> Socket {
        let url = format!(
            "{}/api/v1/stream?since={since}&token={token}",
            self.base.replace("http://", "ws://")
        );
        let (resp, socket) = awc::Client::builder()
            .max_http_version(awc::http::Version::HTTP_11)
            .finish()
            .ws(url)
            .max_frame_size(1 << 24)
            .connect()
            .await
            .expect("websocket connects");
        assert_eq!(resp.status().as_u16(), 101);
        socket
    }
}

/// The next text message as JSON (pings and pongs skipped); panics after [`WAIT`].
async fn next_message(socket: &mut Socket) -> Value {
    loop {
        let frame = actix_web::rt::time::timeout(WAIT, socket.next())
            .await
            .expect("a message within the wait")
            .expect("the stream is open")
            .expect("a valid frame");
        match frame {
            awc::ws::Frame::Text(bytes) => return serde_json::from_slice(&bytes).expect("JSON"),
            awc::ws::Frame::Close(reason) => panic!("closed: {reason:?}"),
            _ => continue,
        }
    }
}

/// Engine messages until `stream.live` (heartbeats skipped); the seq `stream.live` gave.
async fn until_live(socket: &mut Socket) -> (Vec<Value>, i64) {
    let mut out = Vec::new();
    loop {
        let m = next_message(socket).await;
        match m["type"].as_str() {
            Some("stream.live") => return (out, m["seq"].as_i64().unwrap()),
            Some("heartbeat") => continue,
            _ => out.push(m),
        }
    }
}

/// Engine messages until one with seq `last` (heartbeats and control messages skipped).
async fn until_seq(socket: &mut Socket, last: i64) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let m = next_message(socket).await;
        if m.get("data").is_none() {
            continue;
        }
        let seq = m["seq"].as_i64().unwrap();
        out.push(m);
        if seq >= last {
            return out;
        }
    }
}

fn seqs(messages: &[Value]) -> Vec<i64> {
    messages
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}

/// `n` crew events (one `crew.updated` message each), named from `first`, each padded
/// with about `pad_len` characters.
fn crews_ndjson(first: usize, n: usize, pad_len: usize) -> String {
    (first..first + n)
        .map(|i| {
            let mut crew = json!({"type":"crew","at":"2026-07-14T03:00:00Z","id":format!("CREW-{i}"),"skills":["line"],"lon":-43.9,"lat":-19.9});
            // Padded with skills of 200 characters (the longest a string may be).
            let mut skills = vec!["line".to_owned()];
            skills.extend(std::iter::repeat_n("x".repeat(200), pad_len / 200));
            crew["skills"] = json!(skills);
            crew.to_string() + "\n"
        })
        .collect()
}

/// Wait until the store holds `n` messages.
async fn stored_messages(app: &TestApp, n: i64) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let mut resp = app
            .client
            .get(format!(
                "{}/api/v1/messages?since={}&limit=1",
                app.base,
                n - 1
            ))
            .insert_header(("Authorization", format!("Bearer {TOKEN}")))
            .send()
            .await
            .unwrap();
        if !resp.body().await.unwrap().is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} messages never stored"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn resume_with_since_gives_exactly_the_missing_messages_then_live_ones() {
    let app = spawn_app().await;
    app.post("application/x-ndjson", crews_ndjson(1, 5, 0))
        .await;
    stored_messages(&app, 5).await;

    let mut all = app.stream(0, WALLBOARD_TOKEN).await;
    let (backlog, live_at) = until_live(&mut all).await;
    assert_eq!(seqs(&backlog), vec![1, 2, 3, 4, 5]);
    assert_eq!(live_at, 5);

    // A reader that had seen up to 3 gets 4 and 5, nothing before, nothing twice.
    let mut resumed = app.stream(3, WALLBOARD_TOKEN).await;
    let (backlog, _) = until_live(&mut resumed).await;
    assert_eq!(seqs(&backlog), vec![4, 5]);
    assert_eq!(backlog[0]["type"], "crew.updated");
    assert_eq!(backlog[0]["data"]["id"], "CREW-4");

    // Then live, on both.
    app.post("application/x-ndjson", crews_ndjson(6, 3, 0))
        .await;
    assert_eq!(seqs(&until_seq(&mut resumed, 8).await), vec![6, 7, 8]);
    assert_eq!(seqs(&until_seq(&mut all, 8).await), vec![6, 7, 8]);
}

#[actix_web::test]
async fn a_reader_that_connects_during_a_burst_misses_nothing_and_gets_nothing_twice() {
    let app = spawn_app().await;
    let total = 2000;
    // The burst is posted in batches while the reader connects and reads its backlog.
    let feeder = {
        let base = app.base.clone();
        actix_web::rt::spawn(async move {
            let client = awc::Client::default();
            for b in 0..20 {
                let resp = client
                    .post(format!("{base}/api/v1/events"))
                    .insert_header(("Authorization", format!("Bearer {TOKEN}")))
                    .insert_header(("Content-Type", "application/x-ndjson"))
                    .send_body(crews_ndjson(1 + b * 100, 100, 0))
                    .await
                    .unwrap();
                assert_eq!(resp.status().as_u16(), 202);
            }
        })
    };
    actix_web::rt::time::sleep(Duration::from_millis(30)).await;
    let mut socket = app.stream(0, WALLBOARD_TOKEN).await;
    let got = until_seq(&mut socket, total).await;
    feeder.await.unwrap();
    assert_eq!(seqs(&got), (1..=total).collect::<Vec<_>>());
}

/// A websocket reader with an 8 kB receive buffer, written by hand: the kernel holds
/// little for it, so when it stops reading the server's task for it blocks at once.
struct SmallBufferReader {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl SmallBufferReader {
    async fn connect(app: &TestApp, since: i64) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(addr).await.unwrap();
        let request = format!(
            "GET /api/v1/stream?since={since}&token={WALLBOARD_TOKEN} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let end = loop {
            let mut chunk = [0u8; 1024];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed during the handshake");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        assert!(
            buf.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&buf)
        );
        buf.drain(..end);
        SmallBufferReader { stream, buf }
    }

    /// The next text frame as JSON (the server's frames are not masked).
    async fn next(&mut self) -> Value {
        use tokio::io::AsyncReadExt;
        loop {
            if self.buf.len() >= 2 {
                let opcode = self.buf[0] & 0x0f;
                let (len, header) = match self.buf[1] & 0x7f {
                    126 if self.buf.len() >= 4 => {
                        (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                    }
                    127 if self.buf.len() >= 10 => (
                        u64::from_be_bytes(self.buf[2..10].try_into().unwrap()) as usize,
                        10,
                    ),
                    126 | 127 => (usize::MAX, 0),
                    n => (n as usize, 2),
                };
                if len != usize::MAX && self.buf.len() >= header + len {
                    let payload: Vec<u8> = self.buf.drain(..header + len).skip(header).collect();
                    assert_ne!(opcode, 8, "closed: {}", String::from_utf8_lossy(&payload));
                    if opcode == 1 {
                        return serde_json::from_slice(&payload).unwrap();
                    }
                    continue;
                }
            }
            let mut chunk = vec![0u8; 64 * 1024];
            let n = actix_web::rt::time::timeout(WAIT, self.stream.read(&mut chunk))
                .await
                .expect("a frame within the wait")
                .unwrap();
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

#[actix_web::test]
async fn a_reader_that_stops_reading_is_caught_up_from_the_store_without_a_gap() {
    let app = spawn_app().await;
    let mut slow = SmallBufferReader::connect(&app, 0).await;
    assert_eq!(slow.next().await["type"], "stream.live");
    // 20,000 messages of ~1 kB while the reader reads nothing: far more than the
    // socket buffers (a few MB) and the hub's ring (8,192 messages) hold, so the
    // server's task for this reader falls behind the hub.
    let total = 20_000;
    for b in 0..4 {
        let (status, _) = app
            .post(
                "application/x-ndjson",
                crews_ndjson(1 + b * 5000, 5000, 1000),
            )
            .await;
        assert_eq!(status, 202);
    }
    stored_messages(&app, total).await;
    // Meanwhile a fresh reader is served at once: the slow one holds nobody up.
    let mut fresh = app.stream(total - 1, WALLBOARD_TOKEN).await;
    let (backlog, _) = until_live(&mut fresh).await;
    assert_eq!(seqs(&backlog), vec![total]);
    // The slow reader now reads: every message, in order, once.
    let mut next = 1;
    while next <= total {
        let m = slow.next().await;
        if m.get("data").is_none() {
            continue;
        }
        assert_eq!(m["seq"], next, "no gap, no duplicate");
        next += 1;
    }
}

#[actix_web::test]
async fn a_since_beyond_the_log_resets_the_reader_and_starts_from_the_first_message() {
    let app = spawn_app().await;
    app.post("application/x-ndjson", crews_ndjson(1, 2, 0))
        .await;
    stored_messages(&app, 2).await;
    let mut socket = app.stream(500, WALLBOARD_TOKEN).await;
    let reset = next_message(&mut socket).await;
    assert_eq!(reset["type"], "stream.reset");
    assert_eq!(reset["seq"], 2);
    let (backlog, _) = until_live(&mut socket).await;
    assert_eq!(seqs(&backlog), vec![1, 2]);
}

#[actix_web::test]
async fn a_crew_token_streams_only_messages_about_its_crew() {
    let app = spawn_app().await;
    let at = "2026-07-14T03:00:00Z";
    app.post_json(json!([
        {"type":"crew","at":at,"id":"CREW-3","skills":["line"],"lon":116.37,"lat":39.89},
        {"type":"crew","at":at,"id":"CREW-7","skills":["line"],"lon":116.37,"lat":39.89},
        {"type":"scada","at":at,"device":"line.sw1","state":"open"}
    ]))
    .await;
    app.wait_for("/api/v1/orders", |v| v[0]["id"] == "WO-1")
        .await;
    app.post_json(json!({"type":"dispatch","at":at,"order":"WO-1","crew":"CREW-7"}))
        .await;
    app.wait_for("/api/v1/orders", |v| v[0]["crew"] == "CREW-7")
        .await;
    app.wait_for_message(|m| m["type"] == "order.updated" && m["data"]["crew"] == "CREW-7")
        .await;
    let all = app.get_json("/api/v1/crews").await;
    assert_eq!(all.as_array().unwrap().len(), 2);

    let mut socket = app.stream(0, CREW7_TOKEN).await;
    let (backlog, _) = until_live(&mut socket).await;
    assert!(!backlog.is_empty());
    for m in &backlog {
        let d = &m["data"];
        let about_crew7 = d["id"] == "CREW-7" || d["crew"] == "CREW-7" || d["id"] == "WO-1";
        assert!(about_crew7, "a crew saw a message about others: {m}");
    }
    assert!(backlog.iter().any(
        |m| m["type"].as_str().unwrap().starts_with("order.") && m["data"]["crew"] == "CREW-7"
    ));
    assert!(backlog.iter().any(|m| m["type"] == "crew.updated"));
}

#[actix_web::test]
async fn the_stream_needs_a_valid_token() {
    let app = spawn_app().await;
    let url = format!(
        "{}/api/v1/stream?since=0&token=nope",
        app.base.replace("http://", "ws://")
    );
    match awc::Client::default().ws(url).connect().await {
        Ok(_) => panic!("a stream opened with a wrong token"),
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => {
            assert_eq!(status.as_u16(), 401)
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}
