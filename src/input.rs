//! What the commands read from files: a network file ([`load_network`]) and an events
//! file ([`read_events`]), and applying an events file to an engine the way `serve`
//! applies its log ([`apply_all`]). Used by `serve`, `replay`, `report`, `simulate`,
//! the demo and the benchmarks.

use anyhow::Context;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::engine::{Engine, Output};
use crate::events::{parse_line, Event};
use crate::network::{LoadOptions, Network};

/// The network file a command loads, and how (the flags `replay`, `report` and
/// `simulate` share).
#[derive(Debug, Clone, clap::Args)]
pub struct NetworkArgs {
    /// The network file (contract GeoJSON).
    #[arg(long)]
    pub network: std::path::PathBuf,
    /// Add lateral fuses to a network that has none (see `network::protection`; as the
    /// log was served with).
    #[arg(long)]
    pub add_protection: bool,
    /// Load a network with invalid features set aside (and listed) instead of refusing
    /// it (as the log was served with).
    #[arg(long)]
    pub set_aside_invalid: bool,
}

impl NetworkArgs {
    /// Load the file ([`load_network`]).
    pub fn load(&self) -> anyhow::Result<Network> {
        load_network(&self.network, self.add_protection, self.set_aside_invalid)
    }
}

/// Load a network file with the settings' options, logging what it took. The file is
/// read as a stream, one feature at a time, never held whole: a 1,000,000-customer file
/// (951 MB) peaks at 835 MiB this way (BENCHMARKS.md, network load).
pub fn load_network(
    path: &std::path::Path,
    add_protection: bool,
    set_aside_invalid: bool,
) -> anyhow::Result<Network> {
    let started = Instant::now();
    let options = LoadOptions {
        add_protection,
        set_aside_invalid,
    };
    let file = std::fs::File::open(path)
        .with_context(|| format!("opening the network file {}", path.display()))?;
    let network = Network::from_geojson_reader(file, &options)
        .with_context(|| format!("loading {}", path.display()))?;
    let s = network.summary();
    tracing::info!(
        file = %path.display(),
        nodes = s.nodes,
        edges = s.edges,
        customers = s.customers,
        feeders = s.feeders,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "network loaded"
    );
    for note in network.notes() {
        tracing::info!(%note, "network note");
    }
    for problem in network.set_aside() {
        tracing::warn!(feature = %problem.feature, message = %problem.message, "set aside");
    }
    Ok(network)
}

/// An events file, read and checked, in the order its events are applied.
#[derive(Debug, Default)]
pub struct EventsFile {
    /// The events to apply, in order.
    pub events: Vec<Event>,
    /// Each event's seq in the log it was exported from (`GET /api/v1/events` writes
    /// it first on each line), where the file says.
    pub seqs: Vec<Option<i64>>,
    /// In an export of a log, the lines that cannot be read as events (seq, why): set
    /// aside in their place, as `serve` sets them aside.
    pub unreadable: Vec<(i64, String)>,
    /// In any other file, lines set aside by the edge's time rule (line, why), already
    /// reported on standard error.
    pub set_aside: Vec<(usize, String)>,
}

/// Read an events file. Two kinds, told apart by their lines:
///
/// - **An export of a log** (`GET /api/v1/events`: every line starts with its `seq`)
///   is applied as `serve` applied it: in seq order (an event that came late is late
///   evidence here too), every stored event given to the engine, and a line that cannot
///   be read set aside in its place with an `event.set_aside` message.
/// - **Any other file** is input, as a request body is: a line that is not an event
///   refuses the file whole (naming the line and the field), and an event the API
///   would refuse for its time — more than [`crate::events::MAX_AHEAD_MINUTES`] ahead of
///   `now`, or outside the times the engine takes — is set aside, reported on standard
///   error, and the rest read on. Applied in time order (a stable sort: equal times
///   keep their file order).
pub fn read_events(path: &std::path::Path, now: DateTime<Utc>) -> anyhow::Result<EventsFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let lines = || {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
    };
    let export = lines().next().is_some() && lines().all(|(_, l)| exported_seq(l).is_some());
    let mut file = EventsFile::default();
    for (i, line) in lines() {
        let seq = exported_seq(line);
        // An export's line is the stored text with its seq put first: read the stored
        // text itself, so that what is said of it is what `serve` says.
        let stored;
        let body = match seq {
            Some(seq) if export => {
                stored = format!(
                    "{{{}",
                    &line.trim_start()[format!("{{\"seq\":{seq},").len()..]
                );
                stored.as_str()
            }
            _ => line,
        };
        let event = match (parse_line(body), seq) {
            (Ok(event), _) => event,
            (Err(e), Some(seq)) if export => {
                let reason = format!("its stored text cannot be read: {e}");
                tracing::warn!(file = %path.display(), line = i + 1, seq, "set aside: {reason}");
                file.unreadable.push((seq, reason));
                continue;
            }
            (Err(mut e), _) => {
                e.line = Some(i + 1);
                return Err(anyhow::Error::new(e).context(path.display().to_string()));
            }
        };
        if !export {
            if let Err(e) = event.check_not_ahead(now) {
                tracing::warn!(file = %path.display(), line = i + 1, "set aside: {}", e.message);
                file.set_aside.push((i + 1, e.message));
                continue;
            }
        }
        file.seqs.push(seq);
        file.events.push(event);
    }
    if !file.set_aside.is_empty() {
        tracing::warn!(
            file = %path.display(),
            lines = file.set_aside.len(),
            "events set aside by the time rule (not applied)"
        );
    }
    let mut order: Vec<usize> = (0..file.events.len()).collect();
    if export {
        order.sort_by_key(|&i| file.seqs[i]);
        file.unreadable.sort();
    } else {
        order.sort_by_key(|&i| file.events[i].at);
    }
    if order.iter().enumerate().any(|(to, &from)| to != from) {
        file.events = order.iter().map(|&i| file.events[i].clone()).collect();
        file.seqs = order.iter().map(|&i| file.seqs[i]).collect();
    }
    Ok(file)
}

