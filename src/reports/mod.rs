//! Reliability and workload reports for any period and region, from the event log.
//!
//! # What it owns
//! - [`Query`]: the period (`from`, `to`, UTC; days counted with `utc_offset`) and the
//!   region (a service-target `zone` and/or a `feeder`), parsed at the edge with errors
//!   that name the parameter.
//! - [`Records`]: the outage and work-order objects exactly as the stream and the API
//!   carry them (CONTRACT section 4), in their final state, and the planned-outage
//!   notices with the service points they darken. They come from the engine
//!   after it has applied the log — the live one inside `serve`, or one that replays an
//!   events file for `faultline report` — so a report is a pure function of the log.
//! - [`reliability`]: IEEE 1366 indices (SAIDI, SAIFI, CAIDI, CAIFI, MAIFI, ASAI) with
//!   and without Major Event Days (the 2.5-beta method), customer-minutes counted once
//!   per customer however many outages overlap it.
//! - [`service`]: service-target compliance by zone and by crew, workload per crew and
//!   per dispatcher, calls per outage.
//! - [`csv`]: the report as one flat CSV table.
//!
//! # Invariants
//! - Pure: no I/O, no clock. "Now" is the records' `as_of` (the engine's clock).
//! - A customer is interrupted over the *union* of the intervals of every unplanned
//!   outage whose device is above it (a fuse out inside a breaker outage, a follow-up
//!   outage for a customer still out after a callback): overlapping minutes count once,
//!   and one continuous dark spell is one interruption. A follow-up outage (`follows`)
//!   bridges the gap: its customers that were in the outage it follows are dark from
//!   that outage's restoration to the follow-up's start too.
//! - Planned outages never enter the unplanned indices; they are reported apart. They
//!   are the active and completed planned-outage notices (their customers dark from
//!   the window's start, or from when the notice took effect if later, to its end or
//!   up to `as_of`; a cancelled notice darkened nobody), and any outage object marked
//!   `kind: "planned"` or `planned: true`.
//!
//! # Which customers an outage darkens
//! The service points below the outage's device in the network's normal state (as the
//! network file gives it; later switching is not replayed here), each weighted by its
//! `customers`, plus a transformer's customers not listed one by one. A single-customer
//! outage (its own service point, or a failed meter) darkens that point only. A
//! `wire_down` safety outage darkens nobody by itself.

pub mod command;
pub mod csv;
pub mod reliability;
pub mod service;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, Notice, NoticeStatus};
use crate::events::format_time;
use crate::network::{CustomerIdx, Network, ZoneKind};

pub use reliability::Units;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The whole report as one JSON object.
    Json,
    /// One flat table: section,group,metric,value.
    Csv,
}

/// Render a report in a format.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default(),
        Format::Csv => csv::to_csv(report),
    }
}

/// A bad report parameter, naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {message}")]
pub struct ReportError {
    /// The parameter (`from`, `to`, `zone`, `feeder`, `utc_offset`, `format`).
    pub parameter: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn bad(parameter: &'static str, message: impl Into<String>) -> ReportError {
    ReportError {
        parameter,
        message: message.into(),
    }
}

/// What a report covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Start of the period (inclusive).
    pub from: DateTime<Utc>,
    /// End of the period (exclusive).
    pub to: DateTime<Utc>,
    /// Only this service-target zone.
    pub zone: Option<ZoneKind>,
    /// Only this feeder (its head's id).
    pub feeder: Option<String>,
    /// The offset of the utility's local day from UTC (days for the MED method).
    pub utc_offset: FixedOffset,
}

/// The query's parameters as text, as the API and the command line take them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueryText {
    /// RFC 3339 time, or a date `YYYY-MM-DD` (the start of that local day).
    pub from: Option<String>,
    /// RFC 3339 time, or a date `YYYY-MM-DD` (the end of that local day).
    pub to: Option<String>,
    /// `urban`, `suburban` or `rural`.
    pub zone: Option<String>,
    /// A feeder head's id.
    pub feeder: Option<String>,
    /// `+08:00` style.
    pub utc_offset: Option<String>,
}

