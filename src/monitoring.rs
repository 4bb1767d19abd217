//! What a monitoring system scrapes: the Prometheus metrics' names, their help texts,
//! and the process-wide recorder behind `GET /metrics`.
//!
//! # Shape
//! The edges (`api`, `store`, `live`, the stream) count and time what they do through
//! the `metrics` facade: a counter or histogram update is an atomic add, no lock and no
//! allocation once a series exists. One [`PrometheusHandle`] — a recorder installed
//! once per process, the first time a server is built — holds the values and renders
//! the text format when scraped. The engine is pure (no clock, no I/O) and is never
//! instrumented: the gauges of its state (outages, customers out, orders, crews) are
//! read from it at scrape time (`api::metrics`).
//!
//! Names follow Prometheus conventions: `faultline_` first, counters end in `_total`,
//! durations are in seconds (`_seconds`), sizes are plain numbers.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Events stored, by `type` (a repeated report is not counted again).
pub const EVENTS_ACCEPTED: &str = "faultline_events_accepted_total";
/// Requests to `POST /api/v1/events` refused whole, by `reason`.
pub const EVENTS_REFUSED: &str = "faultline_events_refused_total";
/// Reports sent again under an id already stored (one report, not two).
pub const REPORTS_REPEATED: &str = "faultline_reports_repeated_total";
/// From a `POST /api/v1/events` request's arrival to its 202 (durable), seconds.
pub const EVENT_ACK_SECONDS: &str = "faultline_event_ack_seconds";
/// Events per group commit (one transaction, one fsync).
pub const GROUP_COMMIT_EVENTS: &str = "faultline_group_commit_events";
/// Requests per group commit.
pub const GROUP_COMMIT_REQUESTS: &str = "faultline_group_commit_requests";
/// How long one group commit took, seconds.
pub const GROUP_COMMIT_SECONDS: &str = "faultline_group_commit_seconds";
/// Group commits that failed (nothing of them was stored).
pub const GROUP_COMMITS_FAILED: &str = "faultline_group_commits_failed_total";
/// Events the engine has applied (on every instance, its own replica's count).
pub const ENGINE_EVENTS_APPLIED: &str = "faultline_engine_events_applied_total";
/// How long the engine took to apply one batch of events read from the log, seconds.
pub const ENGINE_APPLY_SECONDS: &str = "faultline_engine_apply_seconds";
/// Stream websockets open now.
pub const STREAM_READERS: &str = "faultline_stream_readers";
/// Stream websockets closed by the server because the reader could not keep up, by
/// `reason`.
pub const STREAM_DROPPED: &str = "faultline_stream_dropped_total";
/// Times a stream reader fell behind the live messages and was caught up from the log.
pub const STREAM_CAUGHT_UP: &str = "faultline_stream_caught_up_total";
/// Requests to the public pages' JSON refused by the rate limit.
pub const PUBLIC_RATE_LIMITED: &str = "faultline_public_rate_limited_total";

/// Gauges read at scrape time.
pub mod gauge {
    /// The last seq committed to the log.
    pub const LOG_COMMITTED_SEQ: &str = "faultline_log_committed_seq";
    /// The last seq the engine has applied.
    pub const ENGINE_APPLIED_SEQ: &str = "faultline_engine_applied_seq";
    /// Committed events the engine has not applied yet.
    pub const ENGINE_LAG_EVENTS: &str = "faultline_engine_lag_events";
    /// Seconds since the newest engine snapshot was kept (absent when there is none).
    pub const SNAPSHOT_AGE_SECONDS: &str = "faultline_snapshot_age_seconds";
    /// Events applied since the newest snapshot.
    pub const SNAPSHOT_BEHIND_EVENTS: &str = "faultline_snapshot_behind_events";
    /// 1 while this instance leads (appends the ticks).
    pub const LEADER: &str = "faultline_leader";
    /// Outages active now (predicted or confirmed).
    pub const ACTIVE_OUTAGES: &str = "faultline_active_outages";
    /// Customers out in the active outages.
    pub const CUSTOMERS_OUT: &str = "faultline_customers_out";
    /// Critical customers out in the active outages.
    pub const CRITICAL_CUSTOMERS_OUT: &str = "faultline_critical_customers_out";
    /// Work orders by `state`.
    pub const ORDERS: &str = "faultline_orders";
    /// Crews by `status`.
    pub const CREWS: &str = "faultline_crews";
    /// Planned-outage notices by `status`.
    pub const NOTICES: &str = "faultline_notices";
}

