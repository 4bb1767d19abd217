//! Dispatch under random sequences of what happens in a storm: outages come and go,
//! crews join, act (rightly or wrongly), time passes, dispatchers override. After every
//! step: no crew is on two orders, every order's history is a valid path through its
//! states, and every dispatcher's assignment still holds unless something that may end
//! it happened (the crew gave it up, went off shift, the order ended, or a dispatcher
//! chose again).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use faultline::dispatch::{Dispatch, DispatchOptions, JobKind, OutageFacts};
use faultline::events::{CrewActionKind, CrewUpdate};
use faultline::network::{DeviceKind, ZoneKind};
use faultline::orders::is_valid_path;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Outage { n: u64, km: u8 },
    Restored { n: u64 },
    Crew { c: u8, km: u8, on_shift: bool },
    Action { c: u8, order: u64, action: u8 },
    Override { order: u64, c: u8 },
    Wait { minutes: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u64..12, 0u8..30).prop_map(|(n, km)| Op::Outage { n, km }),
        1 => (1u64..12).prop_map(|n| Op::Restored { n }),
        2 => (0u8..6, 0u8..30, prop::bool::weighted(0.85)).prop_map(|(c, km, on_shift)| Op::Crew { c, km, on_shift }),
        5 => (0u8..6, 1u64..14, 0u8..6).prop_map(|(c, order, action)| Op::Action { c, order, action }),
        1 => (1u64..14, 0u8..6).prop_map(|(order, c)| Op::Override { order, c }),
        2 => (1u8..20).prop_map(|minutes| Op::Wait { minutes }),
    ]
}

const ACTIONS: [CrewActionKind; 6] = [
    CrewActionKind::Acknowledge,
    CrewActionKind::Decline,
    CrewActionKind::EnRoute,
    CrewActionKind::OnSite,
    CrewActionKind::Restored,
    CrewActionKind::CannotRestore,
];

fn facts(n: u64, km: u8, active: bool, at: DateTime<Utc>) -> OutageFacts<'static> {
    let device: &'static str = Box::leak(format!("DEV-{n}").into_boxed_str());
    OutageFacts {
        number: n,
        job: if n % 4 == 0 {
            JobKind::Meter
        } else {
            JobKind::Device(DeviceKind::Fuse)
        },
        device,
        active,
        restored: !active,
        merged_into: None,
        lon: 116.0 + f64::from(km) / 85.0,
        lat: 40.0,
        zone: ZoneKind::Urban,
        customers_out: n * 10,
        critical_customers_out: u32::from(n % 5 == 0),
        started_at: at,
        arrive_by: at + Duration::minutes(45),
        restore_by: at + Duration::hours(12),
    }
}

fn crew_id(c: u8) -> String {
    format!("C{c}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn crews_orders_and_overrides_stay_consistent(ops in prop::collection::vec(op(), 1..80)) {
        let mut d = Dispatch::new(DispatchOptions::default());
        let mut now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let mut started: BTreeMap<u64, DateTime<Utc>> = BTreeMap::new();
        // order number -> crew a dispatcher sent.
        let mut pins: BTreeMap<u64, String> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Outage { n, km } => {
                    let at = *started.entry(n).or_insert(now);
                    d.outage(&facts(n, km, true, at), now);
                }
                Op::Restored { n } => {
                    if let Some(at) = started.remove(&n) {
                        d.outage(&facts(n, 0, false, at), now);
                    }
                }
                Op::Crew { c, km, on_shift } => {
                    let skills = if c % 3 == 0 { vec!["meter".to_string()] } else { vec!["line".to_string()] };
                    d.crew_update(&CrewUpdate {
                        id: crew_id(c), name: None, skills,
                        lon: Some(116.0 + f64::from(km) / 85.0), lat: Some(40.0), on_shift,
                    }, now);
                    if !on_shift {
                        pins.retain(|_, crew| *crew != crew_id(c));
                    }
                }
                Op::Action { c, order, action } => {
                    let action = ACTIONS[action as usize];
                    let name = format!("WO-{order}");
                    let ok = d.crew_action(&crew_id(c), &name, action, None, now).is_ok();
                    let gives_up = matches!(action, CrewActionKind::Decline | CrewActionKind::CannotRestore | CrewActionKind::Restored);
                    if ok && gives_up && pins.get(&order) == Some(&crew_id(c)) {
                        pins.remove(&order);
                    }
                }
                Op::Override { order, c } => {
                    if d.dispatch(&format!("WO-{order}"), &crew_id(c), now).is_ok() {
                        // The crew leaves any other pinned order; this order has a new crew.
                        pins.retain(|_, crew| *crew != crew_id(c));
                        pins.insert(order, crew_id(c));
                    }
                }
                Op::Wait { minutes } => {
                    now += Duration::minutes(i64::from(minutes));
                    d.fire_timers(now);
                }
            }
            d.solve(now);
            d.take_changes();

            // No crew on two orders, and crews and orders agree.
            let mut holder: BTreeMap<String, u64> = BTreeMap::new();
            for o in d.orders() {
                prop_assert!(is_valid_path(o.life.history()), "{:?}", o.life.history());
                if let Some(c) = o.crew() {
                    if o.state().holds_crew() {
                        prop_assert!(holder.insert(c.to_owned(), o.number).is_none(), "{c} on two orders");
                        prop_assert_eq!(d.crew(c).and_then(|c| c.order), Some(o.number));
                    }
                }
            }
            for crew in d.crews() {
                if let Some(n) = crew.order {
                    prop_assert_eq!(holder.get(&crew.id), Some(&n));
                }
            }
            // Every standing override holds.
            pins.retain(|n, _| d.order(*n).is_some_and(|o| o.state().holds_crew()));
            for (n, crew) in &pins {
                prop_assert_eq!(d.order(*n).and_then(|o| o.crew()), Some(crew.as_str()), "override of WO-{} undone", n);
            }
        }
    }
}