impl Query {
    /// Check the parameters against the network. A missing `from` is the start of the
    /// local day of `as_of`; a missing `to` is the end of that day (or of `from`'s day,
    /// if later).
    pub fn parse(
        text: &QueryText,
        net: &Network,
        as_of: DateTime<Utc>,
    ) -> Result<Query, ReportError> {
        let utc_offset = match text.utc_offset.as_deref().filter(|s| !s.is_empty()) {
            None => FixedOffset::east_opt(0).ok_or_else(|| bad("utc_offset", "internal"))?,
            Some(s) => parse_offset(s)?,
        };
        let today = as_of.with_timezone(&utc_offset).date_naive();
        let from = match text.from.as_deref().filter(|s| !s.is_empty()) {
            None => day_start(today, utc_offset),
            Some(s) => parse_when("from", s, utc_offset, false)?,
        };
        let to = match text.to.as_deref().filter(|s| !s.is_empty()) {
            // The end of today, or of `from`'s day if that is later.
            None => {
                let from_day = from.with_timezone(&utc_offset).date_naive();
                day_start(today.max(from_day), utc_offset) + Duration::days(1)
            }
            Some(s) => parse_when("to", s, utc_offset, true)?,
        };
        if to <= from {
            return Err(bad(
                "to",
                format!(
                    "must be after from ({} is not after {})",
                    format_time(to),
                    format_time(from)
                ),
            ));
        }
        if to - from > Duration::days(366 * 20) {
            return Err(bad("to", "a period longer than 20 years is not a report"));
        }
        let zone = match text.zone.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some("urban") => Some(ZoneKind::Urban),
            Some("suburban") => Some(ZoneKind::Suburban),
            Some("rural") => Some(ZoneKind::Rural),
            Some(other) => {
                return Err(bad(
                    "zone",
                    format!("must be urban, suburban or rural, not {other:?}"),
                ))
            }
        };
        let feeder = match text.feeder.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(f) if net.feeder_ids().any(|id| id == f) => Some(f.to_owned()),
            Some(f) => {
                let known: Vec<&str> = net.feeder_ids().take(10).collect();
                return Err(bad(
                    "feeder",
                    format!(
                        "no feeder {f:?} in the network (its feeders: {})",
                        known.join(", ")
                    ),
                ));
            }
        };
        Ok(Query {
            from,
            to,
            zone,
            feeder,
            utc_offset,
        })
    }

    /// The local day a time falls on.
    pub fn day_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.utc_offset).date_naive()
    }
}

fn day_start(day: NaiveDate, offset: FixedOffset) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (midnight - Duration::seconds(i64::from(offset.local_minus_utc()))).and_utc()
}

fn parse_offset(s: &str) -> Result<FixedOffset, ReportError> {
    let err = || {
        bad(
            "utc_offset",
            format!("must look like +08:00 or -05:00, not {s:?}"),
        )
    };
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') | Some(b' ') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(err()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(err)?;
    let h: i32 = h.parse().map_err(|_| err())?;
    let m: i32 = m.parse().map_err(|_| err())?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return Err(err());
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(err)
}

fn parse_when(
    parameter: &'static str,
    s: &str,
    offset: FixedOffset,
    end_of_day: bool,
) -> Result<DateTime<Utc>, ReportError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let start = day_start(d, offset);
        return Ok(if end_of_day {
            start + Duration::days(1)
        } else {
            start
        });
    }
    Err(bad(
        parameter,
        format!(
            "must be an RFC 3339 time (2026-07-14T00:00:00Z) or a date (2026-07-14), not {s:?}"
        ),
    ))
}

/// An outage object as the stream carries it (the fields a report reads).
#[derive(Debug, Clone, Deserialize)]
pub struct OutageRecord {
    /// `OUT-<n>`.
    pub id: String,
    /// `device`, `service`, `meter`, `wire_down` (and `planned` where the log has
    /// planned work).
    pub kind: String,
    /// The device (or service point) open.
    pub device: String,
    /// The feeder's head.
    pub feeder: Option<String>,
    /// `predicted`, `confirmed`, `restored`, `cancelled`.
    pub status: String,
    /// Customers out.
    pub customers_out: u64,
    /// Reports (calls, web, app) explained.
    pub reports: u32,
    /// Earliest evidence.
    pub started_at: DateTime<Utc>,
    /// Power back.
    pub restored_at: Option<DateTime<Utc>>,
    /// Crew on site by.
    pub arrive_by: DateTime<Utc>,
    /// Power back by.
    pub restore_by: DateTime<Utc>,
    /// Its work order.
    pub order: Option<String>,
    /// `urban`, `suburban`, `rural`.
    pub zone: String,
    /// Planned work, where the object says so.
    #[serde(default)]
    pub planned: Option<bool>,
    /// For an outage opened (or found) by a callback's "still out": the restored outage
    /// it follows. Its customers that were also in that outage never got power back.
    #[serde(default)]
    pub follows: Option<String>,
}

