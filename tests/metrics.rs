//! `GET /metrics` as Prometheus scrapes it (issue 24, item 1): the text format parses
//! line by line, every series has its `# TYPE`, a posted event shows in the counters
//! and the gauges say what the engine holds. The metrics address without a token is
//! tested through the binary in `tests/serve_ops.rs`.

mod common;
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::collections::BTreeMap;

use helpers::{spawn_app, TestApp, CREW7_TOKEN, WALLBOARD_TOKEN};
use serde_json::json;

/// One sample: the metric's name, its labels, its value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A scrape, parsed: the samples and each family's `# TYPE` and `# HELP`.
#[derive(Debug, Default)]
struct Exposition {
    samples: Vec<Sample>,
    types: BTreeMap<String, String>,
    helps: BTreeMap<String, String>,
}

impl Exposition {
    /// Parse the text format (0.0.4): `# HELP name text`, `# TYPE name kind`, and
    /// `name{label="value",…} value` lines; anything else fails the test, naming the line.
    fn parse(text: &str) -> Exposition {
        let mut out = Exposition::default();
        for (n, line) in text.lines().enumerate() {
            let at = || format!("line {}: {line:?}", n + 1);
            if line.trim().is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# ") {
                let mut parts = rest.splitn(3, ' ');
                let (kind, name, text) = (parts.next(), parts.next(), parts.next());
                match (kind, name, text) {
                    (Some("HELP"), Some(name), Some(text)) => {
                        out.helps.insert(name.into(), text.into());
                    }
                    (Some("TYPE"), Some(name), Some(t)) => {
                        assert!(
                            ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                            "{}: unknown type",
                            at()
                        );
                        out.types.insert(name.into(), t.into());
                    }
                    _ => panic!("{}: a comment that is neither HELP nor TYPE", at()),
                }
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{}", at()));
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|_| panic!("{}: not a number", at())),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series, BTreeMap::new()),
                Some((name, rest)) => {
                    let body = rest
                        .strip_suffix('}')
                        .unwrap_or_else(|| panic!("{}: labels not closed", at()));
                    (
                        name,
                        parse_labels(body).unwrap_or_else(|e| panic!("{}: {e}", at())),
                    )
                }
            };
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                    && !name.starts_with(|c: char| c.is_ascii_digit()),
                "{}: not a metric name",
                at()
            );
            out.samples.push(Sample {
                name: name.into(),
                labels,
                value,
            });
        }
        out
    }

    /// The value of the series `name` with exactly these labels.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }

    /// The family a sample belongs to (a histogram's `_bucket`, `_sum`, `_count`).
    fn family<'a>(&self, name: &'a str) -> &'a str {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix) {
                if self.types.contains_key(base) {
                    return base;
                }
            }
        }
        name
    }
}

/// `a="x",b="y\"z"` → {a: x, b: y"z}.
fn parse_labels(body: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if chars.next() != Some('"') {
            return Err(format!("label {name} has no quoted value"));
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\\') => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => return Err("a value ends in a backslash".into()),
                },
                Some('"') => break,
                Some(c) => value.push(c),
                None => return Err(format!("label {name}'s value is not closed")),
            }
        }
        labels.insert(name.trim().to_owned(), value);
        match chars.next() {
            None | Some(',') => {}
            Some(c) => return Err(format!("{c:?} after label {name}")),
        }
    }
    Ok(labels)
}

/// GET /metrics with this token (or none): status, content type, body.
async fn scrape_as(app: &TestApp, token: Option<&str>) -> (u16, String, String) {
    app.get_text(token, "/metrics").await
}

