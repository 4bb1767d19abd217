//! Input events (CONTRACT section 2), parsed at the edge so nothing invalid is stored.
//!
//! Every input is a JSON object with `type` and `at`. [`Event::parse`] turns one object
//! into a typed [`Event`] or an [`EventError`] that names the field; [`parse_ndjson`]
//! does a whole request body, all or nothing, naming the line. [`Event::check_against`]
//! then checks what only the network can tell (does this customer or device exist?).
//!
//! The stored form of an event is its canonical JSON ([`Event::to_json`]): the known
//! fields in a fixed order, so that replaying the log gives byte-identical results
//! whatever the client sent. Fields the contract does not know are not kept.
//!
//! Files: this one holds the types, the edge's checks and the canonical writer;
//! `parse` reads events, `time` writes times.
//!
//! Pure: no I/O, no clock.

mod parse;
mod time;

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use parse::{parse_line, parse_ndjson};
pub use time::{format_time, push_time, serialize_opt_time, serialize_time};

use crate::network::Network;

/// Why an event was refused: the field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{}field `{field}`: {message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct EventError {
    /// 1-based line of an NDJSON body, when the event came in one.
    pub line: Option<usize>,
    /// The offending field (`type` or `at` when the object itself is wrong).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl EventError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            line: None,
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// Where a report comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportSource {
    /// A phone call to the hotline.
    Call,
    /// The utility's web form.
    Web,
    /// A smart meter's own report.
    Ami,
    /// The customer app.
    App,
}

/// What the customer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// No power at all.
    NoPower,
    /// Some circuits or one phase out.
    PartialPower,
    /// Lights flickered (a recloser operating, or nothing).
    Flicker,
    /// A conductor on the ground: a safety hazard whether or not power is on.
    WireDown,
    /// The meter itself.
    Meter,
    /// Anything else.
    Other,
}

/// Where a report is: a named service point, or a place matched to the nearest one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ReportPlace {
    /// A service point id.
    Customer {
        /// The service point's id.
        customer: String,
    },
    /// A longitude/latitude (WGS 84).
    Location {
        /// Longitude.
        lon: f64,
        /// Latitude.
        lat: f64,
    },
}

/// A customer's report (call, web, app).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The caller's idempotency key: the same id twice is one report.
    pub id: String,
    /// Where.
    #[serde(flatten)]
    pub place: ReportPlace,
    /// The channel.
    pub source: ReportSource,
    /// What is wrong.
    pub problem: Problem,
    /// Free text from the call taker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A smart meter's message: last gasp (`off`) or power back (`on`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AmiMessage {
    /// The service point whose meter spoke.
    pub customer: String,
    /// `off` or `on`.
    pub state: PowerState,
}

/// A meter's view of its supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerState {
    /// Last gasp.
    Off,
    /// Restored.
    On,
}

/// A device's state as SCADA reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchState {
    /// Open (tripped, or opened).
    Open,
    /// Closed.
    Closed,
}

/// A SCADA state change of a device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScadaChange {
    /// The edge id of the device.
    pub device: String,
    /// Its new state.
    pub state: SwitchState,
}

/// A crew as the roster describes it (new, or changed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrewUpdate {
    /// The crew's id.
    pub id: String,
    /// A name for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it can repair: `line`, `cable`, `meter`, `substation`, …
    pub skills: Vec<String>,
    /// Where it is now, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// Where it is now, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// On shift (assignable) or not.
    pub on_shift: bool,
}

/// A crew's live position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrewPosition {
    /// The crew's id.
    pub crew: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
}

/// What a crew does with an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrewActionKind {
    /// Takes the order.
    Acknowledge,
    /// Refuses it (it goes to another crew).
    Decline,
    /// Driving there.
    EnRoute,
    /// Arrived.
    OnSite,
    /// Power is back.
    Restored,
    /// Cannot restore (needs another crew or material).
    CannotRestore,
}

