//! What the public sees, with no token: the page `/public`, the feed
//! `GET /public/v1/outages.json` for outage aggregators and the page, and the lookup
//! `GET /public/v1/status?account=…`.
//!
//! # Nothing personal
//! No customer id, name, account, address or exact service point leaves here, and no
//! device id either (a single-customer outage is named by its service point). Outages
//! are published as **areas**: the dark service points are binned into cells of a
//! coarse grid ([`CELL_DEG`], about a kilometre), and each cell says how many customers
//! are out in it, since when and when power is expected back; customers are also
//! counted by district (the feeder). Any count below [`MIN_SHOWN`] is published as
//! "fewer than 5" (`customers_out: null`, `fewer_than_5: true`), never as the number.
//! The lookup by account answers only whether the account is in a known outage or
//! planned work, since when and when power is expected back.
//!
//! # A storm of visitors does not load the engine
//! The feed is computed from the engine at most once every
//! [`PublicOptions::refresh`] (5 s by default) and every request in between gets the
//! same bytes; it says `Cache-Control: public, max-age=30`, so browsers and any cache
//! in front share it too. Each client address may make [`PublicOptions::per_second`]
//! requests a second (with a burst) to the feed and the lookup together; more get 429
//! with `Retry-After`. Behind a reverse proxy every visitor has the proxy's address:
//! limit there and raise or turn off (`--public-rate 0`) the limit here.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::{http::header, web, web::Bytes, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::engine::{Engine, NoticeStatus};
use crate::events::format_time;
use crate::network::{CustomerIdx, Network};

/// The grid the public areas are drawn on, in degrees (0.01° of latitude is 1.1 km).
pub const CELL_DEG: f64 = 0.01;
/// Counts below this are published as "fewer than 5".
pub const MIN_SHOWN: u64 = 5;
/// What a browser or a cache in front may keep the feed for, seconds.
const MAX_AGE_S: u32 = 30;

/// How the public feed is served.
#[derive(Debug, Clone, Copy)]
pub struct PublicOptions {
    /// The feed is computed from the engine at most this often.
    pub refresh: Duration,
    /// Requests a second one client address may make (0: no limit).
    pub per_second: u32,
    /// Requests it may make at once after a quiet spell.
    pub burst: u32,
}

impl Default for PublicOptions {
    fn default() -> Self {
        Self {
            refresh: Duration::from_secs(5),
            per_second: 5,
            burst: 20,
        }
    }
}

type Limiter = governor::DefaultKeyedRateLimiter<IpAddr>;

/// The feed's cache, the rate limit, and the network's own cells (computed once).
pub struct PublicService {
    options: PublicOptions,
    /// The feed and when it was computed. A std mutex, held only to look or to swap
    /// (never while computing, never across an `.await`).
    feed: Mutex<Option<(Instant, Bytes)>>,
    /// A request is computing the next feed: the others serve the last one meanwhile
    /// (at the very start, with none yet, two may compute at once; harmless).
    computing: AtomicBool,
    limiter: Option<Limiter>,
    /// The cells that hold any customer: the service territory's outline.
    territory: OnceLock<Vec<[f64; 2]>>,
}

impl PublicService {
    /// A service with these options.
    pub fn new(options: PublicOptions) -> Self {
        let limiter = NonZeroU32::new(options.per_second).map(|rate| {
            let burst = NonZeroU32::new(options.burst.max(options.per_second)).unwrap_or(rate);
            Limiter::keyed(governor::Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            options,
            feed: Mutex::new(None),
            computing: AtomicBool::new(false),
            limiter,
            territory: OnceLock::new(),
        }
    }

    /// The answer to a client address over its rate (`None`: go ahead).
    fn refusal(&self, req: &HttpRequest) -> Option<HttpResponse> {
        let (Some(limiter), Some(addr)) = (&self.limiter, req.peer_addr()) else {
            return None;
        };
        match limiter.check_key(&addr.ip()) {
            Ok(()) => None,
            Err(_) => {
                metrics::counter!(crate::monitoring::PUBLIC_RATE_LIMITED).increment(1);
                Some(HttpResponse::TooManyRequests()
                    .insert_header((header::RETRY_AFTER, "2"))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .json(serde_json::json!({
                        "error": "too many requests from this address: try again in a few seconds"
                    })))
            }
        }
    }

    /// The feed, computed again only when the cached one is older than `refresh`.
    fn feed(&self, state: &AppState) -> Bytes {
        {
            let cached = self.feed.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, body)) = cached.as_ref() {
                // Fresh; or stale while another request computes the next one: nobody
                // waits for it.
                if at.elapsed() < self.options.refresh || self.computing.load(Ordering::Acquire) {
                    return body.clone();
                }
            }
        }
        self.computing.store(true, Ordering::Release);
        // Cleared however this ends (a panic included), so the feed is never stuck.
        let _computing = ClearOnDrop(&self.computing);
        let territory = self
            .territory
            .get_or_init(|| territory(&state.network))
            .clone();
        let refresh_s = self.options.refresh.as_secs();
        let feed = state
            .live
            .with_engine(|e| Feed::read(e, territory, refresh_s));
        let body = Bytes::from(serde_json::to_vec(&feed).unwrap_or_default());
        *self.feed.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), body.clone()));
        // Forget addresses not seen for a while (the limiter's memory stays small).
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
        }
        body
    }
}

