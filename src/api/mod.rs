//! The HTTP API (CONTRACT section 3) and the server's start-up.
//!
//! Handlers parse and check input at the edge (see [`crate::events`]), hand events
//! to the [`Store`] and answer only after the store says they are durable. Every call
//! but `GET /healthz` and the pages needs a token, whose role says what it may do
//! (`auth`). `stream` serves the output messages over websockets, `map` the network's
//! drawing, `pages` the wallboard, console and crew pages embedded from `wallboard/`.

mod auth;
mod callbacks;
mod error;
mod events;
mod map;
mod metrics;
mod notices;
mod openapi;
mod pages;
mod public;
mod reports;
mod state;
mod status;
mod stream;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};

use crate::network::Network;
use crate::store::Store;

pub use auth::{Caller, Role, Tokens, TokensError};
pub use error::ApiError;
pub use metrics::build_metrics_server;
pub use openapi::document as openapi_document;
pub use public::PublicOptions;

/// How the server runs beyond its state (defaults for tests and the demo).
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerOptions {
    /// HTTP worker threads (default: one per core).
    pub workers: Option<usize>,
    /// The public page's feed: its refresh and rate limit.
    pub public: PublicOptions,
}

/// What every handler shares.
pub struct AppState {
    /// The network, read-only here.
    pub network: Arc<Network>,
    /// The event log.
    pub store: Store,
    /// Who may call.
    pub tokens: Tokens,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// The engine following the log.
    pub live: crate::live::Live,
}

/// Build the HTTP server on a bound listener (port 0 in tests) and return it unstarted.
pub fn build_server(
    listener: TcpListener,
    state: AppState,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    build_server_with(
        listener,
        state,
        ServerOptions {
            workers,
            ..ServerOptions::default()
        },
    )
}

/// [`build_server`] with options.
pub fn build_server_with(
    listener: TcpListener,
    state: AppState,
    options: ServerOptions,
) -> std::io::Result<Server> {
    let workers = options.workers;
    let public = web::Data::new(public::PublicService::new(options.public));
    crate::monitoring::handle();
    let hub = web::Data::new(stream::Hub::start(&state.live, state.store.clone()));
    let state = web::Data::new(state);
    let map = web::Data::new(map::MapCache::default());
    let report_units = web::Data::new(reports::UnitsCache::default());
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(hub.clone())
            .app_data(map.clone())
            .app_data(report_units.clone())
            .app_data(public.clone())
            // The method and the path only: a GET may carry its token in the query
            // string. (actix's Logger has no `%m`: the method is a custom field.)
            .wrap(
                actix_web::middleware::Logger::new("%{METHOD}xi %U %s %Dms")
                    .custom_request_replace("METHOD", |req| req.method().to_string())
                    .log_target("faultline::http"),
            )
            .route("/healthz", web::get().to(healthz))
            .route("/metrics", web::get().to(metrics::get_metrics))
            .route("/", web::get().to(pages::wallboard))
            .route("/console", web::get().to(pages::console))
            .route("/crew", web::get().to(pages::crew))
            .route("/lookup", web::get().to(pages::lookup))
            .route("/callbacks", web::get().to(pages::callbacks))
            .route("/reports", web::get().to(pages::reports))
            .route("/public", web::get().to(pages::public))
            .route(
                "/public/v1/outages.json",
                web::get().to(public::get_outages_json),
            )
            .route(
                "/public/v1/status",
                web::get().to(public::get_account_status),
            )
            .route("/sw.js", web::get().to(pages::root_file))
            .route("/manifest.webmanifest", web::get().to(pages::manifest))
            .route("/static/{file}", web::get().to(pages::asset))
            .service(
                web::scope("/api/v1")
                    .route("/events", web::post().to(events::post_events))
                    .route("/events", web::get().to(events::get_events))
                    .route("/outages", web::get().to(state::get_outages))
                    .route("/orders", web::get().to(state::get_orders))
                    .route("/crews", web::get().to(state::get_crews))
                    .route("/status", web::get().to(status::get_status))
                    .route("/notices", web::get().to(notices::get_notices))
                    .route("/notices.atom", web::get().to(notices::get_notices_atom))
                    .route("/notices/{id}/cap", web::get().to(notices::get_notice_cap))
                    .route(
                        "/notices/{id}/customers",
                        web::get().to(notices::get_notice_customers),
                    )
                    .route("/callbacks", web::get().to(callbacks::get_callbacks))
                    .route("/reports", web::get().to(reports::get_reports))
                    .route("/messages", web::get().to(state::get_messages))
                    .route("/stream", web::get().to(stream::get_stream))
                    .route("/network", web::get().to(map::get_network))
                    .route("/me", web::get().to(auth::get_me))
                    .route("/openapi.json", web::get().to(openapi::get_openapi)),
            )
    })
    .shutdown_timeout(10)
    .listen(listener)?;
    if let Some(w) = workers {
        server = server.workers(w);
    }
    Ok(server.run())
}

#[utoipa::path(get,
    path = "/healthz",
    tag = "operations",
    description = "200 while the event log answers; for load balancers. Roles: none needed.",
    responses((status = 200, description = "The store answers", body = crate::api::openapi::Health), (status = 503, description = "The store does not answer", body = crate::api::openapi::ErrorBody)))]
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({
            "status": "ok",
            "backend": state.store.backend(),
            "leader": *state.store.leadership().borrow(),
            "applied_seq": state.live.applied(),
            // Events committed to the log that this instance's engine has not applied
            // yet: a replica that stays behind should not take readers.
            "lag": (*state.store.commits().borrow() - state.live.applied()).max(0),
        })),
        Err(e) => {
            tracing::warn!(error = %e, "health check: the store does not answer");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "unavailable", "error": "the event log does not answer"}))
        }
    }
}