/// The seq a line of `GET /api/v1/events` starts with (`{"seq":42,…`), if it does.
fn exported_seq(line: &str) -> Option<i64> {
    let rest = line.trim_start().strip_prefix("{\"seq\":")?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[end..]
        .starts_with(',')
        .then(|| rest[..end].parse().ok())?
}

/// Apply a file's events to `engine` in order, passing each message to `write`; return
/// the engine. No event stops the replay: one the engine cannot take is set aside by it,
/// and one whose application panics is set aside here the way `serve` does it — the
/// engine is rebuilt from the start without that event (and any set aside before it),
/// then an `event.set_aside` message says which event and why — so the stream is what
/// `serve` gives for the same log.
pub fn apply_all<E>(
    mut engine: Engine,
    file: &EventsFile,
    mut write: impl FnMut(&Output) -> Result<(), E>,
) -> Result<Engine, E> {
    // Every event's service point is looked up first, in one pass (see
    // `Engine::apply_resolved`).
    let customers: Vec<_> = file.events.iter().map(|e| engine.customer_of(e)).collect();
    let mut poisoned: Vec<usize> = Vec::new();
    let mut unreadable = file.unreadable.iter().peekable();
    for (i, (e, &customer)) in file.events.iter().zip(&customers).enumerate() {
        let seq = file.seqs[i];
        while let Some((s, reason)) = unreadable.next_if(|(s, _)| seq.is_some_and(|q| *s < q)) {
            write(&engine.set_aside(Some(*s), None, reason))?;
        }
        let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine.apply_from_log(seq, e, customer)
        }));
        match applied {
            Ok(out) => {
                for o in &out {
                    write(o)?;
                }
            }
            Err(payload) => {
                let reason = crate::engine::panic_reason(payload.as_ref());
                tracing::error!(line = i + 1, ?seq, %reason, "applying an event panicked; it is set aside");
                poisoned.push(i);
                engine = rebuilt(&engine, file, &customers, i, &poisoned);
                let o = engine.set_aside(seq, Some(e), &format!("applying it failed: {reason}"));
                write(&o)?;
            }
        }
    }
    for (s, reason) in unreadable {
        write(&engine.set_aside(Some(*s), None, reason))?;
    }
    for o in engine.flush() {
        write(&o)?;
    }
    Ok(engine)
}

