//! `faultline bench instances --db postgres://…`: two `faultline serve` on one
//! PostgreSQL log, and how long an event posted at one takes to show on the other's
//! stream.
//!
//! # What is measured
//! Instances A and B (this executable, child processes, one fresh schema) each have a
//! websocket reader. One event at a time, the benchmark posts a `crew` update (a new
//! name each time, so the engine always answers with a `crew.updated`) to A and waits
//! until both streams have delivered that message. For every event it records:
//! - **A → A**: from sending the POST to the message on A's own stream — the
//!   baseline from the same run: one instance's commit, engine and stream;
//! - **A → B**: from sending the POST to the message on B's stream — the same plus
//!   NOTIFY, B's read of the log and B's own engine;
//! - the acknowledgement of the POST.
//!
//! Then it checks that both streams carried the same messages, in the same order.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use clap::Args;
use futures_util::{SinkExt, StreamExt};

use super::loadgen::Latencies;
use super::scratch::ScratchDir;
use super::server::{PgScratch, ServerChild, ServerSetup};

/// `faultline bench instances`.
#[derive(Debug, Clone, Args)]
pub struct InstancesArgs {
    /// The PostgreSQL database (a fresh schema is made in it and dropped afterwards).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub db: String,
    /// Events posted, one at a time.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=1_000_000))]
    pub events: u64,
    /// The network both instances load.
    #[arg(long, default_value = "gis-data/ieee123.geojson")]
    pub network: std::path::PathBuf,
}

type Socket = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

/// `faultline bench instances`.
pub fn run(args: &InstancesArgs) -> anyhow::Result<()> {
    println!("{}", super::machine_line());
    let scratch = ScratchDir::new("instances")?;
    let pg = PgScratch::new(&args.db)?;
    let start = |name: &str| -> anyhow::Result<ServerChild> {
        let dir = scratch.path().join(name);
        std::fs::create_dir_all(&dir)?;
        ServerChild::start(
            &ServerSetup {
                network: &args.network,
                dir: &dir,
                db: Some(&pg.url),
                workers: Some(1),
                log_filter: "warn",
            },
            Duration::from_secs(60),
        )
    };
    let a = start("a")?;
    let b = start("b")?;
    println!(
        "bench instances: two servers on PostgreSQL {} (a fresh schema), network {}, {} events one at a time",
        crate::store::redacted(&args.db),
        args.network.display(),
        args.events
    );
    let figures = actix_web::rt::System::new().block_on(measure(&a, &b, args.events))?;
    let (ack, local, remote) = figures;
    println!(
        "  latency over {} events     p50 ms   p90 ms   p99 ms   max ms",
        args.events
    );
    for (name, l) in [
        ("POST at A acknowledged", &ack),
        ("A → A's stream (baseline)", &local),
        ("A → B's stream", &remote),
    ] {
        println!(
            "  {name:<26} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            ms(l.percentile(50.0)),
            ms(l.percentile(90.0)),
            ms(l.percentile(99.0)),
            ms(l.max()),
        );
    }
    println!(
        "  ratio A → B / A → A: p50 {:.2}, p99 {:.2}",
        ms(remote.percentile(50.0)) / ms(local.percentile(50.0)).max(1e-3),
        ms(remote.percentile(99.0)) / ms(local.percentile(99.0)).max(1e-3)
    );
    a.stop()?;
    b.stop()?;
    Ok(())
}

fn ms(d: Option<Duration>) -> f64 {
    d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

async fn connect(server: &ServerChild) -> anyhow::Result<Socket> {
    let url = format!(
        "{}/api/v1/stream?since=0&token={}",
        server.base.replace("http://", "ws://"),
        server.token
    );
    let (_, socket) = awc::Client::new()
        .ws(url.as_str())
        .max_frame_size(16 * 1024 * 1024)
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("opening {url}: {e}"))?;
    Ok(socket)
}

/// Read `socket` until the `crew.updated` naming `name`; the messages on the way
/// (their seq and type) go to `seen`.
async fn until_named(
    socket: &mut Socket,
    name: &str,
    seen: &mut Vec<(i64, String)>,
) -> anyhow::Result<Instant> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .context("no message in 10 s")?
            .context("the stream closed")??;
        let awc::ws::Frame::Text(text) = frame else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_slice(&text)?;
        match v["type"].as_str() {
            Some("heartbeat") => {
                socket.send(awc::ws::Message::Ping("".into())).await?;
                continue;
            }
            Some(t) if t.starts_with("stream.") => continue,
            Some(t) => seen.push((v["seq"].as_i64().unwrap_or(-1), t.to_owned())),
            None => bail!("a message without a type: {v}"),
        }
        if v["type"] == "crew.updated" && v["data"]["name"] == name {
            return Ok(Instant::now());
        }
    }
}

async fn measure(
    a: &ServerChild,
    b: &ServerChild,
    events: u64,
) -> anyhow::Result<(Latencies, Latencies, Latencies)> {
    let mut at_a = connect(a).await?;
    let mut at_b = connect(b).await?;
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    let (mut ack, mut local, mut remote) = (
        Latencies::default(),
        Latencies::default(),
        Latencies::default(),
    );
    let (mut seen_a, mut seen_b) = (Vec::new(), Vec::new());
    let micros = |d: Duration| u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
    for i in 0..events {
        let name = format!("bench-{i}");
        let body = format!(
            r#"{{"type":"crew","at":"{}","id":"CREW-BENCH","name":"{name}","skills":["line"],"on_shift":false}}"#,
            crate::events::format_time(chrono::Utc::now())
        );
        let sent = Instant::now();
        let mut resp = client
            .post(format!("{}/api/v1/events", a.base))
            .bearer_auth(&a.token)
            .content_type("application/json")
            .send_body(body)
            .await
            .map_err(|e| anyhow::anyhow!("posting at A: {e}"))?;
        ensure!(
            resp.status() == 202,
            "A refused the event: {}",
            String::from_utf8_lossy(&resp.body().await.unwrap_or_default())
        );
        ack.0.push(micros(sent.elapsed()));
        let (here, there) = futures_util::future::join(
            until_named(&mut at_a, &name, &mut seen_a),
            until_named(&mut at_b, &name, &mut seen_b),
        )
        .await;
        local.0.push(micros(here? - sent));
        remote.0.push(micros(there? - sent));
    }
    ensure!(
        seen_a == seen_b,
        "the two instances' streams differ ({} and {} messages)",
        seen_a.len(),
        seen_b.len()
    );
    println!(
        "  verified: both streams carried the same {} messages in the same order",
        seen_a.len()
    );
    ack.sort();
    local.sort();
    remote.sort();
    Ok((ack, local, remote))
}
