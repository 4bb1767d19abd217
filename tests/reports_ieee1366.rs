//! Reliability report figures against hand calculations (issue 7, item 4).

mod common;

use chrono::{DateTime, Utc};
use common::NetBuilder;
use faultline::engine::NoticeStatus;
use faultline::network::{LoadOptions, Network};
use faultline::reports::{
    self, OrderRecord, OutageRecord, PlannedRecord, Query, QueryText, Records, Units,
};
use serde_json::json;

/// One feeder, nine customers:
///
/// ```text
///  S ─BRK─ A (c1, c2) ─L1─ B ─F1─ C (c3, c4 = 3 customers)
///          └─F2─ D (c5) ─L3─ T (transformer point: 2 customers not listed)
/// ```
fn network() -> Network {
    network_with(false)
}

/// The same, with (`second_feeder`) a second feeder of one customer:
///
/// ```text
///  S2 ─BRK2─ E (c6)
/// ```
fn network_with(second_feeder: bool) -> Network {
    let mut b = NetBuilder::new();
    if second_feeder {
        b = b
            .node("S2", "substation", 116.01, 39.0)
            .node("E", "bus", 116.011, 39.0)
            .customer("c6", "E", 116.0111, 39.0, false)
            .edge("BRK2", "breaker", "S2", "E");
    }
    let text = b
        .node("S", "substation", 116.0, 39.0)
        .node("A", "bus", 116.001, 39.0)
        .node("B", "bus", 116.002, 39.0)
        .node("C", "bus", 116.003, 39.0)
        .node("D", "bus", 116.001, 39.001)
        .transformer("T", 116.001, 39.002, 2)
        .customer("c1", "A", 116.0011, 39.0, false)
        .customer("c2", "A", 116.0012, 39.0, false)
        .customer("c3", "C", 116.0031, 39.0, false)
        .raw(
            json!({"type":"Feature","geometry":{"type":"Point","coordinates":[116.0032,39.0]},
            "properties":{"id":"c4","kind":"customer","bus":"C","customers":3}}),
        )
        .customer("c5", "D", 116.0011, 39.001, false)
        .edge("BRK", "breaker", "S", "A")
        .edge("L1", "line", "A", "B")
        .edge("F1", "fuse", "B", "C")
        .edge("F2", "fuse", "A", "D")
        .edge("L3", "line", "D", "T")
        .text();
    Network::from_geojson(&text, &LoadOptions::default()).expect("fixture loads")
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// An outage object as the API carries it; times are "HH:MM" on 2026-07-14 (UTC).
fn outage(
    id: &str,
    kind: &str,
    device: &str,
    status: &str,
    from: &str,
    to: &str,
    reports: u32,
) -> OutageRecord {
    let at = |hm: &str| format!("2026-07-14T{hm}:00Z");
    let start = t(&at(from));
    serde_json::from_value(json!({
        "id": id, "kind": kind, "device": device, "feeder": "BRK", "status": status,
        "customers_out": 0, "critical_customers_out": 0, "reports": reports,
        "started_at": at(from), "predicted_at": at(from),
        "restored_at": if status == "restored" { json!(at(to)) } else { json!(null) },
        "arrive_by": faultline::events::format_time(start + chrono::Duration::minutes(45)),
        "restore_by": faultline::events::format_time(start + chrono::Duration::hours(12)),
        "order": null, "crew": null, "zone": "urban",
    }))
    .expect("an outage object")
}

/// A planned-outage notice as the engine holds it: its customers dark from `from` to
/// `end` ("HH:MM" on 2026-07-14, UTC), the service points from the device's reach.
fn notice(
    net: &Network,
    id: &str,
    device: &str,
    status: NoticeStatus,
    from: &str,
    end: &str,
) -> PlannedRecord {
    let at = |hm: &str| t(&format!("2026-07-14T{hm}:00Z"));
    let darkened = net.darkened_by(device).expect("a device of the fixture");
    PlannedRecord {
        id: id.into(),
        device: device.into(),
        status,
        from: at(from),
        end: at(end),
        points: darkened.points,
        customers: darkened.customers,
    }
}

fn order(id: &str, outage: &str, steps: &[(&str, &str, &str, Option<&str>)]) -> OrderRecord {
    let at = |hm: &str| format!("2026-07-14T{hm}:00Z");
    let on_site = steps.iter().find(|s| s.0 == "on_site").map(|s| at(s.1));
    serde_json::from_value(json!({
        "id": id, "outage": outage, "on_site_at": on_site,
        "history": steps.iter().map(|(state, hm, by, crew)| json!({
            "state": state, "at": at(hm), "by": by, "why": "", "crew": crew
        })).collect::<Vec<_>>(),
    }))
    .expect("an order object")
}

fn day_query(net: &Network, from: &str, to: &str) -> Query {
    query_as_of(net, from, to, None, t("2026-07-15T06:00:00Z"))
}

/// The report's days `from`..=`to` (of one feeder, or the whole network), asked at `as_of`.
fn query_as_of(
    net: &Network,
    from: &str,
    to: &str,
    feeder: Option<&str>,
    as_of: DateTime<Utc>,
) -> Query {
    let text = QueryText {
        from: Some(from.into()),
        to: Some(to.into()),
        feeder: feeder.map(str::to_owned),
        ..QueryText::default()
    };
    Query::parse(&text, net, as_of).expect("query")
}

/// Eleven days of July as the log holds them, asked the morning after.
fn july_records(outages: Vec<OutageRecord>) -> Records {
    Records {
        outages,
        planned: vec![],
        orders: vec![],
        as_of: t("2026-07-12T00:00:00Z"),
        log_start: t("2026-07-01T00:00:00Z"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// Hand calculation, 2026-07-14, customers served N = 9 (c1, c2, c3, c4×3, c5, T×2):
///
/// | outage | device | time | customers |
/// |---|---|---|---|
/// | OUT-1 | breaker BRK | 10:00–11:00 | all 9 |
/// | OUT-2 | fuse F1, nested in OUT-1 | 10:30–12:00 | c3, c4×3 |
/// | OUT-3 | c3 alone, follows OUT-2 (found by a callback, already out since 11:50) | 11:50–12:30 | c3 |
/// | OUT-4 | fuse F2, momentary | 14:00–14:03 | c5, T×2 |
/// | OUT-6 | BRK, **cancelled** (merged) | 10:00–10:05 | nobody |
/// | OUT-7 | c1 alone | 20:00–20:30 | c1 |
/// | OUT-8 | c2 alone, follows OUT-1 (c2 said "still out" at the 11:40 callback) | 11:40–12:10 | c2 |
/// | OUT-9 | c5 alone, exactly 5 minutes: momentary | 15:00–15:05 | c5 |
/// | OUT-10 | c1 alone, past midnight | 23:30–01:30 (07-15) | c1 |
/// | OUT-11 | c2 alone, **still out** at as_of (07-15 06:00) | 05:58 (07-15)– | c2 |
///
/// Planned work (notices, not in the indices):
///
/// | notice | device | window | customers |
/// |---|---|---|---|
/// | PO-1 | fuse F2, completed | 16:00–18:00 | c5, T×2 |
/// | PO-2 | line L3, urgent, completed; published at 13:20 for a 13:00 start | dark 13:20–13:50 | T×2 (not listed one by one) |
/// | PO-3 | breaker BRK, **cancelled** | 08:00–09:00 | nobody |
/// | PO-4 | fuse F1, still scheduled | 22:00–23:00 | nobody yet |
///
/// Union per customer (sustained: more than 5 min), interruptions that began on 07-14:
/// - c1: 10:00–11:00, 20:00–20:30 and 23:30–01:30 → 210 min, 3 interruptions
/// - c2: 10:00–11:00, still dark from OUT-1's restoration to the follow-up OUT-8,
///   11:40–12:10 → 10:00–12:10 → 130 min, 1 (not 60 + 30 min and 2 interruptions)
/// - c3: 10:00–12:00 ∪ 11:50–12:30 → 10:00–12:30 → 150 min, 1 (not 60 + 90 + 40)
/// - c4 (3 customers): 10:00–12:00 → 3 × 120 = 360 min, 3 (not 3 × (60 + 90))
/// - c5: 10:00–11:00 → 60 min, 1; 14:00–14:03 and 15:00–15:05 are momentary
/// - T (2 customers): 2 × 60 = 120 min, 2; 2 momentary
///
/// Customer-minutes 1030, customer interruptions 11, customers interrupted 9,
/// momentary 4. SAIDI = 1030/9 = 114.444 min, SAIFI = 11/9 = 1.2222, CAIDI = 1030/11 =
/// 93.636 min, CAIFI = 11/9, MAIFI = 4/9 = 0.4444. ASAI takes only the minutes inside
/// the day: OUT-10's 90 minutes after midnight are not, so 940 customer-minutes and
/// ASAI = 1 − 940/(9 × 1440) = 0.927469. (Adding the outages up without the union
/// would give 1125 customer-minutes.)
///
/// The next day, 07-15, up to as_of 06:00 (360 minutes elapsed): OUT-11 has lasted 2
/// minutes and is still going, so it is sustained, not momentary: 2 customer-minutes, 1
/// interruption, 0 momentary. ASAI counts the minutes of that day: OUT-11's 2 and
/// OUT-10's 90 after midnight → 1 − 92/(9 × 360) = 0.971605.
///
/// Planned: PO-1 3 × 120 = 360 and PO-2 2 × 30 = 60 → 420 customer-minutes, 5
/// interruptions, 2 planned outages; planned SAIDI = 420/9 = 46.667 min, SAIFI = 5/9.
#[test]
fn ieee_1366_indices_match_the_hand_calculation_with_nested_and_follow_up_outages() {
    let net = network();
    let mut records = Records {
        outages: vec![
            outage("OUT-1", "device", "BRK", "restored", "10:00", "11:00", 12),
            outage("OUT-2", "device", "F1", "restored", "10:30", "12:00", 3),
            outage("OUT-3", "service", "c3", "restored", "11:50", "12:30", 1),
            outage("OUT-4", "device", "F2", "restored", "14:00", "14:03", 0),
            outage("OUT-6", "device", "BRK", "cancelled", "10:00", "10:05", 0),
            outage("OUT-7", "service", "c1", "restored", "20:00", "20:30", 2),
            outage("OUT-8", "service", "c2", "restored", "11:40", "12:10", 1),
            outage("OUT-9", "service", "c5", "restored", "15:00", "15:05", 1),
            outage("OUT-10", "service", "c1", "restored", "23:30", "23:59", 1),
            outage("OUT-11", "service", "c2", "confirmed", "23:59", "23:59", 1),
        ],
        planned: vec![
            notice(
                &net,
                "PO-1",
                "F2",
                NoticeStatus::Completed,
                "16:00",
                "18:00",
            ),
            notice(
                &net,
                "PO-2",
                "L3",
                NoticeStatus::Completed,
                "13:20",
                "13:50",
            ),
            notice(
                &net,
                "PO-3",
                "BRK",
                NoticeStatus::Cancelled,
                "08:00",
                "09:00",
            ),
            notice(
                &net,
                "PO-4",
                "F1",
                NoticeStatus::Scheduled,
                "22:00",
                "23:00",
            ),
        ],
        orders: vec![],
        as_of: t("2026-07-15T06:00:00Z"),
        log_start: t("2026-07-14T09:00:00Z"),
    };
    records.outages[2].follows = Some("OUT-2".into());
    records.outages[6].follows = Some("OUT-1".into());
    records.outages[8].restored_at = Some(t("2026-07-15T01:30:00Z"));
    records.outages[9].started_at = t("2026-07-15T05:58:00Z");
    let units = Units::new(&net);
    let q = day_query(&net, "2026-07-14", "2026-07-14");
    let r = reports::build(&net, &units, &records, &q).reliability;
    assert_eq!(r.customers_served, 9);
    let a = &r.all_days;
    assert!(close(a.customer_minutes, 1030.0), "{a:?}");
    assert_eq!(a.customer_interruptions, 11);
    assert_eq!(a.customers_interrupted, 9);
    assert_eq!(
        a.momentary_interruptions, 4,
        "OUT-9's 5 minutes are momentary"
    );
    assert!(close(a.saidi_min, 1030.0 / 9.0), "SAIDI {}", a.saidi_min);
    assert!(close(a.saifi, 11.0 / 9.0));
    assert!(close(a.caidi_min.unwrap(), 1030.0 / 11.0));
    assert!(close(a.caifi.unwrap(), 11.0 / 9.0));
    assert!(close(a.maifi, 4.0 / 9.0));
    assert!(close(a.customer_minutes_in_period, 940.0), "{a:?}");
    assert!((a.asai.unwrap() - 0.927469).abs() < 1e-6, "{a:?}");
    assert_eq!(r.outages, 8, "OUT-1,2,3,4,7,8,9,10: not the cancelled");
    let p = &r.planned;
    assert!(close(p.customer_minutes, 420.0), "{p:?}");
    assert_eq!(p.customer_interruptions, 5);
    assert_eq!((p.outages, p.ongoing), (2, 0), "PO-1 and PO-2");
    assert!(close(p.saidi_min, 420.0 / 9.0));
    assert!(close(p.saifi, 5.0 / 9.0));
    // One day of history: no MED threshold, and the report says why.
    assert_eq!(r.med.t_med_min, None);
    assert_eq!(r.med.history_days, 1);
    assert!(r.med.note.contains("needs at least 2"), "{}", r.med.note);
    assert_eq!(r.excluding_med, r.all_days);

    // The same log, feeder BRK: the same figures; a period before the outages: none.
    let mut q2 = q.clone();
    q2.feeder = Some("BRK".into());
    let r2 = reports::build(&net, &units, &records, &q2).reliability;
    assert_eq!(r2.all_days, r.all_days);
    assert_eq!(r2.planned, r.planned);
    let q3 = day_query(&net, "2026-07-14T00:00:00Z", "2026-07-14T09:59:00Z");
    let r3 = reports::build(&net, &units, &records, &q3).reliability;
    assert_eq!(r3.all_days.customer_interruptions, 0);
    assert_eq!(r3.outages, 0);

    // The next day: OUT-11, still out after 2 minutes, is not momentary.
    let q4 = day_query(&net, "2026-07-15", "2026-07-15");
    let r4 = reports::build(&net, &units, &records, &q4).reliability;
    let a4 = &r4.all_days;
    assert_eq!((r4.outages, r4.outages_ongoing), (1, 1));
    assert_eq!(a4.momentary_interruptions, 0, "{a4:?}");
    assert_eq!(a4.customer_interruptions, 1);
    assert!(close(a4.customer_minutes, 2.0));
    assert!(close(a4.customer_minutes_in_period, 92.0), "{a4:?}");
    assert!((a4.asai.unwrap() - 0.971605).abs() < 1e-6, "{a4:?}");
}

/// The same fixture's service and workload figures:
/// - OUT-1: crew CREW-1 on site 10:50, target 10:45 → missed; restored 11:00 by 22:00 → met.
/// - OUT-3: CREW-2 assigned 11:56, a dispatcher sends CREW-1 at 12:00, on site 12:20
///   (target 12:35) → met.
/// - OUT-2, OUT-4, OUT-7: power back with no crew on site → not counted on site.
/// - On site within target: 1 of 2 = 50 %; restored within target: 5 of 5.
/// - CREW-1 held orders 10:05–11:00 and 12:00–12:30: 85 min = 1.41667 h, 2 orders;
///   CREW-2 11:56–12:00: 4 min, 1 order. One dispatcher override, no dispatcher identity.
/// - Calls: 12, 3, 1, 0, 2 → 18 over 5 outages, mean 3.6, median 2, max 12.
#[test]
fn target_compliance_workload_and_calls_match_the_hand_calculation() {
    let net = network();
    let records = Records {
        outages: vec![
            outage("OUT-1", "device", "BRK", "restored", "10:00", "11:00", 12),
            outage("OUT-2", "device", "F1", "restored", "10:30", "12:00", 3),
            outage("OUT-3", "service", "c3", "restored", "11:50", "12:30", 1),
            outage("OUT-4", "device", "F2", "restored", "14:00", "14:03", 0),
            outage("OUT-5", "planned", "F2", "restored", "16:00", "18:00", 0),
            outage("OUT-7", "service", "c1", "restored", "20:00", "20:30", 2),
        ],
        planned: vec![],
        orders: vec![
            order(
                "WO-1",
                "OUT-1",
                &[
                    ("created", "10:01", "faultline", None),
                    ("assigned", "10:05", "faultline", Some("CREW-1")),
                    ("en_route", "10:10", "CREW-1", Some("CREW-1")),
                    ("on_site", "10:50", "CREW-1", Some("CREW-1")),
                    ("restored", "11:00", "CREW-1", Some("CREW-1")),
                    ("closed", "11:00", "faultline", None),
                ],
            ),
            order(
                "WO-2",
                "OUT-3",
                &[
                    ("created", "11:55", "faultline", None),
                    ("assigned", "11:56", "faultline", Some("CREW-2")),
                    ("assigned", "12:00", "dispatcher", Some("CREW-1")),
                    ("on_site", "12:20", "CREW-1", Some("CREW-1")),
                    ("restored", "12:30", "CREW-1", Some("CREW-1")),
                    ("closed", "12:30", "faultline", None),
                ],
            ),
        ],
        as_of: t("2026-07-15T06:00:00Z"),
        log_start: t("2026-07-14T09:00:00Z"),
    };
    let units = Units::new(&net);
    let q = day_query(&net, "2026-07-14", "2026-07-14");
    let report = reports::build(&net, &units, &records, &q);
    let s = &report.service.overall;
    assert_eq!(s.outages, 5);
    assert_eq!(
        (s.on_site_met, s.on_site_missed, s.on_site_no_visit),
        (1, 1, 3)
    );
    assert_eq!(s.on_site_share, Some(0.5));
    assert_eq!(s.restored_met, 5);
    assert_eq!(s.restored_share, Some(1.0));
    let crew1 = &report.service.by_crew["CREW-1"];
    assert_eq!(
        (crew1.outages, crew1.on_site_met, crew1.on_site_missed),
        (2, 1, 1)
    );
    assert_eq!(report.service.by_zone["urban"].outages, 5);

    let w = &report.workload.crews["CREW-1"];
    assert_eq!((w.orders, w.restored), (2, 2));
    assert!((w.hours_on_orders - 85.0 / 60.0).abs() < 1e-9, "{w:?}");
    let w2 = &report.workload.crews["CREW-2"];
    assert_eq!(w2.orders, 1);
    assert!((w2.hours_on_orders - 4.0 / 60.0).abs() < 1e-9);
    assert_eq!(report.workload.dispatchers.overrides, 1);
    assert!(!report.workload.dispatchers.identity_recorded);

    let c = &report.calls;
    assert_eq!((c.outages, c.reports, c.per_outage_max), (5, 18, 12));
    assert_eq!(c.per_outage_mean, Some(3.6));
    assert_eq!(c.per_outage_median, Some(2.0));
    assert_eq!(c.outages_without_calls, 1);
}

/// Eleven days: on day d (0..9) c1 alone is out 10 + d minutes (daily SAIDI (10 + d)/9),
/// on day 10 the breaker is out 600 minutes for all 9 (daily SAIDI 600). ln(SAIDI) of the
/// eleven days: α = 0.99661, β = 1.80263, T_MED = exp(α + 2.5 β) = 245.48 min: day 10 is
/// the one MED. All days: SAIDI = 145/9 + 600 = 616.11 min; without the MED: 145/9 =
/// 16.11 min.
#[test]
fn a_storm_day_above_t_med_is_a_major_event_day_and_is_excluded() {
    let net = network();
    let mut outages = Vec::new();
    for d in 0..11 {
        let start = t("2026-07-01T08:00:00Z") + chrono::Duration::days(d);
        let minutes = if d == 10 { 600 } else { 10 + d };
        let (kind, device) = if d == 10 {
            ("device", "BRK")
        } else {
            ("service", "c1")
        };
        let mut o = outage(
            &format!("OUT-{d}"),
            kind,
            device,
            "restored",
            "08:00",
            "09:00",
            1,
        );
        o.started_at = start;
        o.restored_at = Some(start + chrono::Duration::minutes(minutes));
        o.arrive_by = start + chrono::Duration::minutes(45);
        o.restore_by = start + chrono::Duration::hours(12);
        outages.push(o);
    }
    let records = july_records(outages);
    let units = Units::new(&net);
    let q = query_as_of(&net, "2026-07-01", "2026-07-11", None, records.as_of);
    let r = reports::build(&net, &units, &records, &q).reliability;
    assert_eq!(r.med.history_days, 11);
    assert_eq!(r.med.history_days_with_interruptions, 11);
    let t_med = r.med.t_med_min.expect("a threshold");
    assert!((t_med - 245.476).abs() < 0.01, "T_MED {t_med}");
    let meds: Vec<String> = r
        .med
        .major_event_days
        .iter()
        .map(|d| d.date.to_string())
        .collect();
    assert_eq!(meds, vec!["2026-07-11"]);
    assert!((r.all_days.saidi_min - (145.0 / 9.0 + 600.0)).abs() < 1e-9);
    assert!((r.excluding_med.saidi_min - 145.0 / 9.0).abs() < 1e-9);
    assert_eq!(r.excluding_med.customer_interruptions, 10);
    assert_eq!(r.daily.len(), 11);
    assert!(r.daily[10].major_event_day && !r.daily[9].major_event_day);
}

/// Major Event Days are found on the whole network, also for a feeder's report. The
/// storm of the test above on feeder BRK, and on feeder BRK2 c6 out 30 minutes every
/// day (days 0..10). Whole network, N = 10: daily SAIDI (10 + d + 30)/10 = 4.0 … 4.9
/// min on days 0..9, (9 × 600 + 30)/10 = 543 min on day 10. ln of those: α = 1.92775,
/// β = 1.45060, T_MED = exp(α + 2.5 β) = 258.33 min: day 10 (2026-07-11) is a MED.
///
/// Feeder BRK2 (N = 1): all days 11 × 30 = 330 min, SAIFI 11; without the MED (the
/// whole network's) 300 min, SAIFI 10. Its own daily SAIDI (30 every day, β = 0) would
/// have found no MED at all.
#[test]
fn major_event_days_are_found_on_the_whole_network_for_a_feeder_s_report() {
    let net = network_with(true);
    let mut outages = Vec::new();
    for d in 0..11 {
        let start = t("2026-07-01T08:00:00Z") + chrono::Duration::days(d);
        let minutes = if d == 10 { 600 } else { 10 + d };
        let (kind, device) = if d == 10 {
            ("device", "BRK")
        } else {
            ("service", "c1")
        };
        for (id, kind, device, minutes) in [
            (format!("OUT-{}", 2 * d), kind, device, minutes),
            (format!("OUT-{}", 2 * d + 1), "service", "c6", 30),
        ] {
            let mut o = outage(&id, kind, device, "restored", "08:00", "09:00", 1);
            o.started_at = start;
            o.restored_at = Some(start + chrono::Duration::minutes(minutes));
            outages.push(o);
        }
    }
    let records = july_records(outages);
    let units = Units::new(&net);
    let query =
        |feeder: Option<&str>| query_as_of(&net, "2026-07-01", "2026-07-11", feeder, records.as_of);
    let whole = reports::build(&net, &units, &records, &query(None)).reliability;
    assert_eq!(whole.customers_served, 10);
    let t_med = whole.med.t_med_min.expect("a threshold");
    assert!((t_med - 258.3315).abs() < 0.01, "T_MED {t_med}");

    let r = reports::build(&net, &units, &records, &query(Some("BRK2"))).reliability;
    assert_eq!(r.customers_served, 1);
    assert_eq!(r.med.system_customers_served, 10);
    assert_eq!(r.med.t_med_min, whole.med.t_med_min);
    let meds: Vec<String> = r
        .med
        .major_event_days
        .iter()
        .map(|d| d.date.to_string())
        .collect();
    assert_eq!(meds, vec!["2026-07-11"]);
    assert!(close(r.all_days.saidi_min, 330.0));
    assert!(
        close(r.excluding_med.saidi_min, 300.0),
        "{:?}",
        r.excluding_med
    );
    assert_eq!(r.excluding_med.customer_interruptions, 10);
    assert!(close(r.daily[10].saidi_min, 30.0));
    assert!(close(r.daily[10].system_saidi_min, 543.0));
    assert!(r.med.note.contains("whole network"), "{}", r.med.note);
}

#[test]
fn bad_parameters_name_the_parameter() {
    let net = network();
    let now = t("2026-07-15T06:00:00Z");
    let parse = |from: &str, to: &str, zone: &str, feeder: &str, off: &str| {
        Query::parse(
            &QueryText {
                from: Some(from.into()),
                to: Some(to.into()),
                zone: Some(zone.into()),
                feeder: Some(feeder.into()),
                utc_offset: Some(off.into()),
            },
            &net,
            now,
        )
        .unwrap_err()
        .parameter
    };
    assert_eq!(parse("yesterday", "", "", "", ""), "from");
    assert_eq!(parse("2026-07-14", "2026-07-13", "", "", ""), "to");
    assert_eq!(parse("", "", "downtown", "", ""), "zone");
    assert_eq!(parse("", "", "", "NO-SUCH-FEEDER", ""), "feeder");
    assert_eq!(parse("", "", "", "", "8"), "utc_offset");
    // A local day: 2026-07-14 at +08:00 starts at 2026-07-13T16:00Z.
    let q = Query::parse(
        &QueryText {
            from: Some("2026-07-14".into()),
            utc_offset: Some("+08:00".into()),
            ..QueryText::default()
        },
        &net,
        now,
    )
    .unwrap();
    assert_eq!(q.from, t("2026-07-13T16:00:00Z"));
}
