//! Callbacks (回访, issue 7 item 3) through the engine, on the bundled IEEE 123 feeder:
//! who is listed when an outage is restored, what each outcome does, and that "still
//! out" opens a linked outage for that customer, never a second one over them.

mod common;

use chrono::{DateTime, Duration, Utc};
use faultline::engine::{Engine, EngineOptions, Output};
use faultline::events::{format_time, Event};
use serde_json::{json, Value};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-07-14T02:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn ev(min: i64, mut v: Value) -> Event {
    v["at"] = json!(format_time(t0() + Duration::minutes(min)));
    Event::parse(&v).unwrap_or_else(|e| panic!("{v}: {e}"))
}

fn report(id: &str, customer: &str) -> Value {
    json!({"type":"report","id":id,"customer":customer,"source":"call","problem":"no_power"})
}

fn scada(state: &str) -> Value {
    json!({"type":"scada","device":"line.sw1","state":state})
}

fn callback(outage: &str, customer: &str, outcome: &str) -> Value {
    json!({"type":"callback","outage":outage,"customer":customer,"outcome":outcome,"agent":"A-1"})
}

fn apply(engine: &mut Engine, events: &[Event]) -> Vec<Output> {
    let mut out = Vec::new();
    for e in events {
        out.extend(engine.apply(e));
    }
    out
}

fn data(out: &[Output], kind: &str) -> Vec<Value> {
    out.iter()
        .filter(|o| o.kind() == kind)
        .map(|o| serde_json::from_str(&o.data_json()).unwrap())
        .collect()
}

fn outage(engine: &Engine, id: &str) -> Value {
    let o = engine.outages().find(|o| o.id() == id).expect(id);
    serde_json::from_str(&o.to_json()).unwrap()
}

/// The feeder trips with three callers; it closes at minute 60.
fn restored_feeder() -> (Engine, Vec<Output>) {
    let mut engine = Engine::new(common::bundled("ieee123.geojson"), EngineOptions::default());
    let out = apply(
        &mut engine,
        &[
            ev(0, scada("open")),
            ev(5, report("R-1", "load.s1a")),
            ev(6, report("R-2", "load.s2b")),
            ev(7, report("R-3", "load.s4c")),
            ev(8, report("R-4", "load.s1a")),
            ev(60, scada("closed")),
        ],
    );
    (engine, out)
}

#[test]
fn every_customer_who_reported_a_restored_outage_is_listed_once() {
    let (engine, out) = restored_feeder();
    assert_eq!(data(&out, "outage.restored").len(), 1);
    let listed = data(&out, "callback.listed");
    let who: Vec<&str> = listed
        .iter()
        .map(|c| c["customer"].as_str().unwrap())
        .collect();
    assert_eq!(who.len(), 3, "{listed:?}");
    for c in ["load.s1a", "load.s2b", "load.s4c"] {
        assert!(who.contains(&c), "{c} in {who:?}");
    }
    let s1a = listed.iter().find(|c| c["customer"] == "load.s1a").unwrap();
    assert_eq!(s1a["report_ids"], json!(["R-1", "R-4"]));
    assert_eq!(s1a["outage"], "OUT-1");
    assert_eq!(s1a["status"], "pending");
    assert_eq!(engine.callbacks().items().count(), 3);
}

#[test]
fn no_answer_stays_pending_and_restored_settles_it() {
    let (mut engine, _) = restored_feeder();
    let out = apply(
        &mut engine,
        &[ev(120, callback("OUT-1", "load.s2b", "no_answer"))],
    );
    let cb = &data(&out, "callback.updated")[0];
    assert_eq!(
        (cb["status"].as_str(), cb["attempts"].as_u64()),
        (Some("pending"), Some(1))
    );
    let out = apply(
        &mut engine,
        &[ev(180, callback("OUT-1", "load.s2b", "restored"))],
    );
    let cb = &data(&out, "callback.updated")[0];
    assert_eq!(
        (cb["status"].as_str(), cb["attempts"].as_u64()),
        (Some("done"), Some(2))
    );
    assert!(data(&out, "outage.created").is_empty());
    // The same answer again changes nothing; another answer is refused.
    assert!(engine
        .check(&ev(190, callback("OUT-1", "load.s2b", "restored")))
        .is_ok());
    assert!(apply(
        &mut engine,
        &[ev(190, callback("OUT-1", "load.s2b", "restored"))]
    )
    .iter()
    .all(|o| o.kind() != "callback.updated"));
    let refused = engine
        .check(&ev(190, callback("OUT-1", "load.s2b", "still_out")))
        .unwrap_err();
    assert!(refused.contains("already settled"), "{refused}");
    // Nobody listed for a customer who did not report.
    let refused = engine
        .check(&ev(190, callback("OUT-1", "load.s5c", "restored")))
        .unwrap_err();
    assert!(refused.contains("no callback is listed"), "{refused}");
}