/// A crew's action on an order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrewAction {
    /// The acting crew.
    pub crew: String,
    /// The order acted on.
    pub order: String,
    /// What it did.
    pub action: CrewActionKind,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The cause found (with `restored`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// A dispatcher sends a crew to an order; the optimiser never undoes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dispatch {
    /// The order.
    pub order: String,
    /// The crew sent.
    pub crew: String,
}

/// A dispatcher confirms an outage, possibly at another device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutageConfirm {
    /// The outage.
    pub outage: String,
    /// The device that is open.
    pub device: String,
}

/// What planned work is: announced well ahead, or urgent maintenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannedKind {
    /// Planned work: customers are told at least 7 days ahead.
    Planned,
    /// Urgent maintenance: critical customers are told at least 24 hours ahead.
    Urgent,
}

/// A dispatcher schedules work on a device for a time window (停电预告), or changes it:
/// the same `id` again replaces the window, kind and reason (not the device).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedOutage {
    /// The notice's id, chosen by the dispatcher (`PO-1`).
    pub id: String,
    /// The device (protective device, switch or any edge) opened for the work.
    pub device: String,
    /// When the customers lose power.
    #[serde(serialize_with = "serialize_time")]
    pub start: DateTime<Utc>,
    /// When power is back.
    #[serde(serialize_with = "serialize_time")]
    pub end: DateTime<Utc>,
    /// Planned or urgent.
    pub kind: PlannedKind,
    /// Why, for the customers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A dispatcher calls planned work off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedOutageCancel {
    /// The notice's id.
    pub id: String,
    /// Why, for the customers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a customer said when called back after a restoration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackOutcome {
    /// The power is back.
    Restored,
    /// Still no power: analysis reopens for that customer.
    StillOut,
    /// Nobody answered (the callback stays pending).
    NoAnswer,
}

/// An agent's callback (回访) to a customer who reported a restored outage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Callback {
    /// The restored outage.
    pub outage: String,
    /// The service point called.
    pub customer: String,
    /// What the customer said.
    pub outcome: CallbackOutcome,
    /// The agent who called.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What happened, without its time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A customer's report.
    Report(Report),
    /// A smart meter's message.
    Ami(AmiMessage),
    /// A SCADA state change.
    Scada(ScadaChange),
    /// A crew joins or changes.
    Crew(CrewUpdate),
    /// A crew's position.
    CrewPosition(CrewPosition),
    /// A crew's action on an order.
    CrewAction(CrewAction),
    /// A dispatcher's assignment.
    Dispatch(Dispatch),
    /// A dispatcher's confirmation of an outage.
    OutageConfirm(OutageConfirm),
    /// Planned work scheduled or changed.
    PlannedOutage(PlannedOutage),
    /// Planned work called off.
    PlannedOutageCancel(PlannedOutageCancel),
    /// A callback's outcome.
    Callback(Callback),
    /// The clock moved (appended by the server when nothing else happens).
    Tick,
}

/// One input event: what happened, and when (the event's own clock).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When it happened (UTC).
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
}

/// How far ahead of the receiving server's wall clock an event may be dated: clocks
/// drift, so a few minutes are forgiven; an event from further ahead is refused at the
/// edge ([`Event::check_not_ahead`]), since applying it would move the engine's clock
/// (and every target, timer and ETA that hangs on it) into the future for good.
pub const MAX_AHEAD_MINUTES: i64 = 10;

/// The earliest time the engine takes: the Unix epoch. No utility event predates it, and
/// the engine works in Unix seconds.
pub const EARLIEST_AT: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// The latest time the engine takes (Unix seconds of `9999-01-01T00:00:00Z`): a year
/// short of the last one RFC 3339 can write, so that every target, ETA and deadline the
/// engine works out from an event's time is still a four-digit year.
pub const LATEST_AT_SECS: i64 = 253_370_764_800;

/// Longest id or name an event may carry, in characters (customer, crew, order and
/// report ids, names, skills, agents).
pub const MAX_ID_CHARS: usize = 200;

/// Longest free text an event may carry, in characters (notes, reasons, causes).
pub const MAX_TEXT_CHARS: usize = 4000;

/// The fields that hold free text (line breaks and tabs allowed in them).
const TEXT_FIELDS: [&str; 3] = ["note", "reason", "cause"];

