//! `GET /api/v1/outages`, `/orders`, `/crews` (the engine's state now) and
//! `/messages` (the stored output messages after a seq, as NDJSON).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::Caller;
use super::events::Page;
use super::{ApiError, AppState};

#[derive(Deserialize)]
pub(super) struct StatusQuery {
    status: Option<String>,
}

impl StatusQuery {
    /// `status=all` (true) or `status=active` / none (false).
    fn all(&self) -> Result<bool, ApiError> {
        match self.status.as_deref() {
            None | Some("active") => Ok(false),
            Some("all") => Ok(true),
            Some(other) => Err(ApiError::BadRequest(format!(
                "status must be active or all, not {other:?}"
            ))),
        }
    }
}

/// Objects already rendered as JSON text, as one JSON array.
fn json_array(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(","))
}

fn json(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// Outages: `status=active` (the default) or `all`.
#[utoipa::path(get,
    path = "/api/v1/outages",
    tag = "state",
    description = "Outages. Roles: wallboard, dispatcher, admin; a crew token sees only its own.",
    params(("status" = Option<String>, Query, description = "active or all (default active)")),
    responses((status = 200, description = "The outages", body = Vec<crate::api::openapi::Outage>), (status = 400, description = "A bad parameter, named", body = crate::api::openapi::ErrorBody), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_outages(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<StatusQuery>,
) -> Result<HttpResponse, ApiError> {
    let all = query.all()?;
    let body = state.live.with_engine(|e| {
        json_array(
            e.outages()
                .filter(|o| all || o.is_active())
                .map(|o| o.to_json()),
        )
    });
    Ok(json(caller.own_items(body, "crew")))
}

/// Work orders: `status=active` (the default: not closed or cancelled) or `all`.
#[utoipa::path(get,
    path = "/api/v1/orders",
    tag = "state",
    description = "Work orders. Roles: wallboard, dispatcher, admin; a crew token sees only its own.",
    params(("status" = Option<String>, Query, description = "active or all (default active)")),
    responses((status = 200, description = "The orders", body = Vec<crate::api::openapi::Order>), (status = 400, description = "A bad parameter, named", body = crate::api::openapi::ErrorBody), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_orders(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<StatusQuery>,
) -> Result<HttpResponse, ApiError> {
    let all = query.all()?;
    let body = state.live.with_engine(|e| {
        json_array(
            e.dispatch()
                .orders()
                .filter(|o| all || !o.state().is_final())
                .map(|o| o.to_json()),
        )
    });
    Ok(json(caller.own_items(body, "crew")))
}

/// Crews with their position, status and current order.
#[utoipa::path(get,
    path = "/api/v1/crews",
    tag = "state",
    description = "Crews with position, status and current order. Roles: wallboard, dispatcher, admin; a crew token sees only its own.",
    responses((status = 200, description = "The crews", body = Vec<crate::api::openapi::Crew>), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_crews(caller: Caller, state: web::Data<AppState>) -> HttpResponse {
    let body = state
        .live
        .with_engine(|e| json_array(e.crews_json().into_iter()));
    json(caller.own_items(body, "id"))
}

/// The output messages after `since`, one JSON object per line.
#[utoipa::path(get,
    path = "/api/v1/messages",
    tag = "stream",
    description = "The stored output messages after since, as NDJSON. Roles: wallboard, dispatcher, admin (a crew token gets 403).",
    params(("since" = Option<i64>, Query, description = "Messages after this seq (default 0)"), ("limit" = Option<i64>, Query, description = "At most this many (1 to 100000, default 10000)")),
    responses((status = 200, description = "NDJSON: one message per line", body = String, content_type = "application/x-ndjson"), (status = 400, description = "A bad parameter, named", body = crate::api::openapi::ErrorBody), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody), (status = 403, description = "This token's role may not do this; the message says why", body = crate::api::openapi::ErrorBody), (status = 503, description = "The event log does not answer", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_messages(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    caller.require_full_read("the message log")?;
    let (since, limit) = query.checked()?;
    let messages = state.store.outputs_since(since, limit).await.map_err(|e| {
        tracing::error!(error = %e, "reading messages failed");
        ApiError::StoreUnavailable
    })?;
    let mut out = String::new();
    for m in &messages {
        out.push_str(&m.body);
        out.push('\n');
    }
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .body(out))
}
