//! Reading events: the general parse of one JSON object ([`Event::parse`]), naming the
//! field in every error, and the fast path for the plainest lines of a log
//! ([`parse_line`]), which gives the same events and the same errors.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::*;

/// Reads typed fields out of one JSON object, naming the field in every error.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn opt(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn string(&self, name: &str) -> Result<String, EventError> {
        self.opt_string(name)?
            .ok_or_else(|| EventError::new(name, "is required"))
    }

    fn opt_string(&self, name: &str) -> Result<Option<String>, EventError> {
        match self.opt(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(EventError::new(name, "must not be empty"))
            }
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(EventError::new(
                name,
                format!("must be a string, not {other}"),
            )),
        }
    }

    /// Free text: an empty string is the same as none.
    fn opt_text(&self, name: &str) -> Result<Option<String>, EventError> {
        match self.opt(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(EventError::new(
                name,
                format!("must be a string, not {other}"),
            )),
        }
    }

    fn number(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<f64>,
    ) -> Result<Option<f64>, EventError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if range.contains(&x) => Ok(Some(x)),
                _ => Err(EventError::new(
                    name,
                    format!(
                        "must be a number in {}..{}, not {v}",
                        range.start(),
                        range.end()
                    ),
                )),
            },
        }
    }

    fn time(&self, name: &str) -> Result<DateTime<Utc>, EventError> {
        let text = self.string(name)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                EventError::new(
                    name,
                    format!("must be an RFC 3339 time such as 2026-07-14T03:12:09Z ({e})"),
                )
            })
    }

    fn lon_lat(&self) -> Result<Option<(f64, f64)>, EventError> {
        let lon = self.number("lon", -180.0..=180.0)?;
        let lat = self.number("lat", -90.0..=90.0)?;
        match (lon, lat) {
            (Some(lon), Some(lat)) => Ok(Some((lon, lat))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(EventError::new("lat", "is required with lon")),
            (None, Some(_)) => Err(EventError::new("lon", "is required with lat")),
        }
    }

    fn choice<T: for<'de> Deserialize<'de>>(
        &self,
        name: &str,
        allowed: &str,
    ) -> Result<T, EventError> {
        let v = self
            .opt(name)
            .ok_or_else(|| EventError::new(name, format!("is required: one of {allowed}")))?;
        serde_json::from_value(v.clone())
            .map_err(|_| EventError::new(name, format!("must be one of {allowed}, not {v}")))
    }

    fn bool_or(&self, name: &str, default: bool) -> Result<bool, EventError> {
        match self.opt(name) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(EventError::new(
                name,
                format!("must be true or false, not {other}"),
            )),
        }
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, EventError> {
        match self.opt(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                    other => Err(EventError::new(
                        name,
                        format!("must be a list of non-empty strings; found {other}"),
                    )),
                })
                .collect(),
            Some(other) => Err(EventError::new(
                name,
                format!("must be a list of strings, not {other}"),
            )),
        }
    }
}

