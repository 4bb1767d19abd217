//! The pages — the wallboard (`/`), the dispatcher console (`/console`), the crew page
//! (`/crew`), the call center's lookup (`/lookup`) and callback list (`/callbacks`),
//! the report (`/reports`) and the public outage page (`/public`, which needs no token
//! and reads only `/public/v1/…`) — and their scripts, styles, manifest and service worker, from
//! `wallboard/`, embedded in the binary: a control room on a closed network fetches
//! nothing from the internet. (A debug build reads them from the source folder, so a
//! page can be edited without a rebuild.)
//!
//! The pages carry no data and need no token: each one reads its token from its URL
//! (`?token=…`, kept in the browser's storage) and calls the API with it.
//!
//! Every answer from here carries [`CONTENT_SECURITY_POLICY`] and its companions (see
//! [`SECURITY_HEADERS`]): scripts, styles and connections only from this server, no
//! inline script, style element or attribute, no frames, no referrer. The pages insert
//! every value from the network, an event or the API as text (`FL.esc` in
//! `faultline.js`); the policy is the second wall, should one be missed.

use actix_web::{http::header, web, HttpRequest, HttpResponse, HttpResponseBuilder};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "wallboard/"]
struct Assets;

/// What a page may load and run: its own scripts, styles, images (and `data:` ones),
/// API calls and stream (`connect-src 'self'` covers the same-origin websocket), and
/// nothing inline. A crew name that slipped through as markup could not run script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The headers on every page, script, style, image and manifest (and on a missing
/// one). No referrer: the tokens are in the pages' URLs. No framing: a page cannot be
/// put under someone else's buttons. No sniffing: a script is only ever a script.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
];

fn secured(mut resp: HttpResponseBuilder) -> HttpResponseBuilder {
    for h in SECURITY_HEADERS {
        resp.insert_header(h);
    }
    resp
}

/// The content type of a page file, by its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

fn serve(path: &str, req: &HttpRequest) -> HttpResponse {
    let Some(file) = Assets::get(path) else {
        return secured(HttpResponse::NotFound())
            .content_type("text/plain; charset=utf-8")
            .body(format!(
                "no page {path:?}: the pages are /, /console, /crew, /lookup, /callbacks, /reports and /public"
            ));
    };
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    // Pages and scripts are revalidated on every load (an ETag answer is cheap), so
    // an upgraded server is picked up by the next reload; nothing is cached stale.
    let mut resp = secured(if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    });
    resp.insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, etag));
    if path == "sw.js" {
        // The crew page's service worker controls the whole site.
        resp.insert_header(("Service-Worker-Allowed", "/"));
    }
    if matches {
        return resp.finish();
    }
    resp.content_type(content_type(path))
        .body(file.data.into_owned())
}

/// `/`: the wallboard.
#[utoipa::path(get,
    path = "/",
    tag = "pages",
    description = "A page (HTML). It carries no data; it reads its token from ?token=… and calls the API. Roles: none to load it.",
    params(("token" = Option<String>, Query, description = "The token the page uses"), ("lang" = Option<String>, Query, description = "en or zh-CN")),
    responses((status = 200, description = "The page", body = String, content_type = "text/html")))]
pub(super) async fn wallboard(req: HttpRequest) -> HttpResponse {
    serve("index.html", &req)
}

/// `/console`: the dispatcher console.
#[utoipa::path(get,
    path = "/console",
    tag = "pages",
    description = "A page (HTML). It carries no data; it reads its token from ?token=… and calls the API. Roles: none to load it.",
    params(("token" = Option<String>, Query, description = "The token the page uses"), ("lang" = Option<String>, Query, description = "en or zh-CN")),
    responses((status = 200, description = "The page", body = String, content_type = "text/html")))]
pub(super) async fn console(req: HttpRequest) -> HttpResponse {
    serve("console.html", &req)
}

