//! The outage object (CONTRACT section 4) and its JSON.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::events::push_time;
#[cfg(test)]
use crate::events::{serialize_opt_time, serialize_time};
pub use crate::ids::{outage_name, parse_outage_name};
use crate::inference::{Rule, Site};
use crate::network::{DeviceKind, ZoneKind};

/// What kind of outage it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OutageKind {
    /// A protective device (or transformer) believed open.
    Device,
    /// One service point out (its drop or its meter), inferred from its own evidence.
    Service,
    /// A customer reported a failed meter.
    Meter,
    /// A conductor on the ground: a safety outage, power on or not.
    WireDown,
}

impl OutageKind {
    fn as_str(self) -> &'static str {
        match self {
            OutageKind::Device => "device",
            OutageKind::Service => "service",
            OutageKind::Meter => "meter",
            OutageKind::WireDown => "wire_down",
        }
    }
}

/// Where an outage stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OutageStatus {
    /// Inferred from evidence.
    Predicted,
    /// SCADA or a dispatcher says the device is open.
    Confirmed,
    /// Power is back.
    Restored,
    /// The prediction was withdrawn: merged into another outage (`merged_into`), or its
    /// evidence is better explained otherwise.
    Cancelled,
}

impl OutageStatus {
    fn as_str(self) -> &'static str {
        match self {
            OutageStatus::Predicted => "predicted",
            OutageStatus::Confirmed => "confirmed",
            OutageStatus::Restored => "restored",
            OutageStatus::Cancelled => "cancelled",
        }
    }
}

/// One outage, as the engine keeps it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Outage {
    /// The number in its id.
    pub number: u64,
    /// What kind.
    pub kind: OutageKind,
    /// The site the analyzer holds it at (none for wire-down).
    pub site: Option<Site>,
    /// The device (or service point) believed open.
    pub device: String,
    /// The device's kind, for a device outage.
    pub device_kind: Option<DeviceKind>,
    /// The feeder (its head's id).
    pub feeder: Option<String>,
    /// Status.
    pub status: OutageStatus,
    /// Customers out.
    pub customers_out: u64,
    /// Critical customers out.
    pub critical_customers_out: u32,
    /// Reports explained.
    pub reports: u32,
    /// The first few report ids explained.
    pub report_ids: Vec<String>,
    /// Last gasps explained.
    pub ami_off: u32,
    /// Earliest evidence: the service targets count from here.
    pub started_at: DateTime<Utc>,
    /// When faultline first predicted it.
    pub predicted_at: DateTime<Utc>,
    /// When power came back.
    pub restored_at: Option<DateTime<Utc>>,
    /// When it stopped being active (restored or cancelled).
    pub ended_at: Option<DateTime<Utc>>,
    /// Crew on site by.
    pub arrive_by: DateTime<Utc>,
    /// Power back by.
    pub restore_by: DateTime<Utc>,
    /// Where to draw it and send a crew.
    pub lon: f64,
    /// Where to draw it and send a crew.
    pub lat: f64,
    /// The zone whose targets apply.
    pub zone: ZoneKind,
    /// The rule or score that placed it (`to_string` for its words).
    pub rule: Rule,
    /// The score (log-likelihood ratio for faultline).
    pub score: f64,
    /// Confidence, 0..1.
    pub confidence: f64,
    /// Other devices considered, with their scores.
    pub alternatives: Vec<(String, f64)>,
    /// For a cancelled outage: the outage that now explains its evidence.
    pub merged_into: Option<String>,
    /// For an outage opened by a callback's "still out": the restored outage it
    /// follows (the customer's interruption goes on from there).
    pub follows: Option<u64>,
    /// Outages opened (or found) for customers who said "still out" after this one
    /// was restored.
    pub follow_ups: Vec<u64>,
    /// Its work order (`WO-<n>`).
    pub order: Option<String>,
    /// The crew on its order.
    pub crew: Option<String>,
    /// When the crew is expected on site.
    pub eta: Option<DateTime<Utc>>,
    /// When power is expected back (the crew's ETA plus a typical repair time).
    pub etr: Option<DateTime<Utc>>,
    pub(crate) announced: bool,
}