/// Buckets for durations that are usually milliseconds (acknowledgement, commit, apply).
const SECONDS_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Buckets for counts per group commit.
const SIZE_BUCKETS: [f64; 13] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0, 10000.0, 50000.0,
];
/// How often recorded histogram samples are folded into their buckets when nobody
/// scrapes (so memory stays flat between scrapes).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed (with its help texts and histogram buckets) on the
/// first call. Where another recorder was installed first (a library user's own), the
/// scrape renders an empty document and says so in the log.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let mut builder = PrometheusBuilder::new();
        for (name, buckets) in [
            (EVENT_ACK_SECONDS, &SECONDS_BUCKETS[..]),
            (GROUP_COMMIT_SECONDS, &SECONDS_BUCKETS[..]),
            (ENGINE_APPLY_SECONDS, &SECONDS_BUCKETS[..]),
            (GROUP_COMMIT_EVENTS, &SIZE_BUCKETS[..]),
            (GROUP_COMMIT_REQUESTS, &SIZE_BUCKETS[..]),
        ] {
            builder = builder
                .set_buckets_for_metric(Matcher::Full(name.into()), buckets)
                // unwrap: the bucket lists are constant and non-empty.
                .expect("constant, non-empty buckets");
        }
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics stays empty");
        }
        describe();
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no metrics upkeep thread: histograms fold at scrape time only");
        }
        handle
    })
}

/// The help texts (`# HELP` lines).
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(EVENTS_ACCEPTED, "Events stored in the log, by type.");
    describe_counter!(
        EVENTS_REFUSED,
        "POST /api/v1/events requests refused whole (nothing stored), by reason."
    );
    describe_counter!(
        REPORTS_REPEATED,
        "Reports sent again under a stored id: one report, not counted again."
    );
    describe_histogram!(
        EVENT_ACK_SECONDS,
        "Seconds from a POST /api/v1/events request to its 202, after the events are durable."
    );
    describe_histogram!(
        GROUP_COMMIT_EVENTS,
        "Events per group commit (one transaction, one fsync)."
    );
    describe_histogram!(GROUP_COMMIT_REQUESTS, "Requests per group commit.");
    describe_histogram!(GROUP_COMMIT_SECONDS, "Seconds one group commit took.");
    describe_counter!(
        GROUP_COMMITS_FAILED,
        "Group commits that failed; nothing of them was stored."
    );
    describe_counter!(ENGINE_EVENTS_APPLIED, "Events the engine has applied.");
    describe_histogram!(
        ENGINE_APPLY_SECONDS,
        "Seconds the engine took to apply one batch of events from the log."
    );
    describe_gauge!(STREAM_READERS, "Stream websockets open now.");
    describe_counter!(
        STREAM_DROPPED,
        "Stream websockets closed because the reader could not keep up, by reason."
    );
    describe_counter!(
        STREAM_CAUGHT_UP,
        "Times a stream reader fell behind the live messages and was caught up from the log."
    );
    describe_counter!(
        PUBLIC_RATE_LIMITED,
        "Public requests refused by the per-address rate limit."
    );
    describe_gauge!(
        gauge::LOG_COMMITTED_SEQ,
        "The last seq committed to the log."
    );
    describe_gauge!(
        gauge::ENGINE_APPLIED_SEQ,
        "The last seq the engine has applied."
    );
    describe_gauge!(
        gauge::ENGINE_LAG_EVENTS,
        "Events committed to the log that the engine has not applied yet."
    );
    describe_gauge!(
        gauge::SNAPSHOT_AGE_SECONDS,
        "Seconds since the newest engine snapshot was kept."
    );
    describe_gauge!(
        gauge::SNAPSHOT_BEHIND_EVENTS,
        "Events applied since the newest engine snapshot (replayed at a restart)."
    );
    describe_gauge!(
        gauge::LEADER,
        "1 while this instance leads (appends the ticks), else 0."
    );
    describe_gauge!(gauge::ACTIVE_OUTAGES, "Outages active now.");
    describe_gauge!(gauge::CUSTOMERS_OUT, "Customers out in the active outages.");
    describe_gauge!(
        gauge::CRITICAL_CUSTOMERS_OUT,
        "Critical customers out in the active outages."
    );
    describe_gauge!(gauge::ORDERS, "Work orders by state.");
    describe_gauge!(gauge::CREWS, "Crews by status.");
    describe_gauge!(gauge::NOTICES, "Planned-outage notices by status.");
}