#[test]
fn still_out_opens_a_new_outage_for_that_customer_linked_to_the_first() {
    let (mut engine, _) = restored_feeder();
    let out = apply(
        &mut engine,
        &[ev(120, callback("OUT-1", "load.s1a", "still_out"))],
    );
    let created = data(&out, "outage.created");
    assert_eq!(created.len(), 1, "{created:?}");
    let new = &created[0];
    assert_eq!(new["device"], "load.s1a");
    assert_eq!(new["follows"], "OUT-1");
    assert_eq!(new["customers_out"], 1);
    let first = outage(&engine, "OUT-1");
    assert_eq!(first["status"], "restored");
    assert_eq!(first["follow_ups"], json!([new["id"]]));
    // The first outage's history is kept; the times say where each interval lies.
    assert_eq!(first["started_at"], format_time(t0()));
    assert_eq!(
        first["restored_at"],
        format_time(t0() + Duration::minutes(60))
    );
    assert_eq!(
        new["started_at"],
        format_time(t0() + Duration::minutes(120))
    );
    let cb = &data(&out, "callback.updated")[0];
    assert_eq!(cb["follow_up"], new["id"]);
    assert_eq!(cb["status"], "done");
    // One outage covers the customer.
    let covering: Vec<String> = engine
        .active_outages()
        .filter(|o| o.device == "load.s1a" || o.device == "line.sw1")
        .map(|o| o.id())
        .collect();
    assert_eq!(covering, vec![new["id"].as_str().unwrap().to_owned()]);
}

#[test]
fn still_out_for_a_customer_already_in_an_outage_links_to_it_and_adds_none() {
    let (mut engine, _) = restored_feeder();
    // load.s2b calls again after the restoration: an outage of its own. (`serve`
    // ticks every few seconds; the tick lets the restoration's grace end first.)
    let out = apply(
        &mut engine,
        &[
            ev(66, json!({"type":"tick"})),
            ev(80, report("R-9", "load.s2b")),
        ],
    );
    let own = data(&out, "outage.created");
    assert_eq!(own.len(), 1, "{own:?}");
    let own_id = own[0]["id"].as_str().unwrap().to_owned();
    let active_before = engine.active_outages().count();
    let out = apply(
        &mut engine,
        &[ev(120, callback("OUT-1", "load.s2b", "still_out"))],
    );
    assert!(data(&out, "outage.created").is_empty(), "no duplicate");
    assert_eq!(engine.active_outages().count(), active_before);
    assert_eq!(
        data(&out, "callback.updated")[0]["follow_up"],
        json!(own_id)
    );
    assert_eq!(outage(&engine, "OUT-1")["follow_ups"], json!([own_id]));
    assert_eq!(outage(&engine, &own_id)["follows"], "OUT-1");
}

