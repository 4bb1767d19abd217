//! `GET /metrics`: the Prometheus text format (see [`crate::monitoring`]).
//!
//! On the API's own address it needs a token whose role reads everything (a
//! wallboard's, a dispatcher's or the admin's; a crew's is refused). An operator who
//! would rather not hand a token to the monitoring system gives `serve` a separate
//! `--metrics-bind ADDR` (a port only the monitoring network reaches): there `/metrics`
//! needs no token and nothing else is served.
//!
//! Counters and histograms are kept by the edges as things happen; the gauges of the
//! engine's state are read from it here, at scrape time, in one short hold of its lock
//! (the engine is pure and knows nothing of metrics).

use actix_web::dev::Server;
use actix_web::{web, HttpResponse, HttpServer};
use metrics::gauge;

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::engine::NoticeStatus;
use crate::live::Live;
use crate::monitoring::{self, gauge as g};
use crate::orders::OrderState;
use crate::store::Store;

/// The exposition format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Crew statuses besides the state of the order a crew is on.
const IDLE_CREW_STATUSES: [&str; 3] = ["available", "off_shift", "no_response"];

/// What a scrape reads besides the recorder: the engine and the log.
#[derive(Clone)]
pub(super) struct Sources {
    live: Live,
    store: Store,
}

/// `GET /metrics` on the API's address: a token that reads everything.
#[utoipa::path(get,
    path = "/metrics",
    tag = "operations",
    description = "Prometheus text format (0.0.4). Roles: wallboard, dispatcher, admin (a crew token gets 403); or without a token on --metrics-bind.",
    responses((status = 200, description = "The metrics", content_type = "text/plain"), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody), (status = 403, description = "This token's role may not do this; the message says why", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_metrics(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require_full_read("/metrics")?;
    let sources = Sources {
        live: state.live.clone(),
        store: state.store.clone(),
    };
    Ok(scrape(&sources).await)
}

/// `GET /metrics` on the metrics address: no token.
async fn get_metrics_open(sources: web::Data<Sources>) -> HttpResponse {
    scrape(&sources).await
}

/// The server on `--metrics-bind`: `/metrics` and nothing else.
pub fn build_metrics_server(
    listener: std::net::TcpListener,
    live: Live,
    store: Store,
) -> std::io::Result<Server> {
    monitoring::handle();
    let sources = web::Data::new(Sources { live, store });
    Ok(HttpServer::new(move || {
        actix_web::App::new()
            .app_data(sources.clone())
            .route("/metrics", web::get().to(get_metrics_open))
            .default_service(web::to(|| async {
                HttpResponse::NotFound()
                    .content_type("text/plain; charset=utf-8")
                    .body("this address serves only GET /metrics")
            }))
    })
    .workers(1)
    .shutdown_timeout(5)
    .listen(listener)?
    .run())
}

async fn scrape(sources: &Sources) -> HttpResponse {
    read_gauges(sources).await;
    let handle = monitoring::handle();
    handle.run_upkeep();
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header(("Cache-Control", "no-store"))
        .body(handle.render())
}

/// Set every gauge from the log and the engine as they stand now.
async fn read_gauges(sources: &Sources) {
    let Sources { live, store } = sources;
    let committed = *store.commits().borrow();
    let applied = live.applied();
    gauge!(g::LOG_COMMITTED_SEQ).set(committed as f64);
    gauge!(g::ENGINE_APPLIED_SEQ).set(applied as f64);
    gauge!(g::ENGINE_LAG_EVENTS).set((committed - applied).max(0) as f64);
    gauge!(g::LEADER).set(if *store.leadership().borrow() {
        1.0
    } else {
        0.0
    });

    let fingerprint = live.with_engine(|e| e.fingerprint().to_owned());
    match store.latest_snapshot_info(&fingerprint).await {
        Ok(Some((seq, taken_at))) => {
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&taken_at) {
                let age = chrono::Utc::now().signed_duration_since(t);
                gauge!(g::SNAPSHOT_AGE_SECONDS).set(age.num_milliseconds().max(0) as f64 / 1e3);
            }
            gauge!(g::SNAPSHOT_BEHIND_EVENTS).set((applied - seq).max(0) as f64);
        }
        Ok(None) => gauge!(g::SNAPSHOT_BEHIND_EVENTS).set(applied as f64),
        Err(e) => tracing::warn!(error = %e, "metrics: the snapshots cannot be read"),
    }

    let figures = live.with_engine(EngineFigures::read);
    gauge!(g::ACTIVE_OUTAGES).set(figures.active_outages as f64);
    gauge!(g::CUSTOMERS_OUT).set(figures.customers_out as f64);
    gauge!(g::CRITICAL_CUSTOMERS_OUT).set(figures.critical_out as f64);
    for (state, n) in figures.orders {
        gauge!(g::ORDERS, "state" => state).set(n as f64);
    }
    for (status, n) in figures.crews {
        gauge!(g::CREWS, "status" => status).set(n as f64);
    }
    for (status, n) in figures.notices {
        gauge!(g::NOTICES, "status" => status).set(n as f64);
    }
}

/// The engine's figures, counted while its lock is held (no metrics call inside).
struct EngineFigures {
    active_outages: u64,
    customers_out: u64,
    critical_out: u64,
    /// Every order state, zero included (a series that drops to zero says so).
    orders: Vec<(&'static str, u64)>,
    crews: Vec<(&'static str, u64)>,
    notices: Vec<(&'static str, u64)>,
}

impl EngineFigures {
    fn read(e: &crate::engine::Engine) -> Self {
        let (mut active_outages, mut customers_out, mut critical_out) = (0, 0, 0);
        for o in e.active_outages() {
            active_outages += 1;
            customers_out += o.customers_out;
            critical_out += u64::from(o.critical_customers_out);
        }
        let mut orders: Vec<(&'static str, u64)> =
            OrderState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        for o in e.dispatch().orders() {
            count(&mut orders, o.state().as_str());
        }
        let mut crews: Vec<(&'static str, u64)> = IDLE_CREW_STATUSES
            .iter()
            .copied()
            .chain(
                OrderState::ALL
                    .iter()
                    .filter(|s| s.holds_crew())
                    .map(|s| s.as_str()),
            )
            .map(|s| (s, 0))
            .collect();
        for c in e.dispatch().crews() {
            count(&mut crews, e.dispatch().crew_status(c));
        }
        let mut notices: Vec<(&'static str, u64)> = vec![
            ("scheduled", 0),
            ("active", 0),
            ("completed", 0),
            ("cancelled", 0),
        ];
        for n in e.planned().notices() {
            count(
                &mut notices,
                match n.status {
                    NoticeStatus::Scheduled => "scheduled",
                    NoticeStatus::Active => "active",
                    NoticeStatus::Completed => "completed",
                    NoticeStatus::Cancelled => "cancelled",
                },
            );
        }
        EngineFigures {
            active_outages,
            customers_out,
            critical_out,
            orders,
            crews,
            notices,
        }
    }
}

fn count(tally: &mut Vec<(&'static str, u64)>, key: &'static str) {
    match tally.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => tally.push((key, 1)),
    }
}
