//! `POST /api/v1/events` and `GET /api/v1/events`.

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::events::{parse_ndjson, Event, EventError};

/// Read the whole body, refusing it with 413 as soon as it passes the limit.
async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("reading the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parse the body as one JSON event, a JSON array of events, or NDJSON (by content type).
fn parse_body(req: &HttpRequest, body: &[u8]) -> Result<Vec<Event>, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("the request body is not UTF-8".into()))?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if content_type.starts_with("application/x-ndjson")
        || content_type.starts_with("application/ndjson")
    {
        return Ok(parse_ndjson(text)?);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| EventError {
        line: None,
        field: "type".into(),
        message: format!("the body is not JSON: {e}"),
    })?;
    match value {
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                Event::parse(v).map_err(|mut e| {
                    e.line = Some(i + 1);
                    ApiError::from(e)
                })
            })
            .collect(),
        single => Ok(vec![Event::parse(&single)?]),
    }
}

/// Store events, all or nothing; 202 once they are durable. Counted for `/metrics`:
/// the events stored by type, the requests refused by reason, and the time to the 202.
#[utoipa::path(post,
    path = "/api/v1/events",
    tag = "events",
    description = "Store events, all or nothing; 202 once durable. One JSON event, a JSON array, or NDJSON (application/x-ndjson). A bad line refuses the whole request, naming the line and field. Roles: dispatcher, admin (any event); crew (only crew_action and crew_position naming its own crew); wallboard none.",
    request_body(content((crate::api::openapi::InputEvent = "application/json"), (Vec<crate::api::openapi::InputEvent> = "application/json"), (String = "application/x-ndjson")), description = "One event, an array, or NDJSON lines"),
    responses((status = 202, description = "Stored", body = crate::api::openapi::Accepted), (status = 400, description = "An invalid event: the line and field are named", body = crate::api::openapi::ErrorBody), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody), (status = 403, description = "This token's role may not do this; the message says why", body = crate::api::openapi::ErrorBody), (status = 409, description = "A command that does not fit the current state, or a report id reused for other content", body = crate::api::openapi::ErrorBody), (status = 413, description = "The body is larger than the server takes", body = crate::api::openapi::ErrorBody), (status = 503, description = "The event log does not answer", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn post_events(
    caller: Result<Caller, ApiError>,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    use crate::monitoring as m;
    let started = std::time::Instant::now();
    match store_events(caller, &state, &req, payload).await {
        Ok((events, appended)) => {
            metrics::histogram!(m::EVENT_ACK_SECONDS).record(started.elapsed().as_secs_f64());
            // Only reports can be repeats (their id is an idempotency key).
            let mut repeats = appended.duplicates;
            for e in &events {
                if repeats > 0 && e.report_id().is_some() {
                    repeats -= 1;
                    continue;
                }
                metrics::counter!(m::EVENTS_ACCEPTED, "type" => e.type_name()).increment(1);
            }
            if appended.duplicates > 0 {
                metrics::counter!(m::REPORTS_REPEATED).increment(appended.duplicates as u64);
            }
            Ok(HttpResponse::Accepted().json(appended))
        }
        Err(e) => {
            metrics::counter!(m::EVENTS_REFUSED, "reason" => e.reason()).increment(1);
            Err(e)
        }
    }
}

/// [`post_events`] without its counting: the events and what the log did with them.
async fn store_events(
    caller: Result<Caller, ApiError>,
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(Vec<Event>, crate::store::Appended), ApiError> {
    let caller = caller?;
    let body = read_body(payload, state.max_body_bytes).await?;
    let events = parse_body(req, &body)?;
    if events.is_empty() {
        return Err(ApiError::BadRequest("the body holds no event".into()));
    }
    caller.check_events(&events)?;
    let many = events.len() > 1;
    let now = chrono::Utc::now();
    for (i, event) in events.iter().enumerate() {
        event
            .check_not_ahead(now)
            .and_then(|()| event.check_limits())
            .and_then(|()| event.check_against(&state.network))
            .map_err(|mut e| {
                e.line = many.then_some(i + 1);
                e
            })?;
    }
    check_against_state(state, &events).await?;
    let appended = state.store.append(&events).await.map_err(|e| match e {
        crate::store::StoreError::Conflict(message) => ApiError::Conflict(message),
        e => {
            tracing::error!(error = %e, "append failed");
            ApiError::StoreUnavailable
        }
    })?;
    tracing::debug!(
        accepted = appended.accepted,
        duplicates = appended.duplicates,
        last_seq = appended.last_seq,
        "events stored"
    );
    Ok((events, appended))
}

/// Commands that depend on the current state (crew actions, dispatchers' assignments,
/// outage confirmations, planned-outage changes, callbacks) are checked against the engine once it has applied everything
/// already acknowledged, so a crew acting on an order it was just given is not refused.
/// In a batch, a command on an order or outage that an earlier event of the same batch
/// touched is left to the engine, which checks it again when it applies it (and skips
/// it if it no longer fits).
async fn check_against_state(state: &AppState, events: &[Event]) -> Result<(), ApiError> {
    use crate::events::EventKind;
    let subject = |e: &Event| -> Option<String> {
        match &e.kind {
            EventKind::CrewAction(a) => Some(a.order.clone()),
            EventKind::Dispatch(d) => Some(d.order.clone()),
            EventKind::OutageConfirm(c) => Some(c.outage.clone()),
            EventKind::PlannedOutage(p) => Some(format!("planned {}", p.id)),
            EventKind::PlannedOutageCancel(p) => Some(format!("planned {}", p.id)),
            EventKind::Callback(c) => Some(format!("callback {} {}", c.outage, c.customer)),
            _ => None,
        }
    };
    if events.iter().all(|e| subject(e).is_none()) {
        return Ok(());
    }
    let committed = *state.store.commits().borrow();
    if !state
        .live
        .wait_applied(committed, std::time::Duration::from_secs(2))
        .await
    {
        tracing::warn!(
            committed,
            "the engine is behind the log; checking against the state it has"
        );
    }
    let many = events.len() > 1;
    let mut touched: Vec<String> = Vec::new();
    state.live.with_engine(|engine| {
        for (i, event) in events.iter().enumerate() {
            let Some(subject) = subject(event) else {
                continue;
            };
            if !touched.contains(&subject) {
                engine.check(event).map_err(|message| {
                    let line = if many {
                        format!("line {}: ", i + 1)
                    } else {
                        String::new()
                    };
                    ApiError::Conflict(format!("{line}{message}"))
                })?;
            }
            touched.push(subject);
        }
        Ok(())
    })
}

/// `?since=SEQ&limit=N`: a page of a log (events or messages) after `since`.
#[derive(Deserialize)]
pub(super) struct Page {
    #[serde(default)]
    since: i64,
    limit: Option<i64>,
}

/// Most items one page holds; read on with `since`.
const MAX_PAGE: i64 = 100_000;

impl Page {
    /// `(since, limit)`, checked.
    pub(super) fn checked(&self) -> Result<(i64, i64), ApiError> {
        let limit = self.limit.unwrap_or(10_000);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        if self.since < 0 {
            return Err(ApiError::BadRequest("since must be 0 or more".into()));
        }
        Ok((self.since, limit))
    }
}

/// The stored events after `since`, with their seq, as NDJSON.
#[utoipa::path(get,
    path = "/api/v1/events",
    tag = "events",
    description = "The stored input events after since, each with its seq, as NDJSON. Roles: wallboard, dispatcher, admin (a crew token gets 403).",
    params(("since" = Option<i64>, Query, description = "Events after this seq (default 0)"), ("limit" = Option<i64>, Query, description = "At most this many (1 to 100000, default 10000)")),
    responses((status = 200, description = "NDJSON: one event per line", body = String, content_type = "application/x-ndjson"), (status = 400, description = "A bad parameter, named", body = crate::api::openapi::ErrorBody), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody), (status = 403, description = "This token's role may not do this; the message says why", body = crate::api::openapi::ErrorBody), (status = 503, description = "The event log does not answer", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_events(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    caller.require_full_read("the event log")?;
    let (since, limit) = query.checked()?;
    let events = state.store.read_since(since, limit).await.map_err(|e| {
        tracing::error!(error = %e, "reading the log failed");
        ApiError::StoreUnavailable
    })?;
    let mut out = String::with_capacity(events.iter().map(|e| e.body.len() + 16).sum());
    for e in &events {
        out.push_str(&e.to_json_with_seq());
        out.push('\n');
    }
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .body(out))
}