/// `/lookup`: the call-center customer lookup.
#[utoipa::path(get,
    path = "/lookup",
    tag = "pages",
    description = "A page (HTML). It carries no data; it reads its token from ?token=… and calls the API. Roles: none to load it.",
    params(("token" = Option<String>, Query, description = "The token the page uses"), ("lang" = Option<String>, Query, description = "en or zh-CN")),
    responses((status = 200, description = "The page", body = String, content_type = "text/html")))]
pub(super) async fn lookup(req: HttpRequest) -> HttpResponse {
    serve("lookup.html", &req)
}

/// `/callbacks`: the call-center agents' callback (回访) work list.
#[utoipa::path(get,
    path = "/callbacks",
    tag = "pages",
    description = "A page (HTML). It carries no data; it reads its token from ?token=… and calls the API. Roles: none to load it.",
    params(("token" = Option<String>, Query, description = "The token the page uses"), ("lang" = Option<String>, Query, description = "en or zh-CN")),
    responses((status = 200, description = "The page", body = String, content_type = "text/html")))]
pub(super) async fn callbacks(req: HttpRequest) -> HttpResponse {
    serve("callbacks.html", &req)
}

/// `/reports`: the printable reliability and workload report.
#[utoipa::path(get,
    path = "/reports",
    tag = "pages",
    description = "A page (HTML). It carries no data; it reads its token from ?token=… and calls the API. Roles: none to load it.",
    params(("token" = Option<String>, Query, description = "The token the page uses"), ("lang" = Option<String>, Query, description = "en or zh-CN")),
    responses((status = 200, description = "The page", body = String, content_type = "text/html")))]
pub(super) async fn reports(req: HttpRequest) -> HttpResponse {
    serve("reports.html", &req)
}

/// `/public`: the public outage map (no token, nothing personal).
#[utoipa::path(get,
    path = "/public",
    tag = "pages",
    description = "The public outage page (HTML): it carries no data and takes no token; it reads /public/v1/outages.json. Roles: none.",
    params(("lang" = Option<String>, Query, description = "en or zh-CN")),
    responses((status = 200, description = "The page", body = String, content_type = "text/html")))]
pub(super) async fn public(req: HttpRequest) -> HttpResponse {
    serve("public.html", &req)
}

/// `/crew`: the crew page.
#[utoipa::path(get,
    path = "/crew",
    tag = "pages",
    description = "A page (HTML). It carries no data; it reads its token from ?token=… and calls the API. Roles: none to load it.",
    params(("token" = Option<String>, Query, description = "The token the page uses"), ("lang" = Option<String>, Query, description = "en or zh-CN")),
    responses((status = 200, description = "The page", body = String, content_type = "text/html")))]
pub(super) async fn crew(req: HttpRequest) -> HttpResponse {
    serve("crew.html", &req)
}

/// `/manifest.webmanifest`: the crew page's web app manifest (installs to the home screen).
#[utoipa::path(get, path = "/manifest.webmanifest", tag = "pages",
    description = "The crew page's web app manifest. Roles: none.",
    responses((status = 200, description = "The manifest", body = String, content_type = "application/manifest+json")))]
pub(super) async fn manifest(req: HttpRequest) -> HttpResponse {
    serve("manifest.webmanifest", &req)
}

/// `/static/{file}` and the few files a browser asks for at the root.
#[utoipa::path(get,
    path = "/static/{file}",
    tag = "pages",
    description = "A page's script, style or image. Roles: none.",
    params(("file" = String, Path, description = "The file name")),
    responses((status = 200, description = "The file", body = String, content_type = "application/octet-stream"), (status = 404, description = "No such file")))]
pub(super) async fn asset(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    serve(&path, &req)
}

/// `/sw.js`, `/manifest.webmanifest`: served from the root so their scope is the site.
#[utoipa::path(get,
    path = "/sw.js",
    tag = "pages",
    description = "The crew page's service worker, served from the root so its scope is the site. Roles: none.",
    responses((status = 200, description = "The script", body = String, content_type = "text/javascript")))]
pub(super) async fn root_file(req: HttpRequest) -> HttpResponse {
    let path = req.path().trim_start_matches('/').to_owned();
    serve(&path, &req)
}