impl OutageRecord {
    /// Planned work: not in the unplanned indices.
    pub fn is_planned(&self) -> bool {
        self.kind == "planned" || self.planned == Some(true)
    }

    /// Withdrawn or merged: not an outage of its own.
    pub fn is_cancelled(&self) -> bool {
        self.status == "cancelled"
    }

    /// Not yet restored.
    pub fn is_active(&self) -> bool {
        self.status == "predicted" || self.status == "confirmed"
    }

    /// Does it lie in the query's region (by its own zone and feeder)?
    pub fn in_region(&self, q: &Query) -> bool {
        q.zone.is_none_or(|z| zone_name(z) == self.zone)
            && q.feeder
                .as_deref()
                .is_none_or(|f| self.feeder.as_deref() == Some(f))
    }
}

/// One step of an order's history.
#[derive(Debug, Clone, Deserialize)]
pub struct StepRecord {
    /// The state entered.
    pub state: String,
    /// When.
    pub at: DateTime<Utc>,
    /// `faultline`, `dispatcher` or a crew id.
    pub by: String,
    /// The crew holding the order after the step.
    #[serde(default)]
    pub crew: Option<String>,
}

/// A work-order object as the stream carries it (the fields a report reads).
#[derive(Debug, Clone, Deserialize)]
pub struct OrderRecord {
    /// `WO-<n>`.
    pub id: String,
    /// `OUT-<n>`.
    pub outage: String,
    /// When a crew was first on site.
    pub on_site_at: Option<DateTime<Utc>>,
    /// Every change.
    pub history: Vec<StepRecord>,
}

/// A planned-outage notice (the fields a report reads), from the engine's
/// [`crate::engine::PlannedBook`].
#[derive(Debug, Clone)]
pub struct PlannedRecord {
    /// `PO-1`, the dispatcher's id.
    pub id: String,
    /// The device or edge opened for the work.
    pub device: String,
    /// Where it stands: only an active or completed notice darkened anyone.
    pub status: NoticeStatus,
    /// When its customers went dark: the window's start, or when the notice took effect
    /// if that was later ([`crate::engine::Notice::dark_from`]).
    pub from: DateTime<Utc>,
    /// The window's end (for a completed notice, when the work ended).
    pub end: DateTime<Utc>,
    /// The service points it darkens, in index order (the notice's `darkened.points`).
    pub points: Vec<CustomerIdx>,
    /// Customers it darkens, counting those not listed one by one.
    pub customers: u64,
}

impl PlannedRecord {
    /// The record of a notice.
    pub fn of_notice(n: &Notice) -> PlannedRecord {
        PlannedRecord {
            id: n.id.clone(),
            device: n.device.clone(),
            status: n.status,
            from: n.dark_from(),
            end: n.end,
            points: n.darkened.points.clone(),
            customers: n.darkened.customers,
        }
    }

    /// Did the work darken its customers (active or completed)?
    pub fn darkened_anyone(&self) -> bool {
        matches!(self.status, NoticeStatus::Active | NoticeStatus::Completed)
    }
}

/// What a report is computed from: the final outage and order objects, and the
/// planned-outage notices.
#[derive(Debug, Clone)]
pub struct Records {
    /// Every outage, in id order.
    pub outages: Vec<OutageRecord>,
    /// Every planned-outage notice, in id order.
    pub planned: Vec<PlannedRecord>,
    /// Every work order.
    pub orders: Vec<OrderRecord>,
    /// "Now": the engine's clock (the latest event applied).
    pub as_of: DateTime<Utc>,
    /// The time of the first event in the log (the MED history starts that day).
    pub log_start: DateTime<Utc>,
}