#[test]
fn a_meter_outage_lists_its_caller_when_a_crew_restores_it() {
    let mut engine = Engine::new(common::bundled("ieee123.geojson"), EngineOptions::default());
    let out = apply(
        &mut engine,
        &[
            ev(
                0,
                json!({"type":"crew","id":"CREW-7","skills":["line","meter"],"lon":116.37,"lat":39.895}),
            ),
            ev(
                1,
                json!({"type":"report","id":"M-1","customer":"load.s1a","source":"call","problem":"meter"}),
            ),
            ev(2, json!({"type":"tick"})),
        ],
    );
    assert_eq!(data(&out, "outage.created").len(), 1);
    let order = engine.dispatch().orders().next().expect("an order").id();
    let mut out = Vec::new();
    for (i, action) in ["acknowledge", "en_route", "on_site", "restored"]
        .iter()
        .enumerate()
    {
        out.extend(engine.apply(&ev(
            3 + i as i64,
            json!({"type":"crew_action","crew":"CREW-7","order":order,"action":action}),
        )));
    }
    let listed = data(&out, "callback.listed");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["customer"], "load.s1a");
    assert_eq!(listed[0]["crew"], "CREW-7");
    // Who reported it is not kept once the callbacks are listed.
    let snapshot: Value = serde_json::from_str(&engine.snapshot()).unwrap();
    assert_eq!(snapshot["direct_reporters"], json!({}));
}

