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

/// Outages: `status=active` (the default) or `all`.
pub(super) async fn get_outages(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<StatusQuery>,
) -> Result<HttpResponse, ApiError> {
    let all = match query.status.as_deref() {
        None | Some("active") => false,
        Some("all") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "status must be active or all, not {other:?}"
            )))
        }
    };
    let body = state.live.with_engine(|e| {
        let items: Vec<String> = e
            .outages()
            .filter(|o| all || o.is_active())
            .map(|o| o.to_json())
            .collect();
        format!("[{}]", items.join(","))
    });
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(caller.own_items(body, "crew")))
}

/// Work orders. Dispatch is not built yet: the list is empty.
pub(super) async fn get_orders(caller: Caller) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(caller.own_items("[]".into(), "crew"))
}

/// Crews with their last known position.
pub(super) async fn get_crews(caller: Caller, state: web::Data<AppState>) -> HttpResponse {
    let body = state.live.with_engine(|e| {
        serde_json::to_string(&e.crews().collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(caller.own_items(body, "id"))
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
