//! The load generator of `bench ingest`: a fixed number of connections kept busy over
//! loopback, each sending its next request as soon as the previous one is answered (a
//! closed loop), until a deadline; the latency of every answer is recorded.
//!
//! # Why a closed loop
//! The question is how much the server acknowledges per second with N requests in
//! flight, and how long each acknowledgement takes; a closed loop answers both (and
//! by Little's law, mean latency ≈ connections ÷ throughput, which the report checks).
//! It never overloads the server, so it measures capacity, not queueing collapse.
//!
//! # Threads
//! Each load thread runs its own actix `System` with its own `awc` client (an `awc`
//! client is single-threaded) and its share of the connections. Report ids come from
//! one shared counter, so every event of a run is unique across threads and phases:
//! the store stores each once, and the final count must equal what was acknowledged.
//!
//! Bounds: every phase ends at its deadline; a connection also stops after
//! [`MAX_REQUESTS_PER_CONNECTION`] requests or [`MAX_FAILURES_PER_CONNECTION`]
//! failures, and each request times out after [`REQUEST_TIMEOUT`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

/// A request's answer must come within this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection stops after this many requests, whatever the deadline.
pub const MAX_REQUESTS_PER_CONNECTION: u64 = 10_000_000;
/// A connection stops after this many failed requests (the server is gone).
pub const MAX_FAILURES_PER_CONNECTION: u64 = 100;

/// The event time every generated report carries: the server does not care, and a
/// fixed text keeps the client's cost per event small and constant.
const EVENT_TIME: &str = "2026-07-14T03:12:09Z";

/// Every report id the load generator makes starts with this.
pub const REPORT_ID_PREFIX: &str = "BENCH-";

/// One generated report, as one line of JSON: id `BENCH-<n>`, on a customer of the
/// network chosen round-robin.
pub fn report_json(n: u64, customers: &[String]) -> String {
    let customer = &customers[(n % customers.len().max(1) as u64) as usize];
    format!(
        r#"{{"type":"report","at":"{EVENT_TIME}","id":"{REPORT_ID_PREFIX}{n}","customer":"{customer}","source":"call","problem":"no_power"}}"#
    )
}

/// An NDJSON body of `count` reports numbered from `first`.
pub fn ndjson_body(first: u64, count: usize, customers: &[String]) -> String {
    let mut body = String::with_capacity(count * 140);
    for n in first..first + count as u64 {
        body.push_str(&report_json(n, customers));
        body.push('\n');
    }
    body
}

/// What every request is.
#[derive(Debug, Clone, Copy)]
pub enum Workload {
    /// `GET path`, answered with status `expect`.
    Get {
        /// The path.
        path: &'static str,
        /// The status that counts as success.
        expect: u16,
    },
    /// `POST /api/v1/events` of this many reports as `application/x-ndjson`.
    Batches(usize),
    /// `POST /api/v1/events` of one report as `application/json`.
    Single,
}

/// Where the load goes and what the events name. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `Authorization: Bearer …` value.
    pub bearer: String,
    /// Customer ids of the server's network, for the reports.
    pub customers: Arc<Vec<String>>,
    /// The next report number; shared by every thread and phase of a run.
    pub next_id: Arc<AtomicU64>,
}

/// What one phase did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Requests answered as expected.
    pub ok_requests: u64,
    /// Events the server acknowledged (the sum of `accepted`).
    pub events_acked: u64,
    /// Requests that failed (status, transport, or a duplicate reported).
    pub failures: u64,
    /// The first failure, to print.
    pub first_failure: Option<String>,
    /// Latency of every successful request.
    pub latencies: Latencies,
    /// From the first request to the last answer.
    pub elapsed: Duration,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.ok_requests += other.ok_requests;
        self.events_acked += other.events_acked;
        self.failures += other.failures;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
        self.latencies.0.extend(other.latencies.0);
    }

    fn failed(&mut self, why: String) {
        self.failures += 1;
        self.first_failure.get_or_insert(why);
    }

    /// Successful requests per second.
    pub fn requests_per_s(&self) -> f64 {
        self.ok_requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Acknowledged events per second.
    pub fn events_per_s(&self) -> f64 {
        self.events_acked as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Request latencies in microseconds; sorted by [`Latencies::sort`].
#[derive(Debug, Default, Clone)]
pub struct Latencies(pub Vec<u32>);

impl Latencies {
    /// Sort, so percentiles can be read.
    pub fn sort(&mut self) {
        self.0.sort_unstable();
    }

    /// The nearest-rank percentile `p` (0–100) of sorted latencies.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        if self.0.is_empty() {
            return None;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil().max(1.0) as usize;
        let i = rank.min(self.0.len()) - 1;
        Some(Duration::from_micros(u64::from(self.0[i])))
    }

    /// The largest latency.
    pub fn max(&self) -> Option<Duration> {
        self.0
            .iter()
            .max()
            .map(|&us| Duration::from_micros(u64::from(us)))
    }

    /// The mean latency.
    pub fn mean(&self) -> Option<Duration> {
        if self.0.is_empty() {
            return None;
        }
        let sum: u64 = self.0.iter().map(|&us| u64::from(us)).sum();
        Some(Duration::from_micros(sum / self.0.len() as u64))
    }
}

/// Run `workload` over `connections` connections spread on `threads` load threads
/// for `duration`; returns once every connection has had its last answer.
pub fn drive(
    target: &Target,
    workload: Workload,
    connections: usize,
    threads: usize,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let threads = threads.clamp(1, connections.max(1));
    let started = Instant::now();
    let deadline = started + duration;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            // Spread the connections: the first `connections % threads` get one more.
            let mine = connections / threads + usize::from(t < connections % threads);
            let target = target.clone();
            std::thread::Builder::new()
                .name(format!("bench-load-{t}"))
                .spawn(move || {
                    actix_web::rt::System::new()
                        .block_on(drive_thread(target, workload, mine, deadline))
                })
                .context("starting a load thread")
        })
        .collect::<anyhow::Result<_>>()?;
    let mut outcome = Outcome::default();
    for handle in handles {
        match handle.join() {
            Ok(part) => outcome.merge(part),
            Err(_) => outcome.failed("a load thread panicked".into()),
        }
    }
    outcome.elapsed = started.elapsed();
    outcome.latencies.sort();
    Ok(outcome)
}

