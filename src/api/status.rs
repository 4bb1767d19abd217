//! `GET /api/v1/status`: is there a known outage at this customer? For a call-center
//! agent on the phone: by customer id, account, or a lon/lat (the nearest service point).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::engine::NoticeStatus;

#[derive(Deserialize)]
pub(super) struct StatusQuery {
    customer: Option<String>,
    account: Option<String>,
    lon: Option<f64>,
    lat: Option<f64>,
}

/// The customer, and the outage it is in (with its crew, ETA and estimated restoration)
/// or `null`; and the planned work (notices scheduled or under way) that darkens it.
/// `status` is `out`, `planned_work` (dark by plan now, no fault known) or
/// `no_known_outage`.
#[utoipa::path(get,
    path = "/api/v1/status",
    tag = "state",
    description = "Is there a known outage at this customer? Give one of customer, account, or lon and lat. Roles: wallboard, dispatcher, admin (a crew token gets 403).",
    params(("customer" = Option<String>, Query, description = "A customer (service point) id"), ("account" = Option<String>, Query, description = "A billing account"), ("lon" = Option<f64>, Query, description = "Longitude: the nearest service point"), ("lat" = Option<f64>, Query, description = "Latitude")),
    responses((status = 200, description = "The customer and its outage or planned work", body = crate::api::openapi::CustomerStatus), (status = 400, description = "A bad parameter, named", body = crate::api::openapi::ErrorBody), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody), (status = 403, description = "This token's role may not do this; the message says why", body = crate::api::openapi::ErrorBody), (status = 404, description = "No such object", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_status(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<StatusQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_full_read("the customer status lookup")?;
    let net = &state.network;
    let found = match (&query.customer, &query.account, query.lon, query.lat) {
        (Some(id), None, None, None) => net
            .customer_idx(id)
            .ok_or_else(|| ApiError::NotFound(format!("no customer {id:?}")))?,
        (None, Some(account), None, None) => net
            .customer_by_account(account)
            .ok_or_else(|| ApiError::NotFound(format!("no customer with account {account:?}")))?,
        (None, None, Some(lon), Some(lat)) => {
            if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                return Err(ApiError::BadRequest(
                    "lon must be within -180..180 and lat within -90..90".into(),
                ));
            }
            net.nearest_customer(lon, lat)
                .map(|(c, _)| c)
                .ok_or_else(|| ApiError::NotFound("the network has no customers".into()))?
        }
        _ => {
            return Err(ApiError::BadRequest(
                "give one of customer=ID, account=ACCOUNT, or lon=…&lat=…".into(),
            ))
        }
    };
    let sp = net.customer(found);
    let (outage, planned, planned_now) = state.live.with_engine(|e| {
        let notices: Vec<_> = e.planned().covering(found).collect();
        (
            e.outage_of_customer(found).map(|o| o.to_json()),
            notices.iter().map(|n| n.to_json()).collect::<Vec<_>>(),
            notices.iter().any(|n| n.status == NoticeStatus::Active),
        )
    });
    let status = match (&outage, planned_now) {
        (Some(_), _) => "out",
        (None, true) => "planned_work",
        (None, false) => "no_known_outage",
    };
    /// The answer; the outage and notices as the engine writes them (the same objects
    /// as the stream's), not parsed again.
    #[derive(serde::Serialize)]
    struct Answer<'a> {
        customer: &'a str,
        account: Option<&'a str>,
        lon: f64,
        lat: f64,
        feeder: Option<&'a str>,
        status: &'static str,
        outage: Option<Box<RawValue>>,
        planned: Vec<Box<RawValue>>,
    }
    // unwrap-free: the engine's objects are JSON objects; one that were not is left out.
    let raw = |text: String| RawValue::from_string(text).ok();
    let answer = Answer {
        customer: &sp.id,
        account: sp.account.as_deref(),
        lon: sp.lon,
        lat: sp.lat,
        feeder: net.feeder_of_customer(found),
        status,
        outage: outage.and_then(raw),
        planned: planned.into_iter().filter_map(raw).collect(),
    };
    Ok(HttpResponse::Ok().json(answer))
}