impl Event {
    /// Whether the engine can take this event's time at all: between [`EARLIEST_AT`]
    /// and [`LATEST_AT_SECS`]. An event outside is set aside by the engine, never
    /// applied (see `Engine::apply_from_log`); the API refuses it first.
    pub fn check_time(&self) -> Result<(), EventError> {
        let secs = self.at.timestamp();
        if self.at < EARLIEST_AT || secs >= LATEST_AT_SECS {
            return Err(EventError::new(
                "at",
                format!(
                    "{} is outside the times faultline takes (1970-01-01T00:00:00Z to 9999-01-01T00:00:00Z)",
                    format_time(self.at)
                ),
            ));
        }
        Ok(())
    }

    /// The edge's rule for time, given the receiving server's wall clock `now`: an
    /// event dated more than [`MAX_AHEAD_MINUTES`] ahead of it is refused (its sender's
    /// clock is wrong). An event from the past is taken: the engine applies it as late
    /// evidence, at its own clock, which never moves backwards.
    pub fn check_not_ahead(&self, now: DateTime<Utc>) -> Result<(), EventError> {
        self.check_time()?;
        let ahead = self.at - now;
        if ahead > chrono::Duration::minutes(MAX_AHEAD_MINUTES) {
            let by = if ahead < chrono::Duration::days(2) {
                format!("{} minutes", ahead.num_minutes())
            } else {
                format!("{} days", ahead.num_days())
            };
            return Err(EventError::new(
                "at",
                format!(
                    "{} is {by} ahead of this server's clock ({}); events dated more than {MAX_AHEAD_MINUTES} minutes ahead are refused: check the sender's clock",
                    format_time(self.at),
                    format_time(now.with_nanosecond(0).unwrap_or(now)),
                ),
            ));
        }
        Ok(())
    }

    /// The edge's limits on what an event's strings may hold: ids and names at most
    /// [`MAX_ID_CHARS`] characters and no control characters; free text (`note`,
    /// `reason`, `cause`) at most [`MAX_TEXT_CHARS`], line breaks and tabs allowed. The
    /// log's own reader does not apply them, so an event stored before they existed is
    /// still read.
    pub fn check_limits(&self) -> Result<(), EventError> {
        for (name, text) in self.strings() {
            let free = TEXT_FIELDS.contains(&name);
            let max = if free { MAX_TEXT_CHARS } else { MAX_ID_CHARS };
            let chars = text.chars().count();
            if chars > max {
                return Err(EventError::new(
                    name,
                    format!("is {chars} characters long; at most {max} are taken"),
                ));
            }
            let allowed = |c: char| free && matches!(c, '\n' | '\r' | '\t');
            if let Some(c) = text.chars().find(|&c| c.is_control() && !allowed(c)) {
                return Err(EventError::new(
                    name,
                    format!("holds the control character U+{:04X}", c as u32),
                ));
            }
        }
        Ok(())
    }

