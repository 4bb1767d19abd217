//! Planned-outage notices (停电预告): `GET /api/v1/notices` (JSON), the customers of
//! one notice, and the feeds other systems poll: an Atom feed whose entries carry a
//! CAP 1.2 alert each (`/api/v1/notices.atom`), and one notice's CAP 1.2 alert
//! (`/api/v1/notices/{id}/cap`), the format emergency and public-alerting systems read.
//!
//! Notices are published to the public anyway, so every role may read them and the
//! feeds; the list of a notice's customers is for dispatchers (not crew tokens).
//! Every text that goes into XML passes through [`xml_escape`].

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::engine::{Notice, NoticeStatus};
use crate::events::{format_time, PlannedKind};

/// Completed and cancelled notices stay in the feed this long after their end.
const FEED_KEEPS_DAYS: i64 = 7;
/// Who sends the alerts (CAP `sender`).
const SENDER: &str = "faultline";
/// CAP 1.2's namespace.
const CAP_NS: &str = "urn:oasis:names:tc:emergency:cap:1.2";

#[derive(Deserialize)]
pub(super) struct NoticeQuery {
    status: Option<String>,
}

/// Notices: `status=current` (the default: scheduled and active) or `all`.
#[utoipa::path(get,
    path = "/api/v1/notices",
    tag = "state",
    description = "Planned-outage notices. Roles: any token.",
    params(("status" = Option<String>, Query, description = "current or all (default current)")),
    responses((status = 200, description = "The notices", body = Vec<crate::api::openapi::Notice>), (status = 400, description = "A bad parameter, named", body = crate::api::openapi::ErrorBody), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_notices(
    _caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ApiError> {
    let all = match query.status.as_deref() {
        None | Some("current") => false,
        Some("all") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "status must be current or all, not {other:?}"
            )))
        }
    };
    let body = state.live.with_engine(|e| {
        let items: Vec<String> = e
            .planned()
            .notices()
            .filter(|n| all || n.is_current())
            .map(Notice::to_json)
            .collect();
        format!("[{}]", items.join(","))
    });
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// The service points one notice darkens (for dispatchers and the utility's own
/// customer-notification systems).
#[utoipa::path(get,
    path = "/api/v1/notices/{id}/customers",
    tag = "state",
    description = "The service points one notice darkens. Roles: wallboard, dispatcher, admin (a crew token gets 403).",
    params(("id" = String, Path, description = "The notice id (PO-1)")),
    responses((status = 200, description = "The notice id, device and customers", body = Object), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody), (status = 403, description = "This token's role may not do this; the message says why", body = crate::api::openapi::ErrorBody), (status = 404, description = "No such object", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_notice_customers(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_full_read("the customers of a planned outage")?;
    let id = path.into_inner();
    let body = state.live.with_engine(|e| {
        let n = e.planned().get(&id)?;
        let net = e.normal_network();
        let customers: Vec<serde_json::Value> = n
            .darkened
            .points
            .iter()
            .map(|c| {
                let sp = net.customer(*c);
                serde_json::json!({"id": sp.id, "account": sp.account, "customers": sp.customers, "critical": sp.critical})
            })
            .collect();
        Some(serde_json::json!({"id": n.id, "device": n.device, "customers": customers}))
    });
    let body =
        body.ok_or_else(|| ApiError::NotFound(format!("no planned outage has id {id:?}")))?;
    Ok(HttpResponse::Ok().json(body))
}

/// One notice as a CAP 1.2 alert.
#[utoipa::path(get,
    path = "/api/v1/notices/{id}/cap",
    tag = "state",
    description = "One notice as a CAP 1.2 alert. Roles: any token.",
    params(("id" = String, Path, description = "The notice id (PO-1)")),
    responses((status = 200, description = "CAP 1.2", body = String, content_type = "application/cap+xml"), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody), (status = 404, description = "No such object", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_notice_cap(
    _caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let xml = state
        .live
        .with_engine(|e| e.planned().get(&id).map(cap_alert))
        .ok_or_else(|| ApiError::NotFound(format!("no planned outage has id {id:?}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/cap+xml; charset=utf-8")
        .body(format!(r#"<?xml version="1.0" encoding="UTF-8"?>{xml}"#)))
}

/// The Atom feed of notices, each entry carrying its CAP 1.2 alert.
#[utoipa::path(get,
    path = "/api/v1/notices.atom",
    tag = "state",
    description = "The notices as an Atom feed, each entry with its CAP 1.2 alert. Roles: any token.",
    responses((status = 200, description = "Atom", body = String, content_type = "application/atom+xml"), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_notices_atom(
    _caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = state.live.with_engine(|e| {
        let clock = e.clock();
        let keep_after = clock.map(|c| c - chrono::Duration::days(FEED_KEEPS_DAYS));
        let notices: Vec<&Notice> = e
            .planned()
            .notices()
            .filter(|n| n.is_current() || keep_after.is_none_or(|k| n.end >= k))
            .collect();
        atom_feed(&notices, clock)
    });
    Ok(HttpResponse::Ok()
        .content_type("application/atom+xml; charset=utf-8")
        .body(body))
}

/// Text made safe for XML content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An id made safe for CAP identifiers and URNs (no spaces, commas or markup):
/// percent-encoding of everything but letters, digits and `-._`.
fn safe_id(id: &str) -> String {
    let mut out = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// CAP 1.2 times: `2026-07-14T03:12:09-00:00` (CAP forbids `Z`).
fn cap_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S-00:00").to_string()
}

fn cap_identifier(n: &Notice, revision: u32) -> String {
    format!("{SENDER}-notice-{}-{revision}", safe_id(&n.id))
}

fn headline(n: &Notice) -> String {
    let what = match (n.status, n.kind) {
        (NoticeStatus::Cancelled, _) => "Cancelled: planned power outage",
        (_, PlannedKind::Planned) => "Planned power outage",
        (_, PlannedKind::Urgent) => "Urgent maintenance power outage",
    };
    format!(
        "{what} {}: {} to {} UTC",
        n.id,
        n.start.format("%Y-%m-%d %H:%M"),
        n.end.format("%Y-%m-%d %H:%M")
    )
}

fn description(n: &Notice) -> String {
    let mut text = format!(
        "Work on device {}{}. {} customers ({} critical) will be without power from {} to {} UTC.",
        n.device,
        n.feeder
            .as_deref()
            .map(|f| format!(" (feeder {f})"))
            .unwrap_or_default(),
        n.darkened.customers,
        n.darkened.critical,
        n.start.format("%Y-%m-%d %H:%M"),
        n.end.format("%Y-%m-%d %H:%M"),
    );
    if let Some(reason) = &n.reason {
        text.push_str(&format!(" Reason: {reason}."));
    }
    if let Some(late) = &n.late_reason {
        text.push_str(&format!(" Late notice: {late}."));
    }
    if n.status == NoticeStatus::Cancelled {
        text.push_str(" This work has been called off");
        if let Some(why) = &n.cancel_reason {
            text.push_str(&format!(": {why}"));
        }
        text.push('.');
    }
    text
}

/// One notice as a CAP 1.2 `<alert>` element (no XML declaration).
pub fn cap_alert(n: &Notice) -> String {
    let msg_type = match (n.status, n.revision) {
        (NoticeStatus::Cancelled, _) => "Cancel",
        (_, 1) => "Alert",
        _ => "Update",
    };
    let references = match (n.revision, n.previous_at) {
        (r, Some(prev)) if r > 1 => format!(
            "<references>{SENDER},{},{}</references>",
            cap_identifier(n, r - 1),
            cap_time(prev)
        ),
        _ => String::new(),
    };
    let urgency = match n.status {
        NoticeStatus::Active => "Immediate",
        NoticeStatus::Completed | NoticeStatus::Cancelled => "Past",
        NoticeStatus::Scheduled => match n.kind {
            PlannedKind::Planned => "Future",
            PlannedKind::Urgent => "Expected",
        },
    };
    let severity = if n.darkened.critical > 0 {
        "Moderate"
    } else {
        "Minor"
    };
    let status = serde_json::to_value(n.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let kind = match n.kind {
        PlannedKind::Planned => "planned",
        PlannedKind::Urgent => "urgent",
    };
    let parameters: Vec<(&str, String)> = vec![
        ("notice_id", n.id.clone()),
        ("notice_kind", kind.into()),
        ("notice_status", status),
        ("device", n.device.clone()),
        ("customers", n.darkened.customers.to_string()),
        ("critical_customers", n.darkened.critical.to_string()),
        ("late_notice", n.late.to_string()),
        ("noticed_at", format_time(n.noticed_at)),
        ("notice_due", format_time(n.notice_due())),
    ];
    let params: String = parameters
        .iter()
        .map(|(k, v)| {
            format!(
                "<parameter><valueName>{}</valueName><value>{}</value></parameter>",
                k,
                xml_escape(v)
            )
        })
        .collect();
    let area_desc = format!(
        "Customers fed through device {}{}",
        n.device,
        n.feeder
            .as_deref()
            .map(|f| format!(" on feeder {f}"))
            .unwrap_or_default()
    );
    format!(
        concat!(
            r#"<alert xmlns="{ns}">"#,
            "<identifier>{identifier}</identifier>",
            "<sender>{sender}</sender>",
            "<sent>{sent}</sent>",
            "<status>Actual</status>",
            "<msgType>{msg_type}</msgType>",
            "<scope>Public</scope>",
            "{references}",
            "<info>",
            "<language>en-US</language>",
            "<category>Infra</category>",
            "<event>Power outage (planned work)</event>",
            "<responseType>Prepare</responseType>",
            "<urgency>{urgency}</urgency>",
            "<severity>{severity}</severity>",
            "<certainty>Likely</certainty>",
            "<onset>{onset}</onset>",
            "<expires>{expires}</expires>",
            "<senderName>faultline repair dispatch</senderName>",
            "<headline>{headline}</headline>",
            "<description>{description}</description>",
            "{params}",
            "<area><areaDesc>{area_desc}</areaDesc><circle>{lat:.6},{lon:.6} {radius:.3}</circle></area>",
            "</info>",
            "</alert>"
        ),
        ns = CAP_NS,
        identifier = cap_identifier(n, n.revision),
        sender = SENDER,
        sent = cap_time(n.updated_at),
        msg_type = msg_type,
        references = references,
        urgency = urgency,
        severity = severity,
        onset = cap_time(n.start),
        expires = cap_time(n.end),
        headline = xml_escape(&headline(n)),
        description = xml_escape(&description(n)),
        params = params,
        area_desc = xml_escape(&area_desc),
        lat = n.lat,
        lon = n.lon,
        radius = n.radius_km.max(0.1),
    )
}

/// The Atom feed (RFC 4287) of these notices; `clock` is the engine's.
pub fn atom_feed(notices: &[&Notice], clock: Option<DateTime<Utc>>) -> String {
    let updated = notices
        .iter()
        .map(|n| n.updated_at)
        .max()
        .or(clock)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push_str(r#"<feed xmlns="http://www.w3.org/2005/Atom">"#);
    out.push_str("<id>urn:faultline:notices</id>");
    out.push_str("<title>faultline: planned power outage notices</title>");
    out.push_str(&format!("<updated>{}</updated>", format_time(updated)));
    out.push_str(r#"<link rel="self" href="/api/v1/notices.atom"/>"#);
    out.push_str("<author><name>faultline repair dispatch</name></author>");
    for n in notices {
        let title = if n.late {
            format!("[late notice] {}", headline(n))
        } else {
            headline(n)
        };
        out.push_str("<entry>");
        out.push_str(&format!(
            "<id>urn:faultline:notice:{}</id>",
            xml_escape(&safe_id(&n.id))
        ));
        out.push_str(&format!("<title>{}</title>", xml_escape(&title)));
        out.push_str(&format!(
            "<published>{}</published>",
            format_time(n.issued_at)
        ));
        out.push_str(&format!("<updated>{}</updated>", format_time(n.updated_at)));
        out.push_str(&format!(
            r#"<link rel="alternate" type="application/cap+xml" href="/api/v1/notices/{}/cap"/>"#,
            xml_escape(&safe_id(&n.id))
        ));
        out.push_str(&format!(
            "<summary>{}</summary>",
            xml_escape(&description(n))
        ));
        out.push_str(r#"<content type="application/cap+xml">"#);
        out.push_str(&cap_alert(n));
        out.push_str("</content>");
        out.push_str("</entry>");
    }
    out.push_str("</feed>");
    out
}