impl Event {
    /// Parse one event object. The error names the offending field.
    pub fn parse(value: &Value) -> Result<Event, EventError> {
        let Value::Object(map) = value else {
            return Err(EventError::new("type", "an event must be a JSON object"));
        };
        let f = Fields(map);
        let kind_name = f.string("type")?;
        let at_text = f.string("at")?;
        let at = DateTime::parse_from_rfc3339(&at_text)
            .map_err(|e| {
                EventError::new(
                    "at",
                    format!("must be an RFC 3339 time such as 2026-07-14T03:12:09Z ({e})"),
                )
            })?
            .with_timezone(&Utc);
        let kind = match kind_name.as_str() {
            "report" => {
                let place = match (f.opt_string("customer")?, f.lon_lat()?) {
                    (Some(customer), _) => ReportPlace::Customer { customer },
                    (None, Some((lon, lat))) => ReportPlace::Location { lon, lat },
                    (None, None) => {
                        return Err(EventError::new("customer", "a report needs a customer, or lon and lat"))
                    }
                };
                EventKind::Report(Report {
                    id: f.string("id")?,
                    place,
                    source: f.choice("source", "call, web, ami, app")?,
                    problem: f.choice("problem", "no_power, partial_power, flicker, wire_down, meter, other")?,
                    note: f.opt_text("note")?,
                })
            }
            "ami" => EventKind::Ami(AmiMessage {
                customer: f.string("customer")?,
                state: f.choice("state", "off, on")?,
            }),
            "scada" => EventKind::Scada(ScadaChange {
                device: f.string("device")?,
                state: f.choice("state", "open, closed")?,
            }),
            "crew" => {
                let position = f.lon_lat()?;
                EventKind::Crew(CrewUpdate {
                    id: f.string("id")?,
                    name: f.opt_string("name")?,
                    skills: f.strings("skills")?,
                    lon: position.map(|p| p.0),
                    lat: position.map(|p| p.1),
                    on_shift: f.bool_or("on_shift", true)?,
                })
            }
            "crew_position" => {
                let (lon, lat) = f
                    .lon_lat()?
                    .ok_or_else(|| EventError::new("lon", "is required (with lat)"))?;
                EventKind::CrewPosition(CrewPosition {
                    crew: f.string("crew")?,
                    lon,
                    lat,
                })
            }
            "crew_action" => EventKind::CrewAction(CrewAction {
                crew: f.string("crew")?,
                order: f.string("order")?,
                action: f.choice(
                    "action",
                    "acknowledge, decline, en_route, on_site, restored, cannot_restore",
                )?,
                note: f.opt_text("note")?,
                cause: f.opt_string("cause")?,
            }),
            "dispatch" => EventKind::Dispatch(Dispatch {
                order: f.string("order")?,
                crew: f.string("crew")?,
            }),
            "outage_confirm" => EventKind::OutageConfirm(OutageConfirm {
                outage: f.string("outage")?,
                device: f.string("device")?,
            }),
            "planned_outage" => {
                let start = f.time("start")?;
                let end = f.time("end")?;
                if end <= start {
                    return Err(EventError::new("end", "must be after start"));
                }
                if end <= at {
                    return Err(EventError::new(
                        "end",
                        "must be after at: the window is already over",
                    ));
                }
                EventKind::PlannedOutage(PlannedOutage {
                    id: f.string("id")?,
                    device: f.string("device")?,
                    start,
                    end,
                    kind: f.choice("kind", "planned, urgent")?,
                    reason: f.opt_text("reason")?,
                })
            }
            "planned_outage_cancel" => EventKind::PlannedOutageCancel(PlannedOutageCancel {
                id: f.string("id")?,
                reason: f.opt_text("reason")?,
            }),
            "callback" => EventKind::Callback(Callback {
                outage: f.string("outage")?,
                customer: f.string("customer")?,
                outcome: f.choice("outcome", "restored, still_out, no_answer")?,
                agent: f.opt_string("agent")?,
                note: f.opt_text("note")?,
            }),
            "tick" => EventKind::Tick,
            other => {
                return Err(EventError::new(
                    "type",
                    format!("unknown event type {other:?}: one of report, ami, scada, crew, crew_position, crew_action, dispatch, outage_confirm, planned_outage, planned_outage_cancel, callback, tick"),
                ))
            }
        };
        Ok(Event { at, kind })
    }
}

/// The shapes of most lines of a log (meter messages, reports naming a customer), read
/// straight into an [`Event`] without building a JSON tree first. Whatever this does not
/// take as plainly valid (another type, a missing, empty or null field, a place given
/// by coordinates, a note, escapes in a string, a duplicate key, a bad value) is left
/// to [`Event::parse`], which then gives the same event or names the error.
fn parse_common(line: &str) -> Option<Event> {
    let l = match plain_line(line) {
        Some(l) => l,
        None => {
            // A struct also reads from a JSON array; an event is an object.
            if !line.trim_start().starts_with('{') {
                return None;
            }
            serde_json::from_str(line).ok()?
        }
    };
    let customer = l.customer.filter(|c| !c.trim().is_empty())?.to_owned();
    let kind = match l.kind {
        "ami" => EventKind::Ami(AmiMessage {
            customer,
            state: match l.state? {
                "off" => PowerState::Off,
                "on" => PowerState::On,
                _ => return None,
            },
        }),
        "report" if l.lon.is_none() && l.lat.is_none() && l.note.is_none() => {
            EventKind::Report(Report {
                id: l.id.filter(|id| !id.trim().is_empty())?.to_owned(),
                place: ReportPlace::Customer { customer },
                source: l.source?,
                problem: l.problem?,
                note: None,
            })
        }
        _ => return None,
    };
    if l.at.trim().is_empty() {
        return None;
    }
    let at = DateTime::parse_from_rfc3339(l.at).ok()?.with_timezone(&Utc);
    Some(Event { at, kind })
}

