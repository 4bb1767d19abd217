//! `GET /api/v1/reports`: reliability (IEEE 1366) and workload report for a period and
//! region, as JSON or CSV (see [`crate::reports`]).
//!
//! Parameters: `from`, `to` (RFC 3339 or a date; default: today on the engine's clock),
//! `zone`, `feeder`, `utc_offset` (`+08:00`), `format` (`json` or `csv`). An unknown or
//! bad parameter is a 400 that names it. Readers: dispatchers, admins, wallboards (a
//! crew token is refused, as for the other network-wide reads).
//!
//! The outage and order objects are copied out of the live engine under its lock; the
//! report is computed after the lock is released, on a blocking thread.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use actix_web::{http::header, web, HttpResponse};
use chrono::{DateTime, Utc};

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::reports::{self, Format, Query, QueryText, Records, Units};

/// The network's customer units, built on the first report.
#[derive(Default)]
pub(super) struct UnitsCache(OnceLock<Arc<Units>>);

const PARAMETERS: [&str; 7] = [
    "from",
    "to",
    "zone",
    "feeder",
    "utc_offset",
    "format",
    "token",
];

fn bad(e: reports::ReportError) -> ApiError {
    ApiError::BadRequest(e.to_string())
}

/// The report.
#[utoipa::path(get,
    path = "/api/v1/reports",
    tag = "reports",
    description = "Reliability (IEEE 1366) and workload report. Roles: wallboard, dispatcher, admin (a crew token gets 403). An unknown parameter is 400, named.",
    params(("from" = Option<String>, Query, description = "A date (a whole local day) or RFC 3339 time"), ("to" = Option<String>, Query, description = "A date (included) or RFC 3339 time (excluded)"), ("zone" = Option<String>, Query, description = "urban, suburban or rural"), ("feeder" = Option<String>, Query, description = "A feeder id"), ("utc_offset" = Option<String>, Query, description = "+08:00"), ("format" = Option<String>, Query, description = "json (default) or csv")),
    responses((status = 200, description = "The report (JSON, or CSV with format=csv)", body = Object), (status = 400, description = "A bad parameter, named", body = crate::api::openapi::ErrorBody), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody), (status = 403, description = "This token's role may not do this; the message says why", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_reports(
    caller: Caller,
    state: web::Data<AppState>,
    cache: web::Data<UnitsCache>,
    query: web::Query<BTreeMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    caller.require_full_read("the reliability and workload report")?;
    if let Some(unknown) = query.keys().find(|k| !PARAMETERS.contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "{unknown}: unknown parameter (the report takes from, to, zone, feeder, utc_offset, format)"
        )));
    }
    let format = match query.get("format").map(String::as_str) {
        None | Some("") | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format: must be json or csv, not {other:?}"
            )))
        }
    };
    let text = QueryText {
        from: query.get("from").cloned(),
        to: query.get("to").cloned(),
        zone: query.get("zone").cloned(),
        feeder: query.get("feeder").cloned(),
        utc_offset: query.get("utc_offset").cloned(),
    };
    let log_start = first_event_at(&state).await?;
    let records = state
        .live
        .with_engine(|e| {
            let clock = e.clock();
            Records::from_engine(e, log_start).map(|mut r| {
                // An engine that has seen nothing yet: "now" is the wall clock.
                if clock.is_none() {
                    r.as_of = Utc::now();
                }
                r
            })
        })
        .map_err(|e| ApiError::Unexpected(format!("reading the engine's objects: {e}")))?;
    let network = state.network.clone();
    let q = Query::parse(&text, &network, records.as_of).map_err(bad)?;
    let units = cache
        .0
        .get_or_init(|| Arc::new(Units::new(&network)))
        .clone();
    let (body, from, to) = web::block(move || {
        let report = reports::build(&network, &units, &records, &q);
        (
            reports::render(&report, format),
            report.scope.from,
            report.scope.to,
        )
    })
    .await
    .map_err(|e| ApiError::Unexpected(format!("the report's thread: {e}")))?;
    Ok(match format {
        Format::Json => HttpResponse::Ok()
            .content_type("application/json")
            .body(body),
        Format::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"faultline-report-{}-{}.csv\"",
                    &from[..10.min(from.len())],
                    &to[..10.min(to.len())]
                ),
            ))
            .body(body),
    })
}

/// The time of the first event in the log (the MED history starts that day).
async fn first_event_at(state: &AppState) -> Result<Option<DateTime<Utc>>, ApiError> {
    let first = state
        .store
        .read_since(0, 1)
        .await
        .map_err(|_| ApiError::StoreUnavailable)?;
    Ok(first.first().and_then(|e| {
        let v: serde_json::Value = serde_json::from_str(&e.body).ok()?;
        DateTime::parse_from_rfc3339(v.get("at")?.as_str()?)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }))
}
