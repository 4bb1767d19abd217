//! How faultline writes times: RFC 3339 in UTC, to the second where the time is on one
//! (every time an event carries), written by hand since the output stream writes
//! several per message.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};

/// RFC 3339 in UTC with the precision the time needs (`2026-07-14T03:12:09Z`).
pub fn format_time(at: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(20);
    push_time(&mut out, at);
    out
}

/// Append `at` as [`format_time`] writes it.
pub fn push_time(out: &mut String, at: DateTime<Utc>) {
    match whole_second_text(at) {
        // unwrap: the digits and separators are ASCII.
        Some(text) => out.push_str(std::str::from_utf8(&text).unwrap()),
        None => out.push_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a time on a whole second of years 0 to 9999 (every time
/// events carry, written without chrono's general formatter, which the output stream
/// calls several times per message); `None` for any other time, which chrono writes.
fn whole_second_text(at: DateTime<Utc>) -> Option<[u8; 20]> {
    use chrono::Datelike;
    let t = at.naive_utc();
    let year = t.year();
    if t.nanosecond() != 0 || !(0..=9999).contains(&year) {
        return None;
    }
    let mut b = *b"0000-00-00T00:00:00Z";
    let mut two = |at: usize, v: u32| {
        b[at] = b'0' + (v / 10) as u8;
        b[at + 1] = b'0' + (v % 10) as u8;
    };
    let year = year as u32;
    two(0, year / 100);
    two(2, year % 100);
    two(5, t.month());
    two(8, t.day());
    two(11, t.hour());
    two(14, t.minute());
    two(17, t.second());
    Some(b)
}

/// Serialize a time as [`format_time`] writes it (for `#[serde(serialize_with)]`).
pub fn serialize_time<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    match whole_second_text(*at) {
        // unwrap: the digits and separators are ASCII.
        Some(text) => s.serialize_str(std::str::from_utf8(&text).unwrap()),
        None => s.serialize_str(&format_time(*at)),
    }
}

/// Serialize an optional time as [`format_time`] writes it, or `null`.
pub fn serialize_opt_time<S: serde::Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize_time(at, s),
        None => s.serialize_none(),
    }
}