/// Sets the flag back to false when dropped.
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A cell of the grid: integer column and row.
type Cell = (i64, i64);

fn cell_of(lon: f64, lat: f64) -> Cell {
    (
        (lon / CELL_DEG).floor() as i64,
        (lat / CELL_DEG).floor() as i64,
    )
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// A cell's corners: `[west, south, east, north]`.
fn cell_bbox((x, y): Cell) -> [f64; 4] {
    [
        round4(x as f64 * CELL_DEG),
        round4(y as f64 * CELL_DEG),
        round4((x + 1) as f64 * CELL_DEG),
        round4((y + 1) as f64 * CELL_DEG),
    ]
}

/// The south-west corner of every cell that holds a customer.
fn territory(network: &Network) -> Vec<[f64; 2]> {
    let cells: BTreeSet<Cell> = network
        .customers()
        .iter()
        .map(|c| cell_of(c.lon, c.lat))
        .collect();
    cells
        .into_iter()
        .map(|c| {
            let b = cell_bbox(c);
            [b[0], b[1]]
        })
        .collect()
}

/// A count as published: the number from [`MIN_SHOWN`] up, else "fewer than 5".
#[derive(Serialize, Debug, Clone, Copy, PartialEq, utoipa::ToSchema)]
struct Count {
    customers_out: Option<u64>,
    fewer_than_5: bool,
}

impl Count {
    fn of(n: u64) -> Count {
        if n >= MIN_SHOWN {
            Count {
                customers_out: Some(n),
                fewer_than_5: false,
            }
        } else {
            Count {
                customers_out: None,
                fewer_than_5: true,
            }
        }
    }
}

/// What is known about customers out in one place (a cell or a district).
#[derive(Default, Clone)]
struct Tally {
    customers: u64,
    outages: BTreeSet<u64>,
    since: Option<DateTime<Utc>>,
    /// The latest estimated restoration among its outages; unknown if one has none.
    etr: Option<DateTime<Utc>>,
    etr_unknown: bool,
    districts: BTreeSet<String>,
}

impl Tally {
    fn add(&mut self, n: u64, o: &crate::engine::Outage) {
        self.customers += n;
        if self.outages.insert(o.number) {
            self.since = Some(self.since.map_or(o.started_at, |s| s.min(o.started_at)));
            match o.etr {
                Some(t) => self.etr = Some(self.etr.map_or(t, |e| e.max(t))),
                None => self.etr_unknown = true,
            }
            if let Some(f) = &o.feeder {
                self.districts.insert(f.clone());
            }
        }
    }

    fn etr(&self) -> Option<String> {
        (!self.etr_unknown)
            .then_some(self.etr)
            .flatten()
            .map(format_time)
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct Area {
    /// `[west, south, east, north]`, degrees.
    bbox: [f64; 4],
    #[serde(flatten)]
    count: Count,
    since: Option<String>,
    /// Estimated restoration (the latest of the outages in the area); null when not
    /// estimated yet.
    etr: Option<String>,
    districts: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct District {
    district: String,
    #[serde(flatten)]
    count: Count,
    outages: usize,
    since: Option<String>,
    etr: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PlannedWork {
    /// `scheduled` or `active`.
    status: &'static str,
    /// `planned` or `urgent`.
    #[schema(value_type = String)]
    kind: crate::events::PlannedKind,
    start: String,
    end: String,
    reason: Option<String>,
    district: Option<String>,
    #[serde(flatten)]
    count: Count,
    /// The cells the work's area touches, as one `[west, south, east, north]` box.
    bbox: [f64; 4],
}

#[derive(Serialize, utoipa::ToSchema)]
struct Summary {
    outages: usize,
    #[serde(flatten)]
    count: Count,
    customers_served: u64,
}

/// The public feed (`/public/v1/outages.json`).
#[derive(Serialize, utoipa::ToSchema)]
struct Feed {
    /// When this document was computed (the server's clock).
    generated_at: String,
    /// The engine's clock: the time of the last event it applied.
    as_of: Option<String>,
    /// The document is recomputed at most this often, seconds.
    refresh_s: u64,
    cell_deg: f64,
    summary: Summary,
    areas: Vec<Area>,
    districts: Vec<District>,
    planned: Vec<PlannedWork>,
    /// The south-west corners of the cells where the utility has customers.
    territory: Vec<[f64; 2]>,
}

/// The dark service points of the active outages, each counted once (for the outage
/// that darkened it first), binned into cells and districts.
fn dark_points(e: &Engine) -> (BTreeMap<Cell, Tally>, BTreeMap<String, Tally>, u64, usize) {
    let net = e.network();
    let mut outages: Vec<&crate::engine::Outage> = e.active_outages().collect();
    outages.sort_by_key(|o| (o.started_at, o.number));
    let mut seen: std::collections::HashSet<CustomerIdx> = std::collections::HashSet::new();
    let mut cells: BTreeMap<Cell, Tally> = BTreeMap::new();
    let mut districts: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = 0;
    for o in &outages {
        let points = net
            .darkened_by(&o.device)
            .map(|d| d.points)
            .or_else(|| net.customer_idx(&o.device).map(|c| vec![c]))
            .unwrap_or_default();
        let mut listed = 0u64;
        for p in points {
            let sp = net.customer(p);
            listed += u64::from(sp.customers);
            if !seen.insert(p) {
                continue;
            }
            let n = u64::from(sp.customers);
            cells.entry(cell_of(sp.lon, sp.lat)).or_default().add(n, o);
            let district = net
                .feeder_of_customer(p)
                .or(o.feeder.as_deref())
                .unwrap_or("—")
                .to_owned();
            districts.entry(district).or_default().add(n, o);
            total += n;
        }
        // Customers the file does not list one by one: at the outage's own place.
        let rest = o.customers_out.saturating_sub(listed);
        if rest > 0 {
            cells.entry(cell_of(o.lon, o.lat)).or_default().add(rest, o);
            let district = o.feeder.clone().unwrap_or_else(|| "—".into());
            districts.entry(district).or_default().add(rest, o);
            total += rest;
        }
    }
    (cells, districts, total, outages.len())
}

impl Feed {
    fn read(e: &Engine, territory: Vec<[f64; 2]>, refresh_s: u64) -> Feed {
        let (cells, districts, total, outages) = dark_points(e);
        let areas = cells
            .into_iter()
            .map(|(cell, t)| Area {
                bbox: cell_bbox(cell),
                count: Count::of(t.customers),
                since: t.since.map(format_time),
                etr: t.etr(),
                districts: t.districts.iter().cloned().collect(),
            })
            .collect();
        let districts = districts
            .into_iter()
            .map(|(district, t)| District {
                count: Count::of(t.customers),
                outages: t.outages.len(),
                since: t.since.map(format_time),
                etr: t.etr(),
                district,
            })
            .collect();
        let mut planned: Vec<PlannedWork> = e
            .planned()
            .notices()
            .filter(|n| n.is_current())
            .map(|n| {
                // The work's area: its centre and radius, out to whole cells.
                let dlat = n.radius_km / 111.0;
                let dlon = dlat / n.lat.to_radians().cos().abs().max(0.01);
                let sw = cell_bbox(cell_of(n.lon - dlon, n.lat - dlat));
                let ne = cell_bbox(cell_of(n.lon + dlon, n.lat + dlat));
                PlannedWork {
                    status: if n.status == NoticeStatus::Active {
                        "active"
                    } else {
                        "scheduled"
                    },
                    kind: n.kind,
                    start: format_time(n.start),
                    end: format_time(n.end),
                    reason: n.reason.clone(),
                    district: n.feeder.clone(),
                    count: Count::of(n.darkened.customers),
                    bbox: [sw[0], sw[1], ne[2], ne[3]],
                }
            })
            .collect();
        planned.sort_by(|a, b| a.start.cmp(&b.start));
        let served = e
            .network()
            .customers()
            .iter()
            .map(|c| u64::from(c.customers))
            .sum();
        Feed {
            generated_at: format_time(Utc::now()),
            as_of: e.clock().map(format_time),
            refresh_s,
            cell_deg: CELL_DEG,
            summary: Summary {
                outages,
                count: Count::of(total),
                customers_served: served,
            },
            areas,
            districts,
            planned,
            territory,
        }
    }
}

/// `GET /public/v1/outages.json`: the feed (see the module docs).
#[utoipa::path(get,
    path = "/public/v1/outages.json",
    tag = "public",
    description = "Current outages as areas (0.01-degree grid cells), customers out by district, planned work; counts below 5 are fewer_than_5. Cached: Cache-Control public, max-age=30. Roles: none needed; rate limited per client address.",
    responses((status = 200, description = "The public feed", body = Feed), (status = 429, description = "Too many requests from this address (Retry-After)", body = crate::api::openapi::ErrorBody)))]
pub(super) async fn get_outages_json(
    req: HttpRequest,
    state: web::Data<AppState>,
    public: web::Data<PublicService>,
) -> HttpResponse {
    if let Some(refused) = public.refusal(&req) {
        return refused;
    }
    let body = public.feed(&state);
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={MAX_AGE_S}"),
        ))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(body)
}

#[derive(Deserialize)]
pub(super) struct AccountQuery {
    account: Option<String>,
}

/// The longest account number taken.
const MAX_ACCOUNT_LEN: usize = 64;

/// `GET /public/v1/status?account=…`: in a known outage or planned work, since when,
/// expected back — nothing else.
#[utoipa::path(get,
    path = "/public/v1/status",
    tag = "public",
    description = "In a known outage or planned work, since, expected back: nothing else. Roles: none needed; rate limited per client address.",
    params(("account" = String, Query, description = "The account number on the bill")),
    responses((status = 200, description = "The status", body = crate::api::openapi::PublicStatus), (status = 400, description = "A bad parameter, named", body = crate::api::openapi::ErrorBody), (status = 404, description = "No such object", body = crate::api::openapi::ErrorBody), (status = 429, description = "Too many requests from this address (Retry-After)", body = crate::api::openapi::ErrorBody)))]