impl Outage {
    pub(crate) fn new(
        number: u64,
        kind: OutageKind,
        device: String,
        started_at: DateTime<Utc>,
        clock: DateTime<Utc>,
    ) -> Self {
        Self {
            number,
            kind,
            site: None,
            device,
            device_kind: None,
            feeder: None,
            status: OutageStatus::Predicted,
            customers_out: 0,
            critical_customers_out: 0,
            reports: 0,
            report_ids: Vec::new(),
            ami_off: 0,
            started_at,
            predicted_at: clock,
            restored_at: None,
            ended_at: None,
            arrive_by: started_at,
            restore_by: started_at,
            lon: 0.0,
            lat: 0.0,
            zone: ZoneKind::Urban,
            rule: Rule::default(),
            score: 0.0,
            confidence: 0.0,
            alternatives: Vec::new(),
            merged_into: None,
            follows: None,
            follow_ups: Vec::new(),
            order: None,
            crew: None,
            eta: None,
            etr: None,
            announced: false,
        }
    }

    /// `OUT-<n>`.
    pub fn id(&self) -> String {
        outage_name(self.number)
    }

    /// Neither restored nor cancelled.
    pub fn is_active(&self) -> bool {
        matches!(
            self.status,
            OutageStatus::Predicted | OutageStatus::Confirmed
        )
    }

    /// What a reader would notice changing, but the device (compared on its own, so
    /// that no name is copied to compare it).
    pub(crate) fn fingerprint(
        &self,
    ) -> (
        &'static str,
        u64,
        u32,
        u32,
        u32,
        &'static str,
        DateTime<Utc>,
    ) {
        (
            self.kind.as_str(),
            self.customers_out,
            self.critical_customers_out,
            self.reports,
            self.ami_off,
            self.status.as_str(),
            self.started_at,
        )
    }

