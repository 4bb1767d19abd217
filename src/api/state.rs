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
pub(super) async fn get_crews(caller: Caller, state: web::Data<AppState>) -> HttpResponse {
    let body = state
        .live
        .with_engine(|e| json_array(e.crews_json().into_iter()));
    json(caller.own_items(body, "id"))
}

/// The output messages after `since`, one JSON object per line.
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