#[test]
fn replaying_callbacks_gives_the_same_messages() {
    let run = || {
        let (mut engine, mut out) = restored_feeder();
        out.extend(apply(
            &mut engine,
            &[
                ev(66, json!({"type":"tick"})),
                ev(80, report("R-9", "load.s2b")),
                ev(120, callback("OUT-1", "load.s2b", "still_out")),
                ev(121, callback("OUT-1", "load.s1a", "still_out")),
                ev(122, callback("OUT-1", "load.s4c", "no_answer")),
            ],
        ));
        out.extend(engine.flush());
        out.iter()
            .map(Output::to_json)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let first = run();
    assert!(first.contains("callback.updated"));
    assert_eq!(first, run());
}

/// Callbacks close `callback_days` after they were listed, answered or not: they leave
/// the engine (a year of storms does not grow it without bound), the stream says how
/// many were answered, and a late answer is refused with the reason, nothing stored.
#[test]
fn callbacks_close_a_set_time_after_the_restoration_and_a_late_answer_is_refused() {
    let (mut engine, out) = restored_feeder();
    let listed = data(&out, "callback.listed");
    apply(
        &mut engine,
        &[ev(120, callback("OUT-1", "load.s2b", "restored"))],
    );
    let week = 7 * 24 * 60;
    // Listed at minute 60: still there a minute before the week is out.
    let out = apply(&mut engine, &[ev(60 + week - 1, json!({"type":"tick"}))]);
    assert!(data(&out, "callbacks.closed").is_empty());
    assert_eq!(engine.callbacks().items().count(), 3);
    assert!(engine
        .check(&ev(
            60 + week - 1,
            callback("OUT-1", "load.s1a", "restored")
        ))
        .is_ok());

    let out = apply(&mut engine, &[ev(60 + week, json!({"type":"tick"}))]);
    let closed = data(&out, "callbacks.closed");
    assert_eq!(closed.len(), 1, "{out:?}");
    assert_eq!(closed[0]["outage"], "OUT-1");
    assert_eq!(
        (
            &closed[0]["callbacks"],
            &closed[0]["answered"],
            &closed[0]["unanswered"]
        ),
        (&json!(3), &json!(1), &json!(2))
    );
    assert_eq!(
        closed[0]["listed_at"],
        format_time(t0() + Duration::minutes(60))
    );
    // As each callback said when it was listed.
    assert_eq!(
        listed[0]["closes_at"],
        format_time(t0() + Duration::minutes(60 + week))
    );
    assert_eq!(engine.callbacks().items().count(), 0);
    let late = engine
        .check(&ev(
            60 + week + 5,
            callback("OUT-1", "load.s1a", "restored"),
        ))
        .unwrap_err();
    assert!(late.contains("OUT-1") && late.contains("closed"), "{late}");
    // The restored outage itself stays, and nothing lists its callbacks again.
    assert_eq!(outage(&engine, "OUT-1")["status"], "restored");
    let out = apply(&mut engine, &[ev(60 + 2 * week, json!({"type":"tick"}))]);
    assert!(data(&out, "callbacks.closed").is_empty());
    assert!(data(&out, "callback.listed").is_empty());
    // A window after they closed, the book forgets them too: it is empty.
    let closed_kept = part_bytes(&engine, "callbacks");
    apply(
        &mut engine,
        &[ev(60 + 2 * week + 24 * 60, json!({"type":"tick"}))],
    );
    assert!(part_bytes(&engine, "callbacks") < closed_kept);
    assert_eq!(
        serde_json::to_string(engine.callbacks()).unwrap(),
        r#"{"items":[]}"#
    );
}

/// The order callbacks close in is not in a snapshot: an engine restored from one
/// closes them when the original does, with the same messages.
#[test]
fn callbacks_restored_from_a_snapshot_close_on_time() {
    let (mut engine, _) = restored_feeder();
    let mut restored = Engine::new(common::bundled("ieee123.geojson"), EngineOptions::default());
    restored
        .restore(engine.fingerprint(), &engine.snapshot())
        .unwrap();
    let later = [ev(60 + 7 * 24 * 60, json!({"type":"tick"}))];
    let (a, b) = (apply(&mut engine, &later), apply(&mut restored, &later));
    assert_eq!(data(&a, "callbacks.closed").len(), 1);
    assert_eq!(a, b);
    assert_eq!(restored.callbacks().items().count(), 0);
}

/// Closed outages' callbacks are remembered across a snapshot too: the late answer is
/// still refused, and nothing is listed again.
#[test]
fn closed_callbacks_stay_closed_across_a_snapshot() {
    let (mut engine, _) = restored_feeder();
    apply(&mut engine, &[ev(60 + 7 * 24 * 60, json!({"type":"tick"}))]);
    let mut restored = Engine::new(common::bundled("ieee123.geojson"), EngineOptions::default());
    restored
        .restore(engine.fingerprint(), &engine.snapshot())
        .unwrap();
    let late = ev(
        60 + 7 * 24 * 60 + 1,
        callback("OUT-1", "load.s4c", "no_answer"),
    );
    assert!(restored.check(&late).unwrap_err().contains("closed"));
}

fn part_bytes(engine: &Engine, name: &str) -> usize {
    engine
        .snapshot_parts()
        .into_iter()
        .find(|(part, _)| *part == name)
        .map_or(0, |(_, bytes)| bytes)
}

/// The engine keeps each customer's report ids to list them on outages and callbacks,
/// and every id to count a report sent twice once; once the callbacks are closed and no
/// active outage began before them, they go (a year of storms kept every one).
#[test]
fn reports_no_outage_or_callback_needs_are_forgotten() {
    let (mut engine, _) = restored_feeder();
    let parts = ["report ids per service point", "report ids seen"];
    for part in parts {
        assert!(part_bytes(&engine, part) > 20, "{part}");
    }
    // Forgotten at the first day's turn after the week.
    apply(&mut engine, &[ev(60 + 8 * 24 * 60, json!({"type":"tick"}))]);
    for part in parts {
        assert!(part_bytes(&engine, part) <= 2, "{part}");
    }
    // An id seen again after that counts as a new report (the log would have refused
    // it: only a file replayed with such a repeat sees this).
    let out = apply(
        &mut engine,
        &[
            ev(60 + 8 * 24 * 60 + 1, report("R-1", "load.s1a")),
            ev(60 + 8 * 24 * 60 + 2, report("R-1", "load.s1a")),
        ],
    );
    assert_eq!(data(&out, "outage.created").len(), 1, "{out:?}");
}

/// An outage still active after the callback window keeps its reports: when it is
/// restored at last, everyone who reported it is called back, with their report ids.
#[test]
fn a_week_long_outage_keeps_its_reports_for_the_callbacks() {
    let mut engine = Engine::new(common::bundled("ieee123.geojson"), EngineOptions::default());
    let day = 24 * 60;
    let out = apply(
        &mut engine,
        &[
            ev(0, scada("open")),
            ev(5, report("R-1", "load.s1a")),
            ev(6, report("R-2", "load.s2b")),
            ev(9 * day, json!({"type":"tick"})),
            ev(10 * day, json!({"type":"tick"})),
            ev(10 * day + 120, scada("closed")),
        ],
    );
    let listed = data(&out, "callback.listed");
    let ids: Vec<&Value> = listed.iter().map(|c| &c["report_ids"]).collect();
    assert_eq!(ids, [&json!(["R-1"]), &json!(["R-2"])], "{listed:?}");
}