impl Records {
    /// The outage and order objects of an engine that has applied the log, as the API
    /// serves them, and its planned-outage notices. `log_start` is the first event's
    /// time, if known.
    pub fn from_engine(
        engine: &Engine,
        log_start: Option<DateTime<Utc>>,
    ) -> Result<Records, serde_json::Error> {
        let outages = engine
            .outages()
            .map(|o| serde_json::from_str::<OutageRecord>(&o.to_json()))
            .collect::<Result<Vec<_>, _>>()?;
        let orders = engine
            .dispatch()
            .orders()
            .map(|o| serde_json::from_str::<OrderRecord>(&o.to_json()))
            .collect::<Result<Vec<_>, _>>()?;
        let planned = engine
            .planned()
            .notices()
            .map(PlannedRecord::of_notice)
            .collect();
        let first_outage = outages.iter().map(|o| o.started_at).min();
        let as_of = engine
            .clock()
            .or(first_outage)
            .unwrap_or(DateTime::UNIX_EPOCH);
        Ok(Records {
            outages,
            planned,
            orders,
            as_of,
            log_start: log_start.or(first_outage).unwrap_or(as_of),
        })
    }
}

/// The name of a zone kind, as JSON writes it.
pub fn zone_name(z: ZoneKind) -> &'static str {
    match z {
        ZoneKind::Urban => "urban",
        ZoneKind::Suburban => "suburban",
        ZoneKind::Rural => "rural",
    }
}

/// The period and region a report covers, as written in it.
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    /// Start (inclusive).
    pub from: String,
    /// End (exclusive).
    pub to: String,
    /// The local day's offset from UTC.
    pub utc_offset: String,
    /// The engine's clock when the report was made: ongoing outages count up to here.
    pub as_of: String,
    /// The zone, or null for all.
    pub zone: Option<&'static str>,
    /// The feeder, or null for all.
    pub feeder: Option<String>,
}

/// A whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Period and region.
    pub scope: Scope,
    /// Where the figures come from and the rules applied, in words.
    pub source: Vec<String>,
    /// IEEE 1366 indices, MEDs, planned outages.
    pub reliability: reliability::Reliability,
    /// Service targets met, by zone and crew.
    pub service: service::Service,
    /// Work per crew and per dispatcher.
    pub workload: service::Workload,
    /// Calls per outage.
    pub calls: service::Calls,
    /// One row per outage of the period and region.
    pub outages: Vec<service::OutageRow>,
}

/// Build a report.
pub fn build(net: &Network, units: &Units, records: &Records, q: &Query) -> Report {
    let reliability = reliability::compute(net, units, records, q);
    let (service, workload, calls, outages) = service::compute(records, q);
    Report {
        scope: Scope {
            from: format_time(q.from),
            to: format_time(q.to),
            utc_offset: q.utc_offset.to_string(),
            as_of: format_time(records.as_of),
            zone: q.zone.map(zone_name),
            feeder: q.feeder.clone(),
        },
        source: vec![
            "computed from the event log: the outage and work-order objects the engine derives from it (as GET /api/v1/outages?status=all and /orders?status=all carry them)".into(),
            "an interruption belongs to the period (and the day) in which it began; one still going counts up to as_of".into(),
            "customers of an outage: the service points below its device in the network's normal state (a single-customer or meter outage: that point); customers served: every customer of the network in the region".into(),
            "a customer inside several overlapping outages (nested devices, follow-ups) is interrupted over the union of their intervals: overlapping minutes count once".into(),
            "a follow-up outage (a customer said \"still out\" when called back): its customers that were in the outage it follows stayed dark from that outage's restoration to the follow-up's start, so it is one interruption with all its minutes".into(),
            "sustained = longer than 5 minutes, or still going at as_of (SAIDI, SAIFI, CAIDI, CAIFI); momentary = 5 minutes or less (MAIFI)".into(),
            "Major Event Days are found on the whole network's daily SAIDI (IEEE 1366), also when the report covers a zone or a feeder; the region's figures without MEDs leave those days out".into(),
            "ASAI counts the interrupted minutes inside the period (up to as_of) of every sustained interruption overlapping it, clipped to the period".into(),
            "planned outages (the active and completed planned-outage notices: their customers from the window's start, or from when the notice took effect if later, to its end, or up to as_of while the work goes on; cancelled notices are not counted) are excluded from every unplanned index and from target compliance; they are reported apart".into(),
            "cancelled outages (merged into another, or withdrawn) are not outages; their calls count on the outage that took them over".into(),
        ],
        reliability,
        service,
        workload,
        calls,
        outages,
    }
}