/// The fields [`parse_common`] reads, borrowed from the line.
#[derive(Debug, PartialEq, Deserialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    at: &'a str,
    customer: Option<&'a str>,
    state: Option<&'a str>,
    id: Option<&'a str>,
    source: Option<ReportSource>,
    problem: Option<Problem>,
    lon: Option<serde::de::IgnoredAny>,
    lat: Option<serde::de::IgnoredAny>,
    note: Option<serde::de::IgnoredAny>,
}

/// A [`Line`] read by hand from the plainest objects (as `faultline simulate` and the
/// event log write them): every value a string without escapes or control characters,
/// no field it reads given twice (unknown keys may repeat, as serde allows). On those
/// it gives what serde's derive gives, several times faster; anything else is `None`,
/// left to serde.
fn plain_line(line: &str) -> Option<Line<'_>> {
    let b = line.as_bytes();
    let skip_space = |mut i: usize| {
        while b
            .get(i)
            .is_some_and(|&c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            i += 1;
        }
        i
    };
    // A string at `i`: its text, and the place after its closing quote.
    let string = |i: usize| -> Option<(&str, usize)> {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        // One pass to the closing quote, stopping short at an escape or a control
        // character.
        let len = b[i + 1..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        if b[i + 1 + len] != b'"' {
            return None;
        }
        // The quotes are ASCII, so the text between them is whole characters.
        Some((&line[i + 1..i + 1 + len], i + len + 2))
    };
    // Set a field once (serde refuses a duplicate).
    fn once<'a>(field: &mut Option<&'a str>, value: &'a str) -> Option<()> {
        field.replace(value).is_none().then_some(())
    }
    fn choice<'a, T: Deserialize<'a>>(value: &'a str) -> Option<T> {
        T::deserialize(serde::de::value::BorrowedStrDeserializer::<
            serde::de::value::Error,
        >::new(value))
        .ok()
    }
    let mut i = skip_space(0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_space(i + 1);
    let (mut kind, mut at, mut customer, mut state, mut id) = (None, None, None, None, None);
    let (mut source, mut problem, mut lon, mut lat, mut note) = (None, None, None, None, None);
    loop {
        let (key, after_key) = string(i)?;
        i = skip_space(after_key);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let (value, after_value) = string(skip_space(i + 1))?;
        match key {
            "type" => once(&mut kind, value)?,
            "at" => once(&mut at, value)?,
            "customer" => once(&mut customer, value)?,
            "state" => once(&mut state, value)?,
            "id" => once(&mut id, value)?,
            "source" => once(&mut source, value)?,
            "problem" => once(&mut problem, value)?,
            "lon" => once(&mut lon, value)?,
            "lat" => once(&mut lat, value)?,
            "note" => once(&mut note, value)?,
            // serde's derive passes over fields it does not know.
            _ => {}
        }
        i = skip_space(after_value);
        match b.get(i) {
            Some(b',') => i = skip_space(i + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    if skip_space(i + 1) != b.len() {
        return None;
    }
    Some(Line {
        kind: kind?,
        at: at?,
        customer,
        state,
        id,
        source: match source {
            Some(s) => Some(choice(s)?),
            None => None,
        },
        problem: match problem {
            Some(p) => Some(choice(p)?),
            None => None,
        },
        lon: lon.map(|_| serde::de::IgnoredAny),
        lat: lat.map(|_| serde::de::IgnoredAny),
        note: note.map(|_| serde::de::IgnoredAny),
    })
}

/// Parse an NDJSON body: every non-blank line one event. All or nothing: the first
/// bad line refuses the whole body, and the error names the line and the field.
pub fn parse_ndjson(body: &str) -> Result<Vec<Event>, EventError> {
    let mut events = Vec::new();
    for (i, line) in body.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event = parse_line(line).map_err(|mut e| {
            e.line = Some(i + 1);
            e
        })?;
        events.push(event);
    }
    Ok(events)
}

/// One event from one line of JSON (an event as the log stores it, say): the plainest
/// shapes read by hand ([`parse_common`]), the rest by the general parse, with the same
/// result and the same errors.
pub fn parse_line(line: &str) -> Result<Event, EventError> {
    if let Some(event) = parse_common(line) {
        return Ok(event);
    }
    let value: Value = serde_json::from_str(line).map_err(|e| EventError {
        line: None,
        field: "type".into(),
        message: format!("not a JSON object: {e}"),
    })?;
    Event::parse(&value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> EventError {
        Event::parse(&v).expect_err("must be refused")
    }

    #[test]
    fn common_lines_read_directly_give_what_the_general_parse_gives() {
        let lines = [
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"C-1","state":"off"}"#,
            r#"{"type":"ami","at":"2026-07-14T11:12:09+08:00","customer":"C-1","state":"on","x":[1]}"#,
            r#"{"type":"report","at":"2026-07-14T03:12:09Z","customer":"C-1","id":"R-1","problem":"no_power","source":"call"}"#,
            r#"{"type":"report","at":"2026-07-14T03:12:09Z","customer":"C-1","id":"R-1","problem":"meter","source":"web","note":null,"lon":null}"#,
            // Left to the general parse:
            r#"{"type":"report","at":"2026-07-14T03:12:09Z","customer":"C-1","id":"R-1","problem":"no_power","source":"call","note":"tree"}"#,
            r#"{"type":"report","at":"2026-07-14T03:12:09Z","customer":"C-1","id":"R-1","problem":"no_power","source":"call","lon":200}"#,
            r#"{"type":"report","at":"2026-07-14T03:12:09Z","lon":1.0,"lat":2.0,"id":"R-1","problem":"no_power","source":"call"}"#,
            r#"{"type":"report","at":"2026-07-14T03:12:09Z","customer":"C-1","id":" ","problem":"no_power","source":"call"}"#,
            r#"{"type":"report","at":"2026-07-14T03:12:09Z","customer":"C-1","id":"R-1","problem":"smoke","source":"call"}"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"C\u002d1","state":"off"}"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"C-1","customer":"C-2","state":"off"}"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"  ","state":"off"}"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":null,"state":"off"}"#,
            r#"{"type":"ami","at":"2026-07-14 03:12:09","customer":"C-1","state":"off"}"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"C-1","state":"Off"}"#,
            r#"["ami","2026-07-14T03:12:09Z","C-1","off",null,null,null,null,null,null]"#,
            r#"{"type":"scada","at":"2026-07-14T03:12:09Z","device":"F-1","state":"open"}"#,
        ];
        let mut direct = 0;
        for line in lines {
            let general = serde_json::from_str::<Value>(line)
                .map_err(|e| e.to_string())
                .and_then(|v| Event::parse(&v).map_err(|e| e.to_string()));
            if let Some(e) = parse_common(line) {
                direct += 1;
                assert_eq!(Ok(e), general, "{line}");
            }
            assert_eq!(
                parse_ndjson(line).map_err(|_| ()),
                general.map(|e| vec![e]).map_err(|_| ()),
                "{line}"
            );
        }
        assert_eq!(direct, 4);
    }

    /// Whatever the hand reader takes, it reads as serde's derive does.
    #[test]
    fn plain_lines_read_by_hand_give_what_serde_gives() {
        let lines = [
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"C-1","state":"off"}"#,
            r#" { "type" : "ami" ,"at":"2026-07-14T03:12:09Z",	"customer":"C-1","state":"on" } "#,
            r#"{"type":"report","at":"2026-07-14T03:12:09Z","customer":"C-1","id":"R-1","problem":"no_power","source":"call"}"#,
            r#"{"type":"report","at":"2026-07-14T03:12:09Z","customer":"C-1","id":"R-1","problem":"meter","source":"web","note":"tree","lon":"1","lat":"x"}"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"Ü-1","state":"off","extra":"x","extra":"y"}"#,
            r#"{"at":"2026-07-14T03:12:09Z","type":"ami"}"#,
            // Left to serde:
            r#"{"type":"report","at":"2026-07-14T03:12:09Z","customer":"C-1","id":"R-1","problem":"smoke","source":"call"}"#,
            r#"{"type":"report","at":"2026-07-14T03:12:09Z","customer":"C-1","id":"R-1","problem":"no_power","source":"call","lon":200}"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"C\u002d1","state":"off"}"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"C-1","customer":"C-2","state":"off"}"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":null,"state":"off"}"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"C-1","x":[1]}"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"C-1"} x"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"C-1""#,
            "{\"type\":\"ami\",\"at\":\"2026-07-14T03:12:09Z\",\"customer\":\"C\t1\"}",
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z",}"#,
            r#"{}"#,
            r#"["ami","2026-07-14T03:12:09Z","C-1","off",null,null,null,null,null,null]"#,
        ];
        let mut plain = 0;
        for line in lines {
            if let Some(l) = plain_line(line) {
                plain += 1;
                assert_eq!(Some(l), serde_json::from_str::<Line>(line).ok(), "{line}");
            }
        }
        assert_eq!(plain, 6);
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        let chrono_text =
            |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        // Whole seconds over four centuries (leap days, month ends), then the times
        // chrono writes itself: fractions, and years outside 0..=9999.
        let mut secs = -62_167_219_200i64; // 0000-01-01T00:00:00Z
        while secs < 253_402_300_800 {
            let at = DateTime::from_timestamp(secs, 0).unwrap();
            assert_eq!(format_time(at), chrono_text(at));
            secs += 86_399 * 7 + 3_599;
        }
        for (s, ns) in [
            (1_783_994_400, 500_000_000),
            (1_783_994_400, 1),
            (-62_167_219_201, 0),
        ] {
            let at = DateTime::from_timestamp(s, ns).unwrap();
            assert_eq!(format_time(at), chrono_text(at));
        }
    }

    #[test]
    fn a_report_round_trips_through_its_canonical_form() {
        let v = json!({"type":"report","at":"2026-07-14T03:12:09Z","id":"R-1","customer":"C-1042","source":"call","problem":"no_power","note":"tree on line"});
        let e = Event::parse(&v).unwrap();
        let text = e.to_json();
        assert!(
            text.starts_with(r#"{"type":"report","at":"2026-07-14T03:12:09Z""#),
            "{text}"
        );
        let again = Event::parse(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(again, e);
        assert_eq!(again.to_json(), text);
    }

    #[test]
    fn every_contract_example_parses() {
        for line in [
            r#"{"type":"report","at":"2026-07-14T03:12:09Z","id":"R-2","lon":116.41,"lat":39.91,"source":"web","problem":"wire_down"}"#,
            r#"{"type":"ami","at":"2026-07-14T03:12:09Z","customer":"C-1042","state":"off"}"#,
            r#"{"type":"scada","at":"2026-07-14T03:12:09Z","device":"BRK-3","state":"open"}"#,
            r#"{"type":"crew","at":"2026-07-14T03:12:09Z","id":"CREW-7","name":"n","skills":["line","meter"],"lon":116.3,"lat":39.9,"on_shift":true}"#,
            r#"{"type":"crew_position","at":"2026-07-14T03:12:09Z","crew":"CREW-7","lon":116.31,"lat":39.92}"#,
            r#"{"type":"crew_action","at":"2026-07-14T03:12:09Z","crew":"CREW-7","order":"WO-12","action":"acknowledge"}"#,
            r#"{"type":"dispatch","at":"2026-07-14T03:12:09Z","order":"WO-12","crew":"CREW-3"}"#,
            r#"{"type":"outage_confirm","at":"2026-07-14T03:12:09Z","outage":"OUT-5","device":"FUSE-88"}"#,
            r#"{"type":"planned_outage","at":"2026-07-01T00:00:00Z","id":"PO-1","device":"FUSE-88","start":"2026-07-14T01:00:00Z","end":"2026-07-14T05:00:00Z","kind":"planned","reason":"pole replacement"}"#,
            r#"{"type":"planned_outage_cancel","at":"2026-07-02T00:00:00Z","id":"PO-1","reason":"weather"}"#,
            r#"{"type":"callback","at":"2026-07-14T06:00:00Z","outage":"OUT-5","customer":"C-1","outcome":"still_out","agent":"A-3","note":"kitchen dark"}"#,
        ] {
            let e = Event::parse(&serde_json::from_str(line).unwrap())
                .unwrap_or_else(|e| panic!("{line}: {e}"));
            let again = Event::parse(&serde_json::from_str(&e.to_json()).unwrap()).unwrap();
            assert_eq!(again, e, "{line}");
        }
    }

    #[test]
    fn a_bad_time_names_the_at_field() {
        let e = err(json!({"type":"ami","at":"yesterday","customer":"C","state":"off"}));
        assert_eq!(e.field, "at");
    }

    #[test]
    fn an_unknown_problem_names_the_problem_field() {
        let e = err(
            json!({"type":"report","at":"2026-07-14T03:12:09Z","id":"R","customer":"C","source":"call","problem":"fire"}),
        );
        assert_eq!(e.field, "problem");
        assert!(e.message.contains("no_power"), "{}", e.message);
    }

    #[test]
    fn a_report_without_place_names_customer() {
        let e = err(
            json!({"type":"report","at":"2026-07-14T03:12:09Z","id":"R","source":"call","problem":"no_power"}),
        );
        assert_eq!(e.field, "customer");
    }

    #[test]
    fn a_latitude_out_of_range_names_lat() {
        let e = err(
            json!({"type":"crew_position","at":"2026-07-14T03:12:09Z","crew":"C","lon":1.0,"lat":91.0}),
        );
        assert_eq!(e.field, "lat");
    }

    #[test]
    fn an_unknown_type_names_type() {
        assert_eq!(
            err(json!({"type":"fax","at":"2026-07-14T03:12:09Z"})).field,
            "type"
        );
        assert_eq!(err(json!([1, 2])).field, "type");
    }

    #[test]
    fn ndjson_refuses_the_whole_body_naming_the_line() {
        let body = "{\"type\":\"tick\",\"at\":\"2026-07-14T03:12:09Z\"}\n\n{\"type\":\"scada\",\"at\":\"2026-07-14T03:12:09Z\",\"device\":\"B\",\"state\":\"ajar\"}\n";
        let e = parse_ndjson(body).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.field, "state");
        assert!(e.to_string().starts_with("line 3: field `state`"), "{e}");
    }

    #[test]
    fn a_planned_outage_names_its_bad_field() {
        let base = || json!({"type":"planned_outage","at":"2026-07-01T00:00:00Z","id":"PO-1","device":"F","start":"2026-07-14T01:00:00Z","end":"2026-07-14T05:00:00Z","kind":"planned"});
        let with = |k: &str, v: Value| {
            let mut e = base();
            e[k] = v;
            e
        };
        assert!(Event::parse(&base()).is_ok());
        assert_eq!(err(with("start", json!("soon"))).field, "start");
        assert_eq!(err(with("end", json!("2026-07-14T00:00:00Z"))).field, "end");
        assert_eq!(err(with("end", json!(null))).field, "end");
        assert_eq!(err(with("kind", json!("someday"))).field, "kind");
        assert_eq!(err(with("device", json!(""))).field, "device");
        assert_eq!(err(with("id", json!(7))).field, "id");
        let past = with("at", json!("2026-07-15T00:00:00Z"));
        let e = err(past);
        assert_eq!(e.field, "end");
        assert!(e.message.contains("already over"), "{}", e.message);
    }

    #[test]
    fn a_callback_names_its_bad_field() {
        let e = err(
            json!({"type":"callback","at":"2026-07-14T03:12:09Z","outage":"OUT-1","customer":"C","outcome":"maybe"}),
        );
        assert_eq!(e.field, "outcome");
        assert!(e.message.contains("still_out"), "{}", e.message);
        let e = err(
            json!({"type":"callback","at":"2026-07-14T03:12:09Z","customer":"C","outcome":"restored"}),
        );
        assert_eq!(e.field, "outage");
    }

    #[test]
    fn times_with_offsets_are_stored_in_utc() {
        let e = Event::parse(&json!({"type":"tick","at":"2026-07-14T11:12:09+08:00"})).unwrap();
        assert_eq!(
            e.to_json(),
            r#"{"type":"tick","at":"2026-07-14T03:12:09Z"}"#
        );
    }
}
