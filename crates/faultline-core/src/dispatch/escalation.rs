//! The escalation rules: how late an order is running against its targets, in four
//! levels, and when to look at it again.

use chrono::{DateTime, Duration, Utc};

use super::*;

/// An order's escalation level at `clock`, why, and when it should be looked at again.
///
/// The target in play is `arrive_by` until a crew is on site, then `restore_by`; its
/// window runs from when the outage was first known. Levels, like a four-level early
/// warning:
/// - 4: the target is missed;
/// - 3: the crew's ETA (or ETR on site) is past the target, a crew on site could not
///   restore it and no crew has been on site since, or ≤ 10 % of the window is left;
/// - 2: ≤ 25 % left, or no crew yet with ≤ 50 % left;
/// - 1: ≤ 50 % left;
/// - 0: on track (and for orders restored, closed or cancelled).
pub fn escalation(o: &Order, clock: DateTime<Utc>) -> (u8, String, Option<DateTime<Utc>>) {
    let state = o.state();
    if state.is_final() || state == OrderState::Restored {
        return (0, String::new(), None);
    }
    let on_site = o.life.first_time(OrderState::OnSite).is_some();
    let (target, projected, what) = if on_site {
        (o.restore_by, o.etr, "power back")
    } else {
        (o.arrive_by, o.eta, "crew on site")
    };
    let start = o.started_at.min(target);
    let window = (target - start).num_seconds().max(1);
    let at_share = |share: f64| start + Duration::seconds((window as f64 * share) as i64);
    let left = (target - clock).num_seconds();
    let share_left = left as f64 / window as f64;
    let has_crew = o.crew().is_some();
    let hhmm = |t: DateTime<Utc>| t.format("%H:%M").to_string();
    let (level, reason) = if left < 0 {
        (4, format!("{what} target {} missed", hhmm(target)))
    } else if let Some(p) = projected.filter(|p| *p > target) {
        (
            3,
            format!(
                "expected {} after the {what} target {}",
                hhmm(p),
                hhmm(target)
            ),
        )
    } else if let Some(gave_up) = given_up_since_on_site(o) {
        // A crew on site could not restore it: it needs another crew (another skill,
        // more equipment), and a dispatcher should see that before the clock says so.
        (
            3,
            format!(
                "{} could not restore it at {}: another crew is needed",
                gave_up.by,
                hhmm(gave_up.at)
            ),
        )
    } else if share_left <= 0.10 {
        (3, format!("{} min left to the {what} target", left / 60))
    } else if share_left <= 0.25 {
        (2, format!("{} min left to the {what} target", left / 60))
    } else if !has_crew && share_left <= 0.5 {
        (
            2,
            format!("no crew yet, {} min left to the {what} target", left / 60),
        )
    } else if share_left <= 0.5 {
        (1, format!("{} min left to the {what} target", left / 60))
    } else {
        (0, String::new())
    };
    let next = [0.5, 0.75, 0.90]
        .into_iter()
        .map(at_share)
        .chain([target + Duration::seconds(1)])
        .find(|t| *t > clock);
    (level, reason, next)
}

/// The latest `cannot_restore` of order `o`, if no crew has been on site since.
pub(super) fn given_up_since_on_site(o: &Order) -> Option<&Step> {
    o.life
        .history()
        .iter()
        .rev()
        .take_while(|s| s.state != OrderState::OnSite)
        .find(|s| s.state == OrderState::CannotRestore)
}
