//! Bearer tokens and what each role may do.
//!
//! # Roles
//! | role | reads | posts events |
//! |---|---|---|
//! | `wallboard` | everything (GETs and the stream) | nothing |
//! | `dispatcher` | everything | any event |
//! | `crew` (bound to one crew id) | its own orders, outages and crew, the network map, and the planned-work notices (public, as customers get them; not their customer lists); the stream filtered to those | only `crew_action` and `crew_position` naming its own crew |
//! | `admin` | everything | any event |
//!
//! The administrator's token comes from `FAULTLINE_ADMIN_TOKEN` (or is generated at
//! start and printed once); the others from `--tokens FILE` (`FAULTLINE_TOKENS`): a
//! JSON array or JSON lines of `{"token": "…", "role": "…", "crew": "CREW-7"}`.
//!
//! A token is presented as `Authorization: Bearer <token>`, or, on a GET only, as
//! `?token=<token>` (browsers cannot set headers on a websocket, and a wallboard is
//! opened from a URL). The request log never prints query strings, so a token in a URL
//! does not end up in the log. Tokens are compared in constant time, against every
//! configured token, so timing does not tell which one nearly matched.

use std::future::{ready, Ready};
use std::path::Path;

use actix_web::{dev::Payload, http::Method, web, FromRequest, HttpRequest};
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::events::{Event, EventKind};

/// Shortest token accepted, from a tokens file or `FAULTLINE_ADMIN_TOKEN`: 16 characters.
pub const MIN_TOKEN_LEN: usize = 16;

/// What a token may do (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Reads everything, writes nothing: the control-room screen.
    Wallboard,
    /// Reads everything and posts events (assign, confirm, move, …).
    Dispatcher,
    /// One crew: its own orders, and its own actions and positions.
    Crew(String),
    /// Everything.
    Admin,
}

impl Role {
    /// The role's name as tokens files and responses spell it.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Wallboard => "wallboard",
            Role::Dispatcher => "dispatcher",
            Role::Crew(_) => "crew",
            Role::Admin => "admin",
        }
    }
}

/// Why a tokens file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// The file could not be read.
    #[error("reading the tokens file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// `FAULTLINE_ADMIN_TOKEN` is not a token faultline takes.
    #[error("{0}")]
    AdminToken(String),
    /// An entry is not valid; `entry` counts from 1.
    #[error("tokens entry {entry}: {message}")]
    Invalid {
        /// Which entry (array index or line, from 1).
        entry: usize,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token: String,
    role: String,
    crew: Option<String>,
}

/// The tokens the server accepts, each with its role.
#[derive(Clone)]
pub struct Tokens {
    entries: Vec<(String, Role)>,
}

impl Tokens {
    /// Accept this administrator token (and no other, until more are added).
    pub fn new(admin: impl Into<String>) -> Self {
        Self {
            entries: vec![(admin.into(), Role::Admin)],
        }
    }

