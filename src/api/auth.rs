//! Bearer-token authentication.
//!
//! Today there is one role, the administrator, whose token comes from
//! `FAULTLINE_ADMIN_TOKEN` or is generated at start and printed once. Tokens are
//! compared in constant time.

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use std::future::{ready, Ready};

use super::{ApiError, AppState};

/// The tokens the server accepts.
#[derive(Clone)]
pub struct Tokens {
    admin: String,
}

impl Tokens {
    /// Accept this administrator token.
    pub fn new(admin: impl Into<String>) -> Self {
        Self {
            admin: admin.into(),
        }
    }

    /// A fresh random token (256 bits, hex).
    pub fn generate() -> String {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn is_admin(&self, presented: &str) -> bool {
        let (a, b) = (self.admin.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// A request that presented the administrator's token.
pub struct Admin;

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return ready(Err(ApiError::Unexpected(
                "application state missing".into(),
            )));
        };
        let presented = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        ready(match presented {
            None => Err(ApiError::Unauthorized(
                "missing Authorization: Bearer <token>",
            )),
            Some(t) if state.tokens.is_admin(t) => Ok(Admin),
            Some(_) => Err(ApiError::Unauthorized("the token is not valid")),
        })
    }
}