    /// The object as the stream and the API carry it, as JSON text. Written by hand,
    /// field by field, as serde's derive would write it (`to_json_serde`, in the tests,
    /// is that derive): most of an outage message is its keys and plain-text strings,
    /// which need no escaping, and the stream writes one for every change.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(1024);
        self.push_json(&mut out);
        out
    }

    /// Append [`Self::to_json`]'s text to `out` (the stream's writer reuses one buffer).
    pub fn push_json(&self, out: &mut String) {
        out.reserve(1024);
        out.push_str("{\"id\":\"OUT-");
        push_u64(out, self.number);
        out.push_str("\",\"kind\":\"");
        out.push_str(self.kind.as_str());
        out.push_str("\",\"device\":");
        push_text(out, &self.device);
        out.push_str(",\"device_kind\":");
        push_serde(out, &self.device_kind);
        out.push_str(",\"feeder\":");
        push_opt_str(out, self.feeder.as_deref());
        out.push_str(",\"status\":\"");
        out.push_str(self.status.as_str());
        out.push_str("\",\"customers_out\":");
        push_u64(out, self.customers_out);
        out.push_str(",\"critical_customers_out\":");
        push_u64(out, self.critical_customers_out.into());
        out.push_str(",\"reports\":");
        push_u64(out, self.reports.into());
        out.push_str(",\"ami_off\":");
        push_u64(out, self.ami_off.into());
        out.push_str(",\"started_at\":");
        push_opt_time(out, Some(self.started_at));
        out.push_str(",\"predicted_at\":");
        push_opt_time(out, Some(self.predicted_at));
        out.push_str(",\"restored_at\":");
        push_opt_time(out, self.restored_at);
        out.push_str(",\"arrive_by\":");
        push_opt_time(out, Some(self.arrive_by));
        out.push_str(",\"restore_by\":");
        push_opt_time(out, Some(self.restore_by));
        out.push_str(",\"order\":");
        push_opt_str(out, self.order.as_deref());
        out.push_str(",\"crew\":");
        push_opt_str(out, self.crew.as_deref());
        out.push_str(",\"eta\":");
        push_opt_time(out, self.eta);
        out.push_str(",\"etr\":");
        push_opt_time(out, self.etr);
        out.push_str(",\"lon\":");
        push_serde(out, &self.lon);
        out.push_str(",\"lat\":");
        push_serde(out, &self.lat);
        out.push_str(",\"zone\":");
        push_serde(out, &self.zone);
        out.push_str(",\"merged_into\":");
        push_opt_str(out, self.merged_into.as_deref());
        out.push_str(",\"follows\":");
        push_opt_outage(out, self.follows);
        out.push_str(",\"follow_ups\":[");
        for (i, n) in self.follow_ups.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_opt_outage(out, Some(*n));
        }
        out.push_str("],\"evidence\":{\"rule\":");
        match &self.rule {
            Rule::Text(text) => push_text(out, text),
            // Digits, ASCII words and punctuation: nothing to escape.
            score => {
                use std::fmt::Write as _;
                let _ = write!(out, "\"{score}\"");
            }
        }
        out.push_str(",\"score\":");
        push_serde(out, &self.score);
        out.push_str(",\"confidence\":");
        push_serde(out, &self.confidence);
        out.push_str(",\"report_ids\":[");
        for (i, id) in self.report_ids.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_text(out, id);
        }
        out.push_str("],\"alternatives\":[");
        for (i, (device, score)) in self.alternatives.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"device\":");
            push_text(out, device);
            out.push_str(",\"score\":");
            push_serde(out, score);
            out.push('}');
        }
        out.push_str("]}}");
    }

    /// [`Outage::to_json`] through serde's derive: the reference the hand-written
    /// writer is checked against.
    #[cfg(test)]
    fn to_json_serde(&self) -> String {
        #[derive(Serialize)]
        struct Alternative<'a> {
            device: &'a str,
            score: f64,
        }
        #[derive(Serialize)]
        struct Evidence<'a> {
            rule: String,
            score: f64,
            confidence: f64,
            report_ids: &'a [String],
            alternatives: Vec<Alternative<'a>>,
        }
        #[derive(Serialize)]
        struct Json<'a> {
            id: String,
            kind: &'static str,
            device: &'a str,
            device_kind: Option<DeviceKind>,
            feeder: Option<&'a str>,
            status: &'static str,
            customers_out: u64,
            critical_customers_out: u32,
            reports: u32,
            ami_off: u32,
            #[serde(serialize_with = "serialize_time")]
            started_at: DateTime<Utc>,
            #[serde(serialize_with = "serialize_time")]
            predicted_at: DateTime<Utc>,
            #[serde(serialize_with = "serialize_opt_time")]
            restored_at: Option<DateTime<Utc>>,
            #[serde(serialize_with = "serialize_time")]
            arrive_by: DateTime<Utc>,
            #[serde(serialize_with = "serialize_time")]
            restore_by: DateTime<Utc>,
            order: Option<&'a str>,
            crew: Option<&'a str>,
            #[serde(serialize_with = "serialize_opt_time")]
            eta: Option<DateTime<Utc>>,
            #[serde(serialize_with = "serialize_opt_time")]
            etr: Option<DateTime<Utc>>,
            lon: f64,
            lat: f64,
            zone: ZoneKind,
            merged_into: Option<&'a str>,
            follows: Option<String>,
            follow_ups: Vec<String>,
            evidence: Evidence<'a>,
        }
        let json = Json {
            id: self.id(),
            kind: self.kind.as_str(),
            device: &self.device,
            device_kind: self.device_kind,
            feeder: self.feeder.as_deref(),
            status: self.status.as_str(),
            customers_out: self.customers_out,
            critical_customers_out: self.critical_customers_out,
            reports: self.reports,
            ami_off: self.ami_off,
            started_at: self.started_at,
            predicted_at: self.predicted_at,
            restored_at: self.restored_at,
            arrive_by: self.arrive_by,
            restore_by: self.restore_by,
            order: self.order.as_deref(),
            crew: self.crew.as_deref(),
            eta: self.eta,
            etr: self.etr,
            lon: self.lon,
            lat: self.lat,
            zone: self.zone,
            merged_into: self.merged_into.as_deref(),
            follows: self.follows.map(outage_name),
            follow_ups: self.follow_ups.iter().map(|n| outage_name(*n)).collect(),
            evidence: Evidence {
                rule: self.rule.to_string(),
                score: self.score,
                confidence: self.confidence,
                report_ids: &self.report_ids,
                alternatives: self
                    .alternatives
                    .iter()
                    .map(|(device, score)| Alternative {
                        device,
                        score: *score,
                    })
                    .collect(),
            },
        };
        // A struct of plain fields always serializes.
        serde_json::to_string(&json).unwrap_or_default()
    }
}

/// Append a whole number as serde writes it.
pub(crate) fn push_u64(out: &mut String, n: u64) {
    use std::fmt::Write;
    // unwrap: writing to a String cannot fail.
    write!(out, "{n}").unwrap();
}