    /// Every string the event carries, with its field's name.
    fn strings(&self) -> Vec<(&'static str, &str)> {
        let mut out: Vec<(&'static str, &str)> = Vec::with_capacity(4);
        fn opt<'a>(
            out: &mut Vec<(&'static str, &'a str)>,
            name: &'static str,
            v: &'a Option<String>,
        ) {
            if let Some(v) = v {
                out.push((name, v.as_str()));
            }
        }
        match &self.kind {
            EventKind::Report(r) => {
                out.push(("id", &r.id));
                if let ReportPlace::Customer { customer } = &r.place {
                    out.push(("customer", customer));
                }
                opt(&mut out, "note", &r.note);
            }
            EventKind::Ami(m) => out.push(("customer", &m.customer)),
            EventKind::Scada(s) => out.push(("device", &s.device)),
            EventKind::Crew(c) => {
                out.push(("id", &c.id));
                opt(&mut out, "name", &c.name);
                out.extend(c.skills.iter().map(|s| ("skills", s.as_str())));
            }
            EventKind::CrewPosition(p) => out.push(("crew", &p.crew)),
            EventKind::CrewAction(a) => {
                out.extend([("crew", a.crew.as_str()), ("order", a.order.as_str())]);
                opt(&mut out, "note", &a.note);
                opt(&mut out, "cause", &a.cause);
            }
            EventKind::Dispatch(d) => {
                out.extend([("order", d.order.as_str()), ("crew", d.crew.as_str())]);
            }
            EventKind::OutageConfirm(c) => {
                out.extend([("outage", c.outage.as_str()), ("device", c.device.as_str())]);
            }
            EventKind::PlannedOutage(p) => {
                out.extend([("id", p.id.as_str()), ("device", p.device.as_str())]);
                opt(&mut out, "reason", &p.reason);
            }
            EventKind::PlannedOutageCancel(p) => {
                out.push(("id", &p.id));
                opt(&mut out, "reason", &p.reason);
            }
            EventKind::Callback(cb) => {
                out.extend([
                    ("outage", cb.outage.as_str()),
                    ("customer", cb.customer.as_str()),
                ]);
                opt(&mut out, "agent", &cb.agent);
                opt(&mut out, "note", &cb.note);
            }
            EventKind::Tick => {}
        }
        out
    }

    /// Check what only the network knows: the customer, device exists.
    pub fn check_against(&self, network: &Network) -> Result<(), EventError> {
        let unknown = |field: &str, what: &str, id: &str| {
            Err(EventError::new(field, format!("no {what} has id {id:?}")))
        };
        match &self.kind {
            EventKind::Report(Report {
                place: ReportPlace::Customer { customer },
                ..
            })
            | EventKind::Ami(AmiMessage { customer, .. })
            | EventKind::Callback(Callback { customer, .. })
                if network.customer_idx(customer).is_none() =>
            {
                unknown("customer", "service point", customer)
            }
            EventKind::Scada(ScadaChange { device, .. }) if !network.has_edge(device) => {
                unknown("device", "device (edge)", device)
            }
            EventKind::OutageConfirm(OutageConfirm { device, .. })
                if network.device_by_id(device).is_none() && !network.has_edge(device) =>
            {
                unknown("device", "device", device)
            }
            EventKind::PlannedOutage(PlannedOutage { device, .. }) => {
                match network.darkened_by(device) {
                    None => unknown("device", "device (edge)", device),
                    Some(below) if below.customers == 0 => Err(EventError::new(
                        "device",
                        format!("{device:?} feeds no customers in the network's normal state"),
                    )),
                    Some(_) => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// The event's type name, as in its JSON.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            EventKind::Report(_) => "report",
            EventKind::Ami(_) => "ami",
            EventKind::Scada(_) => "scada",
            EventKind::Crew(_) => "crew",
            EventKind::CrewPosition(_) => "crew_position",
            EventKind::CrewAction(_) => "crew_action",
            EventKind::Dispatch(_) => "dispatch",
            EventKind::OutageConfirm(_) => "outage_confirm",
            EventKind::PlannedOutage(_) => "planned_outage",
            EventKind::PlannedOutageCancel(_) => "planned_outage_cancel",
            EventKind::Callback(_) => "callback",
            EventKind::Tick => "tick",
        }
    }

    /// The idempotency key of a report, if this is one.
    pub fn report_id(&self) -> Option<&str> {
        match &self.kind {
            EventKind::Report(r) => Some(&r.id),
            _ => None,
        }
    }

    /// The canonical JSON: `type`, `at`, then the event's fields in name order.
    pub fn to_json(&self) -> String {
        let mut fields = match serde_json::to_value(&self.kind) {
            Ok(Value::Object(m)) => m,
            // An EventKind always serializes to an object (it is an internally tagged enum).
            _ => Map::new(),
        };
        fields.remove("type");
        let mut out = format!(
            r#"{{"type":"{}","at":"{}""#,
            self.type_name(),
            format_time(self.at)
        );
        for (k, v) in &fields {
            out.push(',');
            out.push_str(&Value::String(k.clone()).to_string());
            out.push(':');
            out.push_str(&v.to_string());
        }
        out.push('}');
        out
    }
}