pub(super) async fn get_account_status(
    req: HttpRequest,
    state: web::Data<AppState>,
    public: web::Data<PublicService>,
    query: web::Query<AccountQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Some(refused) = public.refusal(&req) {
        return Ok(refused);
    }
    let account = query.account.as_deref().map(str::trim).unwrap_or_default();
    if account.is_empty() || account.chars().count() > MAX_ACCOUNT_LEN {
        return Err(ApiError::BadRequest(format!(
            "account: give the account number on your bill (1 to {MAX_ACCOUNT_LEN} characters)"
        )));
    }
    let Some(customer) = state.network.customer_by_account(account) else {
        return Err(ApiError::NotFound(
            "account: no customer has this account number; check it on your bill".into(),
        ));
    };
    let answer = state.live.with_engine(|e| {
        if let Some(o) = e.outage_of_customer(customer) {
            return serde_json::json!({
                "status": "outage",
                "since": format_time(o.started_at),
                "expected_back": o.etr.map(format_time),
            });
        }
        let mut notices: Vec<_> = e.planned().covering(customer).collect();
        notices.sort_by_key(|n| n.start);
        if let Some(n) = notices.iter().find(|n| n.status == NoticeStatus::Active) {
            return serde_json::json!({
                "status": "planned_work",
                "since": format_time(n.start),
                "expected_back": format_time(n.end),
            });
        }
        if let Some(n) = notices.iter().find(|n| n.status == NoticeStatus::Scheduled) {
            return serde_json::json!({
                "status": "planned_work_ahead",
                "since": format_time(n.start),
                "expected_back": format_time(n.end),
            });
        }
        serde_json::json!({"status": "no_known_outage", "since": null, "expected_back": null})
    });
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            format!("private, max-age={MAX_AGE_S}"),
        ))
        .json(answer))
}

