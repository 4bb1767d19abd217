//! The report as one flat CSV table: `section,group,metric,value`.
//!
//! Every figure of the JSON report is one row, so a spreadsheet's pivot or filter
//! gives any table back. The JSON path of a figure gives its columns: the last key is
//! `metric`, the one before it `group` (a zone, a crew, a date, an outage id, or
//! `all_days` / `excluding_med`), the rest `section`. Examples:
//!
//! ```text
//! section,group,metric,value
//! reliability,all_days,saidi_min,12.5
//! reliability.med,,t_med_min,48.2
//! reliability.daily,2026-07-14,saidi_min,3.1
//! service.by_zone,urban,on_site_share,0.93
//! workload.crews,CREW-3,hours_on_orders,7.25
//! outages,OUT-12,reports,14
//! ```
//!
//! Lists of objects use each item's `date` or `id` as its group; `calls.distribution`
//! uses the bucket (`2-5`) as its metric. Empty value = null.

use serde_json::Value;

use super::Report;

/// The header line.
pub const HEADER: &str = "section,group,metric,value";

/// The report as CSV text, with the header.
pub fn to_csv(report: &Report) -> String {
    let value = serde_json::to_value(report).unwrap_or(Value::Null);
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(HEADER);
    out.push('\n');
    let mut path: Vec<String> = Vec::new();
    walk(&value, &mut path, &mut out);
    out
}

fn walk(v: &Value, path: &mut Vec<String>, out: &mut String) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(k.clone());
                walk(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Object(map) => {
                        let key = map
                            .get("date")
                            .or_else(|| map.get("id"))
                            .and_then(Value::as_str)
                            .map_or_else(|| i.to_string(), str::to_owned);
                        for (k, v) in map {
                            if matches!(k.as_str(), "date" | "id") {
                                continue;
                            }
                            path.push(key.clone());
                            path.push(k.clone());
                            walk(v, path, out);
                            path.pop();
                            path.pop();
                        }
                    }
                    Value::Array(pair) if pair.len() == 2 && pair[0].is_string() => {
                        path.push(String::new());
                        path.push(pair[0].as_str().unwrap_or_default().to_owned());
                        walk(&pair[1], path, out);
                        path.pop();
                        path.pop();
                    }
                    other => {
                        path.push(i.to_string());
                        walk(other, path, out);
                        path.pop();
                    }
                }
            }
        }
        leaf => row(path, leaf, out),
    }
}

fn row(path: &[String], leaf: &Value, out: &mut String) {
    let (section, group, metric) = match path.len() {
        0 => return,
        1 => (path[0].clone(), String::new(), String::new()),
        2 => (path[0].clone(), String::new(), path[1].clone()),
        n => (
            path[..n - 2].join("."),
            path[n - 2].clone(),
            path[n - 1].clone(),
        ),
    };
    let value = match leaf {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (i, field) in [section, group, metric, value].iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(field, out);
    }
    out.push('\n');
}

fn push_field(s: &str, out: &mut String) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}