    /// The administrator's token as `FAULTLINE_ADMIN_TOKEN` gives it (`None`, or blank:
    /// none given, so one is generated), held to the same length as every other token.
    pub fn admin_from_env(value: Option<&str>) -> Result<Option<String>, TokensError> {
        match value.map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) if t.chars().count() < MIN_TOKEN_LEN => Err(TokensError::AdminToken(
                format!(
                    "FAULTLINE_ADMIN_TOKEN is {} characters long; a token needs at least {MIN_TOKEN_LEN} (or leave it unset and one is generated)",
                    t.chars().count()
                ),
            )),
            Some(t) => Ok(Some(t.to_owned())),
        }
    }

    /// Accept one more token with its role.
    pub fn add(&mut self, token: impl Into<String>, role: Role) {
        self.entries.push((token.into(), role));
    }

    /// Add the tokens of a tokens file's text (a JSON array, or one JSON object a line).
    pub fn add_from_text(&mut self, text: &str) -> Result<usize, TokensError> {
        let entries: Vec<(usize, TokenEntry)> = if text.trim_start().starts_with('[') {
            let values: Vec<serde_json::Value> =
                serde_json::from_str(text).map_err(|e| TokensError::Invalid {
                    entry: 0,
                    message: format!("not a JSON array: {e}"),
                })?;
            values
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    serde_json::from_value(v)
                        .map(|e| (i + 1, e))
                        .map_err(|e| invalid(i + 1, e))
                })
                .collect::<Result<_, _>>()?
        } else {
            text.lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| {
                    serde_json::from_str(l)
                        .map(|e| (i + 1, e))
                        .map_err(|e| invalid(i + 1, e))
                })
                .collect::<Result<_, _>>()?
        };
        let mut added = 0;
        for (n, entry) in entries {
            let role = match (entry.role.as_str(), entry.crew) {
                ("wallboard", None) => Role::Wallboard,
                ("dispatcher", None) => Role::Dispatcher,
                ("admin", None) => Role::Admin,
                ("crew", Some(crew)) if !crew.trim().is_empty() => Role::Crew(crew),
                ("crew", _) => {
                    return Err(TokensError::Invalid {
                        entry: n,
                        message: "a crew token needs \"crew\": the crew id it acts for".into(),
                    })
                }
                ("wallboard" | "dispatcher" | "admin", Some(_)) => {
                    return Err(TokensError::Invalid {
                        entry: n,
                        message: "only a crew token names a \"crew\"".into(),
                    })
                }
                (other, _) => {
                    return Err(TokensError::Invalid {
                        entry: n,
                        message: format!(
                            "role {other:?} is not one of wallboard, dispatcher, crew, admin"
                        ),
                    })
                }
            };
            if entry.token.chars().count() < MIN_TOKEN_LEN || entry.token.trim() != entry.token {
                return Err(TokensError::Invalid {
                    entry: n,
                    message: format!(
                        "a token has at least {MIN_TOKEN_LEN} characters and no surrounding spaces"
                    ),
                });
            }
            if self.entries.iter().any(|(t, _)| *t == entry.token) {
                return Err(TokensError::Invalid {
                    entry: n,
                    message: "the same token is listed twice".into(),
                });
            }
            self.add(entry.token, role);
            added += 1;
        }
        Ok(added)
    }

    /// Add the tokens of `source`: a file path, or (as `FAULTLINE_TOKENS` may hold)
    /// the JSON itself when it starts with `[` or `{`.
    pub fn add_from(&mut self, source: &Path) -> Result<usize, TokensError> {
        let s = source.to_string_lossy();
        if s.trim_start().starts_with(['[', '{']) {
            return self.add_from_text(&s);
        }
        let text = std::fs::read_to_string(source).map_err(|e| TokensError::Read {
            path: source.display().to_string(),
            source: e,
        })?;
        self.add_from_text(&text)
    }

    /// A fresh random token (256 bits, hex).
    pub fn generate() -> String {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The role of a presented token: compared with every token, in constant time.
    pub fn role_of(&self, presented: &str) -> Option<&Role> {
        let mut found = None;
        for (token, role) in &self.entries {
            if constant_time_eq(token.as_bytes(), presented.as_bytes()) {
                found = Some(role);
            }
        }
        found
    }
}

fn invalid(entry: usize, e: serde_json::Error) -> TokensError {
    TokensError::Invalid {
        entry,
        message: format!("expected {{\"token\", \"role\", \"crew\"?}}: {e}"),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// An authenticated request: who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's role.
    pub role: Role,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(ApiError::Unexpected("application state missing".into()));
    };
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let presented = match header {
        Some(t) => Some(t),
        None if req.method() == Method::GET => {
            web::Query::<TokenQuery>::from_query(req.query_string())
                .ok()
                .and_then(|q| q.into_inner().token)
        }
        None => None,
    };
    match presented {
        None => Err(ApiError::Unauthorized(
            "missing Authorization: Bearer <token>",
        )),
        Some(t) => match state.tokens.role_of(&t) {
            Some(role) => Ok(Caller { role: role.clone() }),
            None => Err(ApiError::Unauthorized("the token is not valid")),
        },
    }
}

impl Caller {
    /// The crew a crew token acts for.
    pub fn crew(&self) -> Option<&str> {
        match &self.role {
            Role::Crew(c) => Some(c),
            _ => None,
        }
    }