/// Per-address counts for tests of the limiter (not used by the server).
#[cfg(test)]
fn over_limit(service: &PublicService, ip: IpAddr, n: usize) -> usize {
    let limiter = service.limiter.as_ref().expect("a limit");
    (0..n).filter(|_| limiter.check_key(&ip).is_err()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_below_five_are_published_as_fewer_than_five() {
        assert_eq!(
            Count::of(4),
            Count {
                customers_out: None,
                fewer_than_5: true
            }
        );
        assert_eq!(Count::of(5).customers_out, Some(5));
        assert_eq!(Count::of(0).customers_out, None);
    }

    #[test]
    fn a_service_point_is_published_only_as_its_whole_grid_cell() {
        let b = cell_bbox(cell_of(-43.2091234, -22.9012345));
        assert_eq!(b, [-43.21, -22.91, -43.2, -22.9]);
        assert!(b[0] <= -43.2091234 && -43.2091234 < b[2]);
    }

    #[test]
    fn one_address_over_its_rate_is_refused_and_another_is_not() {
        let service = PublicService::new(PublicOptions {
            refresh: Duration::from_secs(5),
            per_second: 5,
            burst: 10,
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(over_limit(&service, a, 30), 20);
        assert_eq!(over_limit(&service, b, 10), 0);
    }
}
