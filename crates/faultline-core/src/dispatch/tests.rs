use super::*;
use crate::orders::is_valid_path;

/// 0.01° of longitude at 40°N: about 852 m.
const KM: f64 = 1.0 / 85.2;

fn t(min: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000 + min * 60, 0).unwrap()
}

fn facts(number: u64, km_east: f64, job: JobKind, customers: u64) -> OutageFacts<'static> {
    let device: &'static str = Box::leak(format!("DEV-{number}").into_boxed_str());
    OutageFacts {
        number,
        job,
        device,
        active: true,
        restored: false,
        merged_into: None,
        lon: 116.0 + km_east * KM,
        lat: 40.0,
        zone: ZoneKind::Urban,
        customers_out: customers,
        critical_customers_out: 0,
        started_at: t(0),
        arrive_by: t(45),
        restore_by: t(12 * 60),
    }
}

fn crew(d: &mut Dispatch, id: &str, km_east: f64, skills: &[&str]) {
    d.crew_update(
        &CrewUpdate {
            id: id.into(),
            name: None,
            skills: skills.iter().map(|s| s.to_string()).collect(),
            lon: Some(116.0 + km_east * KM),
            lat: Some(40.0),
            on_shift: true,
        },
        t(0),
    );
}

fn crew_of(d: &Dispatch, outage: u64) -> Option<String> {
    d.order_of_outage(outage)?.crew().map(str::to_owned)
}

#[test]
fn an_outage_gets_an_order_and_the_free_crew_goes() {
    let mut d = Dispatch::new(DispatchOptions::default());
    crew(&mut d, "C1", 3.0, &["line"]);
    d.outage(&facts(1, 0.0, JobKind::Device(DeviceKind::Fuse), 40), t(1));
    d.solve(t(1));
    let o = d.order_of_outage(1).unwrap();
    assert_eq!(o.state(), OrderState::Assigned);
    assert_eq!(o.crew(), Some("C1"));
    // 3 km × 1.4 at 25 km/h is 10 min, plus 5 to get going.
    let eta = o.eta.unwrap();
    assert!((eta - t(1)).num_minutes() == 15, "{eta}");
    assert_eq!(o.etr, Some(eta + Duration::minutes(90)));
    assert_eq!(d.crew("C1").unwrap().order, Some(o.number));
    let ch = d.take_changes();
    assert_eq!(ch.orders, vec![(1, true)]);
    assert_eq!(ch.crews, vec!["C1".to_string()]);
    assert_eq!(ch.outages, vec![1]);
    assert_eq!(d.take_changes(), Changes::default());
}

#[test]
fn optimal_assignment_meets_both_targets_where_nearest_first_misses_one() {
    // Order A (older) at 0 km, B at 12 km; crew 1 at 4 km, crew 2 at −10 km.
    // Nearest-first gives A crew 1 (4 km), leaving B crew 2 at 22 km: 74 min, late.
    // The optimum sends crew 2 to A (10 km, 39 min) and crew 1 to B (8 km, 32 min).
    for (policy, a, b) in [(Policy::Greedy, "C1", "C2"), (Policy::Optimal, "C2", "C1")] {
        let mut d = Dispatch::new(DispatchOptions {
            policy,
            ..DispatchOptions::default()
        });
        crew(&mut d, "C1", 4.0, &["line"]);
        crew(&mut d, "C2", -10.0, &["line"]);
        d.outage(&facts(1, 0.0, JobKind::Device(DeviceKind::Fuse), 50), t(0));
        d.outage(&facts(2, 12.0, JobKind::Device(DeviceKind::Fuse), 50), t(0));
        d.solve(t(0));
        assert_eq!(crew_of(&d, 1).as_deref(), Some(a), "{policy:?}");
        assert_eq!(crew_of(&d, 2).as_deref(), Some(b), "{policy:?}");
        let late = d.orders().filter(|o| o.eta.unwrap() > o.arrive_by).count();
        assert_eq!(late, usize::from(policy == Policy::Greedy), "{policy:?}");
    }
}

#[test]
fn skills_are_respected_and_critical_customers_come_first_when_crews_are_scarce() {
    let mut d = Dispatch::new(DispatchOptions::default());
    crew(&mut d, "LINE", 0.0, &["line"]);
    d.outage(&facts(1, 1.0, JobKind::Meter, 1), t(0));
    d.solve(t(0));
    assert_eq!(crew_of(&d, 1), None, "a line crew does not replace meters");
    let mut hospital = facts(2, 6.0, JobKind::Device(DeviceKind::Fuse), 30);
    hospital.critical_customers_out = 1;
    d.outage(&facts(3, 1.0, JobKind::Device(DeviceKind::Fuse), 200), t(0));
    d.outage(&hospital, t(0));
    d.solve(t(0));
    assert_eq!(crew_of(&d, 2).as_deref(), Some("LINE"));
    assert_eq!(crew_of(&d, 3), None);
    crew(&mut d, "METER", 0.0, &["meter"]);
    d.solve(t(0));
    assert_eq!(crew_of(&d, 1).as_deref(), Some("METER"));
}