    /// Refuse a crew token on a read that lists other crews' work (`what` names it).
    pub fn require_full_read(&self, what: &str) -> Result<(), ApiError> {
        match &self.role {
            Role::Crew(crew) => Err(ApiError::Forbidden(format!(
                "a crew token ({crew}) reads only its own orders, outages and crew; {what} is for dispatchers"
            ))),
            _ => Ok(()),
        }
    }

    /// May this caller post these events? Wallboards post nothing; a crew posts only
    /// its own `crew_action` and `crew_position`.
    pub fn check_events(&self, events: &[Event]) -> Result<(), ApiError> {
        match &self.role {
            Role::Admin | Role::Dispatcher => Ok(()),
            Role::Wallboard => Err(ApiError::Forbidden(
                "a wallboard token is read-only: it cannot post events".into(),
            )),
            Role::Crew(crew) => {
                let many = events.len() > 1;
                for (i, event) in events.iter().enumerate() {
                    let at = if many {
                        format!("line {}: ", i + 1)
                    } else {
                        String::new()
                    };
                    let named = match &event.kind {
                        EventKind::CrewAction(a) => &a.crew,
                        EventKind::CrewPosition(p) => &p.crew,
                        _ => {
                            return Err(ApiError::Forbidden(format!(
                                "{at}a crew token may post only crew_action and crew_position events, not {}",
                                event.type_name()
                            )))
                        }
                    };
                    if named != crew {
                        return Err(ApiError::Forbidden(format!(
                            "{at}this token acts for crew {crew}, not {named}"
                        )));
                    }
                }
                Ok(())
            }
        }
    }

    /// A JSON array of objects, cut to what this caller may see: everything, or for a
    /// crew token the items whose `key` names its crew.
    pub fn own_items(&self, array: String, key: &str) -> String {
        let Some(crew) = self.crew() else {
            return array;
        };
        let Ok(items) = serde_json::from_str::<Vec<serde_json::Value>>(&array) else {
            return "[]".into();
        };
        let mine: Vec<&serde_json::Value> = items
            .iter()
            .filter(|v| v.get(key).and_then(|c| c.as_str()) == Some(crew))
            .collect();
        serde_json::to_string(&mine).unwrap_or_else(|_| "[]".into())
    }
}

/// `GET /api/v1/me`: the caller's role (and crew), so a page knows who signed in.
#[utoipa::path(get,
    path = "/api/v1/me",
    tag = "operations",
    description = "The token's role (and crew). Roles: any token.",
    responses((status = 200, description = "The role", body = crate::api::openapi::Me), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_me(caller: Caller) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .json(serde_json::json!({"role": caller.role.name(), "crew": caller.crew()}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tokens_file_of_json_lines_gives_each_token_its_role() {
        let mut tokens = Tokens::new("admin-token-0123456789");
        let n = tokens
            .add_from_text(
                r#"{"token":"wallboard-token-0123","role":"wallboard"}

{"token":"crew7-token-01234567","role":"crew","crew":"CREW-7"}"#,
            )
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            tokens.role_of("wallboard-token-0123"),
            Some(&Role::Wallboard)
        );
        assert_eq!(
            tokens.role_of("crew7-token-01234567"),
            Some(&Role::Crew("CREW-7".into()))
        );
        assert_eq!(tokens.role_of("admin-token-0123456789"), Some(&Role::Admin));
        assert_eq!(tokens.role_of("admin-token-012345678"), None);
    }

    #[test]
    fn a_crew_token_without_its_crew_is_refused_naming_the_entry() {
        let mut tokens = Tokens::new("admin-token-0123456789");
        let err = tokens
            .add_from_text(
                r#"[{"token":"dispatch-token-0123","role":"dispatcher"},{"token":"crew-token-0123456","role":"crew"}]"#,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("entry 2"), "{err}");
        assert!(err.contains("crew id"), "{err}");
    }

    #[test]
    fn short_and_repeated_tokens_are_refused() {
        let mut tokens = Tokens::new("admin-token-0123456789");
        assert!(tokens
            .add_from_text(r#"[{"token":"short","role":"wallboard"}]"#)
            .is_err());
        assert!(tokens
            .add_from_text(r#"[{"token":"admin-token-0123456789","role":"wallboard"}]"#)
            .is_err());
        assert!(tokens
            .add_from_text(r#"[{"token":"wallboard-token-0123","role":"viewer"}]"#)
            .is_err());
    }
}