/// Whether serde_json would escape anything in `s` (control characters, `"`, `\\`). A
/// look at every byte without stopping early, which the compiler runs many bytes at a
/// time: much cheaper than escaping them one by one.
pub(crate) fn needs_escape(s: &str) -> bool {
    // An integer accumulator: the compiler vectorizes the reduction (a `bool` one it
    // does not).
    s.bytes().fold(0u8, |any, b| {
        any | u8::from(b < 0x20) | u8::from(b == b'"') | u8::from(b == b'\\')
    }) != 0
}

/// Append a JSON string: as is between quotes when nothing in it needs escaping, else
/// as serde escapes it.
pub(crate) fn push_text(out: &mut String, s: &str) {
    if !needs_escape(s) {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        push_serde(out, s);
    }
}

/// An outage's name (`"OUT-<n>"`, as [`outage_name`] makes it), or `null`.
pub(crate) fn push_opt_outage(out: &mut String, number: Option<u64>) {
    match number {
        Some(n) => {
            out.push_str("\"OUT-");
            push_u64(out, n);
            out.push('"');
        }
        None => out.push_str("null"),
    }
}

pub(crate) fn push_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_text(out, s),
        None => out.push_str("null"),
    }
}

/// A time as `serialize_time` writes it (its text needs no escaping), or `null`.
pub(crate) fn push_opt_time(out: &mut String, at: Option<DateTime<Utc>>) {
    match at {
        Some(at) => {
            out.push('"');
            push_time(out, at);
            out.push('"');
        }
        None => out.push_str("null"),
    }
}

/// Append a value as serde_json writes it (numbers, enums, strings to escape).
pub(crate) fn push_serde<T: Serialize + ?Sized>(out: &mut String, value: &T) {
    /// serde_json writes whole UTF-8 pieces (text between escapes, numbers, keys).
    struct Text<'a>(&'a mut String);
    impl std::io::Write for Text<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let text = std::str::from_utf8(buf).map_err(std::io::Error::other)?;
            self.0.push_str(text);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // A plain value always serializes.
    let _ = serde_json::to_writer(Text(out), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written JSON is serde's, byte for byte, whatever the fields hold.
    #[test]
    fn to_json_is_serdes() {
        let at = DateTime::from_timestamp(1_783_994_400, 0).unwrap();
        let mut o = Outage::new(7, OutageKind::Device, "UNTRMT:1_101".into(), at, at);
        assert_eq!(o.to_json(), o.to_json_serde());
        o.device_kind = Some(DeviceKind::Transformer);
        o.feeder = Some("feeder \"north\"\\2".into());
        o.status = OutageStatus::Cancelled;
        o.customers_out = u64::MAX;
        o.critical_customers_out = 3;
        o.reports = 12;
        o.report_ids = vec![
            "R-1".into(),
            "tab\there, line\nbreak, \u{1}".into(),
            "ünï".into(),
        ];
        o.ami_off = 40;
        o.restored_at = Some(at + chrono::Duration::milliseconds(1500));
        o.ended_at = o.restored_at;
        o.eta = DateTime::from_timestamp(-99_999_999_999, 0);
        o.etr = Some(at);
        o.lon = -52.0206903;
        o.lat = f64::NAN;
        o.zone = ZoneKind::Rural;
        o.rule = "best explanation of 2 call(s) — \"quoted\" \u{7f}".into();
        o.score = 1e21;
        o.confidence = 0.1 + 0.2;
        o.alternatives = vec![("A".into(), f64::INFINITY), ("B/\\".into(), -0.0)];
        o.merged_into = Some(outage_name(3));
        o.follows = Some(2);
        o.follow_ups = vec![9, 10];
        o.order = Some("WO-1".into());
        o.crew = Some("crew 1".into());
        assert_eq!(o.to_json(), o.to_json_serde());
        o.follow_ups = vec![11];
        o.alternatives.truncate(1);
        o.report_ids.clear();
        assert_eq!(o.to_json(), o.to_json_serde());
        // A score's words, put together as the outage is written.
        for points in [None, Some(3)] {
            o.rule = Rule::Score {
                calls: 4,
                ami_off: 0,
                customers: 450,
                points,
                value: -0.04999,
                margin: 1e21,
            };
            assert_eq!(o.to_json(), o.to_json_serde());
            assert!(o.to_json().contains(&format!("\"rule\":\"{}\"", o.rule)));
        }
    }
}