async fn drive_thread(
    target: Target,
    workload: Workload,
    connections: usize,
    deadline: Instant,
) -> Outcome {
    let client = awc::Client::builder()
        .connector(awc::Connector::new().limit(connections.max(1)))
        .timeout(REQUEST_TIMEOUT)
        .finish();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            actix_web::rt::spawn(connection_loop(
                client.clone(),
                target.clone(),
                workload,
                deadline,
            ))
        })
        .collect();
    let mut outcome = Outcome::default();
    for task in tasks {
        match task.await {
            Ok(part) => outcome.merge(part),
            Err(e) => outcome.failed(format!("a connection task failed: {e}")),
        }
    }
    outcome
}

/// One connection: request, wait for the answer, repeat until the deadline.
async fn connection_loop(
    client: awc::Client,
    target: Target,
    workload: Workload,
    deadline: Instant,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut sent = 0u64;
    while Instant::now() < deadline
        && sent < MAX_REQUESTS_PER_CONNECTION
        && outcome.failures < MAX_FAILURES_PER_CONNECTION
    {
        sent += 1;
        match send_one(&client, &target, workload).await {
            Ok((latency, acked)) => {
                outcome.ok_requests += 1;
                outcome.events_acked += acked;
                outcome
                    .latencies
                    .0
                    .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
            }
            Err(why) => {
                outcome.failed(why);
                // Do not spin on a server that refuses connections.
                actix_web::rt::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    outcome
}

/// The body of a 202 from `POST /api/v1/events`.
#[derive(serde::Deserialize)]
struct Ack {
    accepted: u64,
    duplicates: u64,
}

/// Send one request; its latency (send to whole answer read) and the events it acked.
async fn send_one(
    client: &awc::Client,
    target: &Target,
    workload: Workload,
) -> Result<(Duration, u64), String> {
    let url = match workload {
        Workload::Get { path, .. } => format!("{}{path}", target.base),
        Workload::Batches(_) | Workload::Single => format!("{}/api/v1/events", target.base),
    };
    let (expect, sending, events) = match workload {
        Workload::Get { expect, .. } => (expect, client.get(url).send(), 0),
        Workload::Batches(size) => {
            let first = target.next_id.fetch_add(size as u64, Ordering::Relaxed);
            let body = ndjson_body(first, size, &target.customers);
            let request = client
                .post(url)
                .insert_header(("Authorization", target.bearer.as_str()))
                .insert_header(("Content-Type", "application/x-ndjson"));
            (202, request.send_body(body), size as u64)
        }
        Workload::Single => {
            let n = target.next_id.fetch_add(1, Ordering::Relaxed);
            let body = report_json(n, &target.customers);
            let request = client
                .post(url)
                .insert_header(("Authorization", target.bearer.as_str()))
                .insert_header(("Content-Type", "application/json"));
            (202, request.send_body(body), 1)
        }
    };
    let started = Instant::now();
    let mut response = sending.await.map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .body()
        .limit(1 << 20)
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    let latency = started.elapsed();
    if status != expect {
        return Err(format!(
            "status {status} (expected {expect}): {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    if events == 0 {
        return Ok((latency, 0));
    }
    let ack: Ack =
        serde_json::from_slice(&body).map_err(|e| format!("unreadable acknowledgement: {e}"))?;
    if ack.duplicates != 0 || ack.accepted != events {
        return Err(format!(
            "sent {events} new reports, the server accepted {} with {} duplicates",
            ack.accepted, ack.duplicates
        ));
    }
    Ok((latency, ack.accepted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut l = Latencies((1..=100).rev().collect());
        l.sort();
        assert_eq!(l.percentile(50.0), Some(Duration::from_micros(50)));
        assert_eq!(l.percentile(99.0), Some(Duration::from_micros(99)));
        assert_eq!(l.percentile(100.0), Some(Duration::from_micros(100)));
        assert_eq!(l.max(), Some(Duration::from_micros(100)));
        assert_eq!(Latencies::default().percentile(99.0), None);
    }

    #[test]
    fn generated_reports_are_valid_events_with_unique_ids() {
        let customers = vec!["C-1".to_owned(), "C-2".to_owned()];
        let body = ndjson_body(7, 3, &customers);
        let events = crate::events::parse_ndjson(&body).expect("valid NDJSON");
        let ids: Vec<_> = events.iter().filter_map(|e| e.report_id()).collect();
        assert_eq!(ids, ["BENCH-7", "BENCH-8", "BENCH-9"]);
    }
}