#[test]
fn an_unacknowledged_assignment_goes_to_another_crew() {
    let mut d = Dispatch::new(DispatchOptions::default());
    crew(&mut d, "C1", 1.0, &[]);
    d.outage(&facts(1, 0.0, JobKind::Device(DeviceKind::Fuse), 1), t(0));
    d.solve(t(0));
    assert_eq!(crew_of(&d, 1).as_deref(), Some("C1"));
    crew(&mut d, "C2", 5.0, &[]);
    d.fire_timers(t(4));
    d.solve(t(4));
    assert_eq!(crew_of(&d, 1).as_deref(), Some("C1"), "not yet");
    d.fire_timers(t(5));
    d.solve(t(5));
    let o = d.order_of_outage(1).unwrap();
    assert_eq!(o.crew(), Some("C2"));
    let steps: Vec<_> = o
        .life
        .history()
        .iter()
        .map(|s| (s.state, s.by.as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (OrderState::Created, "faultline"),
            (OrderState::Assigned, "faultline"),
            (OrderState::Declined, "faultline"),
            (OrderState::Assigned, "faultline"),
        ]
    );
    assert!(!d.crew("C1").unwrap().responsive);
    assert!(is_valid_path(o.life.history()));
}

#[test]
fn bad_crew_actions_are_refused_and_change_nothing() {
    let mut d = Dispatch::new(DispatchOptions::default());
    crew(&mut d, "C1", 1.0, &[]);
    crew(&mut d, "C2", 9.0, &[]);
    d.outage(&facts(1, 0.0, JobKind::Device(DeviceKind::Fuse), 1), t(0));
    d.solve(t(0));
    assert_eq!(crew_of(&d, 1).as_deref(), Some("C1"));
    let before = d.order(1).unwrap().clone();
    let refusals = [
        (
            "C1",
            "WO-9",
            CrewActionKind::Acknowledge,
            "order \"WO-9\" does not exist",
        ),
        (
            "C2",
            "WO-1",
            CrewActionKind::Acknowledge,
            "order WO-1 is C1's, not C2's",
        ),
        (
            "C1",
            "WO-1",
            CrewActionKind::Restored,
            "order WO-1 is assigned: C1 cannot restore it now",
        ),
        (
            "C9",
            "WO-1",
            CrewActionKind::OnSite,
            "crew \"C9\" is not known: send a crew event first",
        ),
    ];
    for (c, o, a, message) in refusals {
        let err = d.crew_action(c, o, a, None, t(1)).unwrap_err();
        assert_eq!(err.0, message);
    }
    assert_eq!(d.order(1).unwrap(), &before);
    // The right crew, in order; a resend does no harm.
    d.crew_action("C1", "WO-1", CrewActionKind::Acknowledge, None, t(1))
        .unwrap();
    d.crew_action("C1", "WO-1", CrewActionKind::Acknowledge, None, t(2))
        .unwrap();
    d.crew_action("C1", "WO-1", CrewActionKind::OnSite, None, t(10))
        .unwrap();
    let restored = d
        .crew_action(
            "C1",
            "WO-1",
            CrewActionKind::Restored,
            Some("fuse refused"),
            t(40),
        )
        .unwrap();
    assert_eq!(restored, Some(1));
    assert_eq!(
        d.crew_action("C1", "WO-1", CrewActionKind::Restored, None, t(41)),
        Ok(None)
    );
    let o = d.order(1).unwrap();
    assert_eq!(o.life.history().len(), 5);
    assert_eq!(o.state(), OrderState::Restored);
    assert_eq!(d.crew("C1").unwrap().order, None, "free for the next job");
    // Power back: the order closes.
    let mut done = facts(1, 0.0, JobKind::Service, 1);
    done.active = false;
    done.restored = true;
    d.outage(&done, t(41));
    assert_eq!(d.order(1).unwrap().state(), OrderState::Closed);
}