async fn scrape(app: &TestApp) -> Exposition {
    let (status, content_type, body) = scrape_as(app, Some(WALLBOARD_TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    Exposition::parse(&body)
}

// All in one test: the recorder is the process's, and gauges are set from the engine of
// the server scraped, so two servers scraped at once in one test binary would mix.
#[actix_web::test]
async fn a_scrape_counts_the_posted_event_and_shows_the_engine_s_outage() {
    let app = spawn_app().await;

    // Who may scrape: a token that reads everything; not a crew's, not none.
    let (status, _, body) = scrape_as(&app, None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _, body) = scrape_as(&app, Some(CREW7_TOKEN)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("/metrics"), "{body}");

    let before = scrape(&app).await;
    let accepted_before = before
        .value("faultline_events_accepted_total", &[("type", "scada")])
        .unwrap_or(0.0);
    assert_eq!(before.value("faultline_active_outages", &[]), Some(0.0));

    // A breaker-like switch opens (91 customers below it on IEEE 123); a bad event is
    // refused.
    let (status, body) = app
        .post_json(
            json!({"type":"scada","at":"2026-07-14T03:00:00Z","device":"line.sw1","state":"open"}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = app
        .post_json(
            json!({"type":"scada","at":"2026-07-14T03:00:00Z","device":"line.sw1","state":"ajar"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    app.wait_for("/api/v1/outages", |v| {
        v.as_array().is_some_and(|a| a.len() == 1)
    })
    .await;

    let after = scrape(&app).await;
    // Every series belongs to a family with a TYPE, and those faultline describes have
    // HELP; names follow Prometheus conventions.
    for s in &after.samples {
        let family = after.family(&s.name);
        let kind = after
            .types
            .get(family)
            .unwrap_or_else(|| panic!("{} has no # TYPE", s.name));
        assert!(s.name.starts_with("faultline_"), "{}", s.name);
        if kind == "counter" {
            assert!(
                s.name.ends_with("_total"),
                "a counter without _total: {}",
                s.name
            );
        }
        assert!(after.helps.contains_key(family), "{family} has no # HELP");
    }
    assert_eq!(
        after.value("faultline_events_accepted_total", &[("type", "scada")]),
        Some(accepted_before + 1.0)
    );
    assert!(
        after
            .value(
                "faultline_events_refused_total",
                &[("reason", "invalid_event")]
            )
            .unwrap_or(0.0)
            >= 1.0
    );
    assert_eq!(after.types["faultline_event_ack_seconds"], "histogram");
    let acks = after
        .value("faultline_event_ack_seconds_count", &[])
        .expect("the acknowledgement histogram has a count");
    assert!(acks >= 1.0);
    assert_eq!(
        after.value("faultline_event_ack_seconds_bucket", &[("le", "+Inf")]),
        Some(acks)
    );
    assert!(
        after
            .value("faultline_group_commit_events_count", &[])
            .unwrap_or(0.0)
            >= 1.0
    );
    assert!(
        after
            .value("faultline_engine_apply_seconds_count", &[])
            .unwrap_or(0.0)
            >= 1.0
    );

    // Gauges read from the engine as it stands.
    assert_eq!(after.value("faultline_active_outages", &[]), Some(1.0));
    assert_eq!(after.value("faultline_customers_out", &[]), Some(91.0));
    assert_eq!(after.value("faultline_engine_lag_events", &[]), Some(0.0));
    let committed = after.value("faultline_log_committed_seq", &[]).unwrap();
    assert_eq!(
        after.value("faultline_engine_applied_seq", &[]),
        Some(committed)
    );
    let orders: f64 = after
        .samples
        .iter()
        .filter(|s| s.name == "faultline_orders")
        .map(|s| s.value)
        .sum();
    assert_eq!(orders, 1.0, "one work order for the one outage");
    assert_eq!(
        after.value("faultline_orders", &[("state", "closed")]),
        Some(0.0)
    );
    assert_eq!(
        after.value("faultline_crews", &[("status", "available")]),
        Some(0.0)
    );
    assert_eq!(after.value("faultline_leader", &[]), Some(1.0));
    // No snapshot yet: every applied event would be replayed at a restart.
    assert_eq!(
        after.value("faultline_snapshot_behind_events", &[]),
        Some(committed)
    );
}

#[test]
fn the_test_s_parser_reads_labels_with_escapes_and_refuses_garbage() {
    let e = Exposition::parse(
        "# HELP x_total A thing.\n# TYPE x_total counter\nx_total{a=\"1\",b=\"q\\\"z\"} 3\ny 2.5e-3\n",
    );
    assert_eq!(e.value("x_total", &[("a", "1"), ("b", "q\"z")]), Some(3.0));
    assert_eq!(e.value("y", &[]), Some(0.0025));
    assert!(std::panic::catch_unwind(|| Exposition::parse("x{a=1} 2\n")).is_err());
    assert!(std::panic::catch_unwind(|| Exposition::parse("x two\n")).is_err());
}