/// A fresh engine with the events before `until` applied, but for those `poisoned`
/// (their messages, already written, are not given again).
fn rebuilt(
    engine: &Engine,
    file: &EventsFile,
    customers: &[Option<crate::network::CustomerIdx>],
    until: usize,
    poisoned: &[usize],
) -> Engine {
    let mut fresh = engine.fresh();
    let mut unreadable = file.unreadable.iter().peekable();
    let before = file
        .events
        .iter()
        .zip(&file.seqs)
        .zip(customers)
        .take(until);
    for (j, ((event, &seq), &customer)) in before.enumerate() {
        while unreadable
            .next_if(|(s, _)| seq.is_some_and(|q| *s < q))
            .is_some()
        {
            fresh.set_aside(None, None, "");
        }
        if poisoned.contains(&j) {
            fresh.set_aside(seq, Some(event), "");
            continue;
        }
        fresh.apply_from_log(seq, event, customer);
    }
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use crate::network::{LoadOptions, Network};
    use std::io::Write;

    fn ieee123() -> Network {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/gis-data/ieee123.geojson");
        let text = std::fs::read_to_string(path).unwrap();
        Network::from_geojson(&text, &LoadOptions::default()).unwrap()
    }

    fn report(id: &str, at: &str, customer: &str) -> String {
        format!(
            r#"{{"type":"report","at":"{at}","id":"{id}","customer":"{customer}","source":"call","problem":"no_power"}}"#
        )
    }

    /// A storm's first minutes on IEEE 123, one line per event.
    fn storm() -> Vec<String> {
        let customers = ["load.s1a", "load.s2b", "load.s4c", "load.s5c", "load.s6c"];
        (0..25)
            .map(|i| {
                let at = format!("2026-07-14T03:{:02}:{:02}Z", i / 2, (i % 2) * 30);
                report(&format!("R-{i}"), &at, customers[i % customers.len()])
            })
            .collect()
    }

    fn write(lines: &[String]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
        f
    }

    fn replay(lines: &[String]) -> Vec<String> {
        let file = write(lines);
        let events = read_events(file.path(), Utc::now()).unwrap();
        let mut out = Vec::new();
        let engine = Engine::new(ieee123(), EngineOptions::default());
        apply_all(engine, &events, |o| {
            out.push(o.to_json());
            Ok::<_, ()>(())
        })
        .unwrap();
        out
    }

    #[test]
    fn an_event_whose_application_panics_is_set_aside_and_the_rest_is_what_the_file_without_it_gives(
    ) {
        // See: issue 19.
        crate::engine::poison::set("R-12-poison");
        let mut lines = storm();
        let without = replay(&lines);
        lines.insert(
            12,
            report("R-12-poison", "2026-07-14T03:06:00Z", "load.s1a"),
        );
        let with = replay(&lines);

        let set_aside: Vec<&String> = with
            .iter()
            .filter(|m| m.contains(r#""type":"event.set_aside""#))
            .collect();
        assert_eq!(set_aside.len(), 1, "{with:#?}");
        assert!(
            set_aside[0].contains("poisoned report R-12-poison"),
            "{}",
            set_aside[0]
        );
        assert!(
            set_aside[0].contains(r#""type":"report""#),
            "{}",
            set_aside[0]
        );
        // Every other message is the one the file without it gives, with the seqs after
        // the set-aside message one further on.
        let strip_seq = |m: &String| m.split_once(",\"at\"").unwrap().1.to_owned();
        let others: Vec<String> = with
            .iter()
            .filter(|m| !m.contains("event.set_aside"))
            .map(strip_seq)
            .collect();
        assert_eq!(others, without.iter().map(strip_seq).collect::<Vec<_>>());
        assert!(
            without.len() > 5,
            "the storm gives messages after the poison too"
        );
    }

    #[test]
    fn a_file_keeps_its_good_events_and_sets_aside_those_dated_where_serve_refuses_them() {
        // See: issue 19: these once sorted first (year 1) or last (9999) and stopped the
        // replay; the file without them gives the same stream.
        let mut lines = storm();
        let without = replay(&lines);
        lines.insert(3, report("R-far", "9999-12-31T23:59:59Z", "load.s1a"));
        lines.insert(7, report("R-early", "0001-01-01T00:00:00Z", "load.s1a"));
        let ahead = (Utc::now() + chrono::Duration::hours(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        lines.push(report("R-ahead", &ahead, "load.s1a"));
        let file = write(&lines);
        let events = read_events(file.path(), Utc::now()).unwrap();
        let lines_set_aside: Vec<usize> = events.set_aside.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines_set_aside, vec![4, 8, 28]);
        assert!(events.set_aside[0].1.contains("outside the times"));
        assert!(events.set_aside[2]
            .1
            .contains("ahead of this server's clock"));
        assert_eq!(replay(&lines), without);
    }

    #[test]
    fn an_export_of_a_log_is_applied_in_seq_order_with_unreadable_lines_set_aside_in_place() {
        let storm = storm();
        // Seq order puts R-1 last: it came late, and is late evidence here as in serve.
        let mut export: Vec<String> = storm
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let seq = if i == 1 { 100 } else { i as i64 + 1 };
                format!("{{\"seq\":{seq},{}", &l[1..])
            })
            .collect();
        export.push(r#"{"seq":50,"type":"report","at":"#.to_owned());
        export.push(format!(
            "{{\"seq\":60,{}",
            &report("R-far", "9999-12-31T23:59:59Z", "load.s1a")[1..]
        ));
        let file = write(&export);
        let events = read_events(file.path(), Utc::now()).unwrap();
        assert_eq!(events.seqs.last(), Some(&Some(100)));
        assert_eq!(events.events.last().unwrap().report_id(), Some("R-1"));
        assert_eq!(events.unreadable.len(), 1);
        let out = replay(&export);
        let set_aside: Vec<serde_json::Value> = out
            .iter()
            .map(|m| serde_json::from_str::<serde_json::Value>(m).unwrap())
            .filter(|m| m["type"] == "event.set_aside")
            .collect();
        assert_eq!(set_aside.len(), 2, "{out:#?}");
        assert_eq!(set_aside[0]["data"]["seq"], 50);
        assert!(set_aside[0]["data"]["type"].is_null());
        assert_eq!(set_aside[1]["data"]["seq"], 60);
        assert_eq!(set_aside[1]["data"]["at"], "9999-12-31T23:59:59Z");
        // The clock never went to 9999.
        assert!(out
            .iter()
            .all(|m| !m.contains(r#""at":"9999"#) || m.contains("set_aside")));
        assert!(set_aside[1]["at"]
            .as_str()
            .unwrap()
            .starts_with("2026-07-14"));
    }
}
