//! The API's errors: each maps to a status code and a JSON body that names what is
//! wrong and leaks no internals.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::events::EventError;

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An event (or line of NDJSON) is invalid: nothing of the request was stored.
    #[error("{0}")]
    BadEvent(#[from] EventError),
    /// A query parameter or header is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// The event does not fit the current state (an unknown order, another crew's
    /// order, an illegal state change): nothing of the request was stored.
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the server accepts.
    #[error("request body is larger than {limit} bytes: send the events in smaller batches")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// No or a wrong token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A valid token whose role may not do this; the message says why.
    #[error("{0}")]
    Forbidden(String),
    /// What was asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The event log could not store or read.
    #[error("the event log is unavailable; nothing of this request was stored")]
    StoreUnavailable,
    /// A bug or an environment failure; details go to the log only.
    #[error("unexpected error")]
    Unexpected(String),
}

impl ApiError {
    /// A short name of why, for the refused-events counter's `reason` label.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadEvent(_) => "invalid_event",
            Self::BadRequest(_) => "bad_request",
            Self::Conflict(_) => "conflict",
            Self::TooLarge { .. } => "too_large",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::StoreUnavailable => "store_unavailable",
            Self::Unexpected(_) => "unexpected",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadEvent(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            Self::BadEvent(e) => {
                json!({"error": self.to_string(), "field": e.field, "line": e.line})
            }
            Self::Unexpected(detail) => {
                tracing::error!(%detail, "unexpected error in a handler");
                json!({"error": self.to_string()})
            }
            _ => json!({"error": self.to_string()}),
        };
        let mut resp = HttpResponse::build(self.status_code());
        if let Self::Unauthorized(_) = self {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        resp.json(body)
    }
}