#[test]
fn a_dispatchers_choice_holds() {
    let mut d = Dispatch::new(DispatchOptions::default());
    crew(&mut d, "NEAR", 0.5, &[]);
    crew(&mut d, "FAR", 20.0, &[]);
    d.outage(&facts(1, 0.0, JobKind::Device(DeviceKind::Fuse), 1), t(0));
    d.solve(t(0));
    assert_eq!(crew_of(&d, 1).as_deref(), Some("NEAR"));
    d.dispatch("WO-1", "FAR", t(1)).unwrap();
    assert_eq!(crew_of(&d, 1).as_deref(), Some("FAR"));
    assert!(d.order(1).unwrap().pinned);
    // New orders, a re-solve and the acknowledgement timer leave it alone.
    d.outage(&facts(2, 1.0, JobKind::Device(DeviceKind::Fuse), 1), t(2));
    d.solve(t(2));
    d.crew_action("NEAR", "WO-2", CrewActionKind::Acknowledge, None, t(3))
        .unwrap();
    d.fire_timers(t(30));
    d.solve(t(30));
    assert_eq!(crew_of(&d, 1).as_deref(), Some("FAR"));
    assert_eq!(crew_of(&d, 2).as_deref(), Some("NEAR"));
    assert_eq!(
        d.check_dispatch("WO-7", "FAR").unwrap_err().0,
        "order \"WO-7\" does not exist"
    );
}

#[test]
fn escalation_rises_with_the_clock_and_with_a_late_eta() {
    let mut d = Dispatch::new(DispatchOptions::default());
    d.outage(&facts(1, 0.0, JobKind::Device(DeviceKind::Fuse), 1), t(0));
    let level = |d: &Dispatch| d.order(1).unwrap().escalation;
    assert_eq!(level(&d), 0);
    d.fire_timers(t(23));
    assert_eq!(level(&d), 2, "no crew with half the time gone");
    d.fire_timers(t(34));
    assert_eq!(level(&d), 2);
    d.fire_timers(t(41));
    assert_eq!(level(&d), 3);
    d.fire_timers(t(46));
    assert_eq!(level(&d), 4);
    assert!(d.order(1).unwrap().escalation_reason.contains("missed"));
    // The only crew is 40 km away: the ETA is past the target from the start.
    let mut d = Dispatch::new(DispatchOptions::default());
    crew(&mut d, "FAR", 40.0, &[]);
    d.outage(&facts(2, 0.0, JobKind::Device(DeviceKind::Fuse), 1), t(0));
    d.solve(t(0));
    let o = d.order_of_outage(2).unwrap();
    assert_eq!(o.crew(), Some("FAR"));
    assert_eq!(o.escalation, 3, "{}", o.escalation_reason);
}

#[test]
fn a_single_customer_outage_gets_its_order_only_if_still_out_after_the_hold() {
    let mut d = Dispatch::new(DispatchOptions::default());
    crew(&mut d, "C1", 1.0, &[]);
    d.outage(&facts(1, 0.0, JobKind::Service, 1), t(0));
    d.solve(t(0));
    assert!(
        d.order_of_outage(1).is_none(),
        "most are the first calls of a larger outage"
    );
    // Another one merges into a device outage before its hold is over: no order, ever.
    d.outage(&facts(2, 0.0, JobKind::Service, 1), t(1));
    let mut merged = facts(2, 0.0, JobKind::Service, 1);
    merged.active = false;
    d.outage(&merged, t(4));
    d.fire_timers(t(10));
    d.solve(t(10));
    assert_eq!(crew_of(&d, 1).as_deref(), Some("C1"));
    assert!(d.order_of_outage(2).is_none());
    assert_eq!(d.orders().count(), 1);
}

#[test]
fn the_fast_price_matrix_is_the_pair_cost_of_every_pair() {
    let (mut d, at) = synthetic_board(60, 25, 3);
    // Some orders declined by some crews, one crew without a position.
    for n in [3u64, 9, 17] {
        if let Some(o) = d.orders.get_mut(&n) {
            o.declined_by.push("CREW-2".into());
        }
    }
    if let Some(c) = d.crews.get_mut("CREW-5") {
        c.position = None;
    }
    let m = d.price_all(at);
    let orders: Vec<&Order> = d.waiting.iter().map(|n| &d.orders[n]).collect();
    let crews: Vec<&Crew> = d.crews.values().collect();
    assert_eq!((m.rows(), m.cols()), (60, 25));
    let mut forbidden = 0;
    for (r, o) in orders.iter().enumerate() {
        for (c, crew) in crews.iter().enumerate() {
            assert_eq!(
                m.get(r, c),
                d.pair_cost(o, crew, at),
                "{} {}",
                o.id(),
                crew.id
            );
            forbidden += usize::from(m.get(r, c) == FORBIDDEN);
        }
    }
    assert!(
        forbidden > 0,
        "skills and declines make some pairs forbidden"
    );
}
