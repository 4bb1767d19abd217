//! `GET /api/v1/callbacks?status=pending|all`: the customers to call back (回访) after
//! their outage was restored, with what they said so far. Agents record an outcome
//! with a `callback` event (`POST /api/v1/events`).
//!
//! Callbacks name customers, so a crew token sees only the callbacks about outages its
//! own crew restored; wallboards, dispatchers and administrators see them all.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::engine::CallbackItem;

#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    status: Option<String>,
}

/// Callbacks: `status=pending` (the default: not yet answered) or `all`; both only of
/// the outages restored in the last `--callback-days` (older ones are closed).
#[utoipa::path(get,
    path = "/api/v1/callbacks",
    tag = "state",
    description = "Callbacks (回访) after restorations. Roles: any token; a crew token sees those of outages its crew restored.",
    params(("status" = Option<String>, Query, description = "pending or all (default pending)")),
    responses((status = 200, description = "The callbacks", body = Vec<crate::api::openapi::Callback>), (status = 400, description = "A bad parameter, named", body = crate::api::openapi::ErrorBody), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_callbacks(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, ApiError> {
    let all = match query.status.as_deref() {
        None | Some("pending") => false,
        Some("all") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "status must be pending or all, not {other:?}"
            )))
        }
    };
    let body = state.live.with_engine(|e| {
        let items: Vec<String> = e
            .callbacks()
            .items()
            .filter(|c| all || c.is_pending())
            .map(CallbackItem::to_json)
            .collect();
        format!("[{}]", items.join(","))
    });
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(caller.own_items(body, "crew")))
}
