//! IEEE 1366 reliability indices, Major Event Days (2.5 beta) and planned outages.
//!
//! # How the figures are made
//! 1. Every customer of the network is a *unit*: a service point (weighted by its
//!    `customers`), or the customers a transformer feeds that the file does not list one
//!    by one. [`Units`] is built once per network.
//! 2. Each unplanned outage that began before the period's end gives each unit below its
//!    device an interval `[started_at, restored_at)` (up to `as_of` while it lasts),
//!    for every unit of the network; the region's units are picked after merging.
//!    A follow-up outage (`follows`: a customer said "still out" when called back) also
//!    gives each of its units that was in the outage it follows the interval from that
//!    outage's restoration to the follow-up's start: they never got power back.
//! 3. Per unit the intervals are sorted and merged: overlapping or touching intervals
//!    (a fuse out inside a breaker outage, a follow-up outage after a callback) become
//!    one interruption, so no minute is counted twice.
//! 4. A merged interruption of more than 5 minutes, or one still going at `as_of`, is
//!    *sustained* and adds its weight to the customer interruptions and weight ×
//!    minutes to the customer-minutes of the day (and period) it began in; one of 5
//!    minutes or less that is over is *momentary* (MAIFI). ASAI takes the sustained
//!    minutes inside the period (up to `as_of`) of every interruption overlapping it:
//!    each is clipped to the period, wherever it began.
//! 5. Major Event Days are a whole-network figure (IEEE 1366): the daily SAIDI of the
//!    whole network over the history (every day of the log up to the period's last day)
//!    gives the threshold: α = mean of ln(SAIDI) over the days with SAIDI > 0, β =
//!    their sample standard deviation, T_MED = exp(α + 2.5 β); a day whose whole-network
//!    SAIDI exceeds T_MED is a Major Event Day, and the region's "excluding MED"
//!    indices drop every interruption that began on one, also when the region is a
//!    zone or a feeder.
//! 6. Planned work is counted the same way, apart: each active or completed
//!    planned-outage notice gives the units it darkens (its service points, and the
//!    customers not listed one by one at the nodes its device darkens) an interval
//!    from when they went dark by plan to the window's end (up to `as_of` while the
//!    work goes on). A cancelled or still scheduled notice darkened nobody.
//!
//! # Runtime
//! O(I log I) for I (unit, outage) pairs, plus one walk of each outage's subtree. A
//! simulated year on the bundled BDGD network takes a fraction of the replay of the
//! same events (`faultline bench report`, BENCHMARKS.md).

use chrono::{DateTime, Duration, NaiveDate};
use serde::Serialize;

use super::{zone_name, PlannedRecord, Query, Records};
use crate::engine::NoticeStatus;
use crate::network::{Network, ZoneKind};

/// An interruption this long or shorter is momentary; longer is sustained (IEEE 1366:
/// more than 5 minutes). One still going at `as_of` is sustained whatever its length.
pub const MOMENTARY_SECS: i64 = 5 * 60;

/// The multiple of β in the MED threshold.
pub const MED_BETA_MULTIPLE: f64 = 2.5;

const NO_FEEDER: u32 = u32::MAX;

/// Every customer of a network as a countable unit, with its weight and region.
#[derive(Debug, Clone)]
pub struct Units {
    weight: Vec<u32>,
    feeder: Vec<u32>,
    feeders: Vec<String>,
    zone: Vec<ZoneKind>,
    /// Unit of each service point.
    of_point: Vec<u32>,
    /// Units hanging on each node: `start..end`.
    node_range: Vec<(u32, u32)>,
    /// The unit of each node's customers not listed one by one (`u32::MAX`: none).
    unlisted_of_node: Vec<u32>,
}

impl Units {
    /// The units of `net` in its normal state.
    pub fn new(net: &Network) -> Units {
        let points = net.customers().len();
        let mut u = Units {
            weight: Vec::with_capacity(points),
            feeder: Vec::with_capacity(points),
            feeders: net.feeder_ids().map(str::to_owned).collect(),
            zone: Vec::with_capacity(points),
            of_point: vec![u32::MAX; points],
            node_range: vec![(0, 0); net.node_count()],
            unlisted_of_node: vec![u32::MAX; net.node_count()],
        };
        let feeder_no = |f: Option<&str>, feeders: &[String]| {
            f.and_then(|f| feeders.iter().position(|x| x == f))
                .map_or(NO_FEEDER, |i| i as u32)
        };
        let one_zone = net.zones().is_empty();
        for at in net.nodes_with_customers() {
            let start = u.weight.len() as u32;
            let mut listed = 0u64;
            for &c in at.listed {
                let sp = net.customer(c);
                listed += u64::from(sp.customers);
                u.of_point[c.index()] = u.weight.len() as u32;
                u.weight.push(sp.customers);
                u.feeder
                    .push(feeder_no(net.feeder_of_customer(c), &u.feeders));
                u.zone.push(if one_zone {
                    ZoneKind::Urban
                } else {
                    net.zone_at(sp.lon, sp.lat)
                });
            }
            let unlisted = at.customers.saturating_sub(listed);
            if unlisted > 0 {
                u.unlisted_of_node[at.place] = u.weight.len() as u32;
                let node = at.node;
                u.weight.push(u32::try_from(unlisted).unwrap_or(u32::MAX));
                u.feeder
                    .push(feeder_no(net.feeder_of_node(&node.id), &u.feeders));
                u.zone.push(if one_zone {
                    ZoneKind::Urban
                } else {
                    net.zone_at(node.lon, node.lat)
                });
            }
            u.node_range[at.place] = (start, u.weight.len() as u32);
        }
        u
    }

    /// How many units.
    pub fn len(&self) -> usize {
        self.weight.len()
    }

    /// No customers at all.
    pub fn is_empty(&self) -> bool {
        self.weight.is_empty()
    }

    fn in_region(&self, unit: u32, q: &Query, feeder: Option<u32>) -> bool {
        let i = unit as usize;
        q.zone.is_none_or(|z| self.zone[i] == z) && feeder.is_none_or(|f| self.feeder[i] == f)
    }

    /// The units an outage darkens; false if its device is not in the network.
    fn of_outage(&self, net: &Network, kind: &str, device: &str, out: &mut Vec<u32>) -> bool {
        out.clear();
        let point = || net.customer_idx(device);
        if kind == "wire_down" {
            return true;
        }
        if kind != "service" && kind != "meter" {
            if let Some(d) = net.device_by_id(device) {
                for n in net.node_places_below(d.idx()) {
                    let (s, e) = self.node_range[n];
                    out.extend(s..e);
                }
                return true;
            }
        }
        match point() {
            Some(c) => {
                out.push(self.of_point[c.index()]);
                true
            }
            None => false,
        }
    }
}

impl Units {
    /// The units a planned-outage notice darkens: its service points, and the
    /// customers not listed one by one at the nodes its device darkens.
    fn of_notice(&self, net: &Network, p: &PlannedRecord, out: &mut Vec<u32>) {
        out.clear();
        out.extend(
            p.points
                .iter()
                .filter_map(|c| self.of_point.get(c.index()))
                .filter(|u| **u != u32::MAX),
        );
        for n in net.nodes_darkened_by(&p.device).unwrap_or_default() {
            if let Some(&u) = self.unlisted_of_node.get(n.index()) {
                if u != u32::MAX {
                    out.push(u);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// IEEE 1366 indices over a period.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Indices {
    /// System average interruption duration: customer-minutes ÷ customers served.
    pub saidi_min: f64,
    /// System average interruption frequency: customer interruptions ÷ customers served.
    pub saifi: f64,
    /// Customer average interruption duration: SAIDI ÷ SAIFI, minutes (null with no
    /// interruption).
    pub caidi_min: Option<f64>,
    /// Customer average interruption frequency: customer interruptions ÷ customers
    /// interrupted at least once (null with none).
    pub caifi: Option<f64>,
    /// Momentary average interruption frequency: momentary customer interruptions ÷
    /// customers served.
    pub maifi: f64,
    /// Average service availability: 1 − customer-minutes inside the period ÷
    /// (customers served × minutes of the period elapsed by `as_of`).
    pub asai: Option<f64>,
    /// Sustained customer-minutes of interruption.
    pub customer_minutes: f64,
    /// Sustained customer interruptions.
    pub customer_interruptions: u64,
    /// Distinct customers with at least one sustained interruption.
    pub customers_interrupted: u64,
    /// Momentary customer interruptions.
    pub momentary_interruptions: u64,
    /// The sustained customer-minutes inside the period (up to `as_of`): what ASAI is
    /// taken over. An interruption that runs past the period's end counts only up to
    /// it; one that began before the period counts from the period's start.
    pub customer_minutes_in_period: f64,
}

/// One day of the period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Day {
    /// The local date.
    pub date: NaiveDate,
    /// The region's SAIDI of interruptions that began that day, minutes.
    pub saidi_min: f64,
    /// The region's SAIFI of interruptions that began that day.
    pub saifi: f64,
    /// A Major Event Day (the whole network's SAIDI that day exceeds T_MED).
    pub major_event_day: bool,
    /// The whole network's SAIDI of that day, minutes (what T_MED is compared with; the
    /// same as `saidi_min` for a report on the whole network).
    pub system_saidi_min: f64,
}

/// The 2.5-beta Major Event Day threshold and the MEDs of the period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Med {
    /// The method, in words.
    pub method: &'static str,
    /// First day of the history the threshold was computed from.
    pub history_from: Option<NaiveDate>,
    /// Last day of that history.
    pub history_to: Option<NaiveDate>,
    /// Days in the history.
    pub history_days: usize,
    /// Days of the history with SAIDI > 0 (the ones α and β are taken over).
    pub history_days_with_interruptions: usize,
    /// Mean of ln(daily SAIDI in minutes).
    pub alpha: Option<f64>,
    /// Sample standard deviation of ln(daily SAIDI).
    pub beta: Option<f64>,
    /// exp(α + 2.5 β), minutes.
    pub t_med_min: Option<f64>,
    /// The MEDs in the period, with their SAIDI.
    pub major_event_days: Vec<Day>,
    /// What the threshold rests on, in words.
    pub note: String,
    /// Customers of the whole network: the MEDs are found on its daily SAIDI, whatever
    /// the report's region.
    pub system_customers_served: u64,
}

/// Planned outages, apart from the unplanned indices: the active and completed
/// planned-outage notices (and any outage object marked planned).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Planned {
    /// Planned outages that began in the period and darkened someone in the region.
    pub outages: usize,
    /// Of those, still under way at `as_of` (counted up to `as_of`).
    pub ongoing: usize,
    /// Their customer-minutes (union per customer, among planned outages).
    pub customer_minutes: f64,
    /// Their customer interruptions.
    pub customer_interruptions: u64,
    /// Customer-minutes ÷ customers served.
    pub saidi_min: f64,
    /// Customer interruptions ÷ customers served.
    pub saifi: f64,
}

/// The reliability section of a report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reliability {
    /// Customers of the network in the region.
    pub customers_served: u64,
    /// Unplanned outages that began in the period and darkened someone in the region.
    pub outages: usize,
    /// Of those, still out at `as_of` (counted up to `as_of`).
    pub outages_ongoing: usize,
    /// Outages whose device the network does not have (left out, counted here).
    pub outages_unresolved: usize,
    /// Every day of the period.
    pub all_days: Indices,
    /// Without the interruptions that began on a Major Event Day.
    pub excluding_med: Indices,
    /// The MED threshold and days.
    pub med: Med,
    /// Planned work.
    pub planned: Planned,
    /// Each day of the period (up to `as_of`).
    pub daily: Vec<Day>,
}

/// α, β and T_MED of a history of daily SAIDI (minutes); None with fewer than two days
/// with SAIDI > 0 (no standard deviation).
pub fn med_threshold(daily_saidi_min: &[f64]) -> Option<(f64, f64, f64)> {
    let logs: Vec<f64> = daily_saidi_min
        .iter()
        .filter(|s| **s > 0.0)
        .map(|s| s.ln())
        .collect();
    if logs.len() < 2 {
        return None;
    }
    let n = logs.len() as f64;
    let alpha = logs.iter().sum::<f64>() / n;
    let var = logs.iter().map(|x| (x - alpha).powi(2)).sum::<f64>() / (n - 1.0);
    let beta = var.sqrt();
    Some((alpha, beta, (alpha + MED_BETA_MULTIPLE * beta).exp()))
}

/// A merged interruption of one unit: start and end, seconds since the epoch; `open`
/// when it is still going at `as_of` (its end is `as_of`, not a restoration).
#[derive(Debug, Clone, Copy)]
struct Spell {
    unit: u32,
    start: i64,
    end: i64,
    open: bool,
}

impl Spell {
    /// Sustained: longer than 5 minutes, or still going (an interruption not yet over
    /// is never momentary).
    fn sustained(&self) -> bool {
        self.open || self.end - self.start > MOMENTARY_SECS
    }

    /// Its seconds inside `[from, to)`.
    fn secs_within(&self, from: i64, to: i64) -> i64 {
        (self.end.min(to) - self.start.max(from)).max(0)
    }
}

/// One interval of one unit: `(unit, start, end, open)`.
type Raw = (u32, i64, i64, bool);

/// Merge each unit's intervals, given in any order.
fn merge(mut raw: Vec<Raw>) -> Vec<Spell> {
    raw.sort_unstable();
    let mut out: Vec<Spell> = Vec::with_capacity(raw.len() / 2);
    for (unit, start, end, open) in raw {
        match out.last_mut() {
            Some(last) if last.unit == unit && start <= last.end => {
                if end > last.end {
                    last.end = end;
                    last.open = open;
                } else if end == last.end {
                    last.open |= open;
                }
            }
            _ => out.push(Spell {
                unit,
                start,
                end,
                open,
            }),
        }
    }
    out
}

#[derive(Default, Clone, Copy)]
struct Sums {
    minutes: f64,
    interruptions: u64,
    momentary: u64,
}

/// The reliability section.
pub fn compute(net: &Network, units: &Units, records: &Records, q: &Query) -> Reliability {
    let feeder = q.feeder.as_deref().map(|f| {
        units
            .feeders
            .iter()
            .position(|x| x == f)
            .map_or(NO_FEEDER - 1, |i| i as u32)
    });
    let in_region = |u: u32| units.in_region(u, q, feeder);
    let served: u64 = (0..units.len() as u32)
        .filter(|u| in_region(*u))
        .map(|u| u64::from(units.weight[u as usize]))
        .sum();
    let system_served: u64 = units.weight.iter().map(|w| u64::from(*w)).sum();
    let as_of = records.as_of.timestamp();
    let (from, to) = (q.from.timestamp(), q.to.timestamp());

    // Intervals of every unit of the network: the Major Event Days are found on the
    // whole network's daily SAIDI, whatever the region.
    let mut unplanned: Vec<Raw> = Vec::new();
    let mut planned: Vec<Raw> = Vec::new();
    let mut scratch = Vec::new();
    let mut first_units = Vec::new();
    let by_id: std::collections::BTreeMap<&str, &super::OutageRecord> =
        records.outages.iter().map(|o| (o.id.as_str(), o)).collect();
    let (mut outages, mut ongoing, mut unresolved) = (0, 0, 0);
    let (mut planned_outages, mut planned_ongoing) = (0, 0);
    for o in &records.outages {
        let start = o.started_at.timestamp();
        if o.is_cancelled() || start >= to {
            continue;
        }
        if !units.of_outage(net, &o.kind, &o.device, &mut scratch) {
            if start >= from {
                unresolved += 1;
            }
            continue;
        }
        let (end, open) = match o.restored_at {
            Some(r) if !o.is_active() => (r.timestamp(), false),
            _ => (as_of, true),
        };
        let end = end.max(start);
        let sink = if o.is_planned() {
            &mut planned
        } else {
            &mut unplanned
        };
        // A follow-up: its customers that were in the outage it follows never got
        // power back, from that outage's restoration to this one's start.
        let first = o.follows.as_deref().and_then(|f| by_id.get(f));
        if let Some(first) = first.filter(|f| !f.is_cancelled() && !f.is_active()) {
            let restored = first.restored_at.map(|r| r.timestamp());
            if let Some(restored) = restored.filter(|r| *r < start) {
                if units.of_outage(net, &first.kind, &first.device, &mut first_units) {
                    first_units.sort_unstable();
                    sink.extend(
                        scratch
                            .iter()
                            .filter(|u| first_units.binary_search(u).is_ok())
                            .map(|u| (*u, restored, start, false)),
                    );
                }
            }
        }
        sink.extend(scratch.iter().map(|u| (*u, start, end, open)));
        if start >= from && scratch.iter().any(|u| in_region(*u)) {
            if o.is_planned() {
                planned_outages += 1;
                planned_ongoing += usize::from(o.is_active());
            } else {
                outages += 1;
                ongoing += usize::from(o.is_active());
            }
        }
    }
    // Planned work: the active and completed notices, from when their customers went
    // dark to the window's end (up to as_of while the work goes on).
    for p in records.planned.iter().filter(|p| p.darkened_anyone()) {
        let start = p.from.timestamp();
        let end = p.end.timestamp().min(as_of);
        if start >= to || end <= start {
            continue;
        }
        units.of_notice(net, p, &mut scratch);
        let open = p.status == NoticeStatus::Active;
        planned.extend(scratch.iter().map(|u| (*u, start, end, open)));
        if start >= from && scratch.iter().any(|u| in_region(*u)) {
            planned_outages += 1;
            planned_ongoing += usize::from(open);
        }
    }
    let system_spells = merge(unplanned);

    // The history: every local day from the log's first up to the period's last (not
    // beyond as_of).
    let last_moment = (to - 1).min(as_of.max(from));
    let first_day = q.day_of(records.log_start.min(q.from));
    let last_day = q.day_of(DateTime::from_timestamp(last_moment, 0).unwrap_or(q.to));
    let history_days = ((last_day - first_day).num_days() + 1).max(0) as usize;
    let mut daily = vec![Sums::default(); history_days];
    let mut system_daily = vec![Sums::default(); history_days];
    let day_index = |t: i64| -> Option<usize> {
        let d = q.day_of(DateTime::from_timestamp(t, 0)?);
        let i = (d - first_day).num_days();
        (0..history_days as i64).contains(&i).then_some(i as usize)
    };
    for s in &system_spells {
        let Some(i) = day_index(s.start) else {
            continue;
        };
        let w = u64::from(units.weight[s.unit as usize]);
        let sinks = if in_region(s.unit) {
            [Some(&mut system_daily[i]), Some(&mut daily[i])]
        } else {
            [Some(&mut system_daily[i]), None]
        };
        for d in sinks.into_iter().flatten() {
            if s.sustained() {
                d.minutes += w as f64 * (s.end - s.start) as f64 / 60.0;
                d.interruptions += w;
            } else {
                d.momentary += w;
            }
        }
    }
    let per = |x: f64| if served > 0 { x / served as f64 } else { 0.0 };
    let per_system = |x: f64| {
        if system_served > 0 {
            x / system_served as f64
        } else {
            0.0
        }
    };
    let system_saidi: Vec<f64> = system_daily.iter().map(|d| per_system(d.minutes)).collect();
    let threshold = med_threshold(&system_saidi);
    let is_med = |i: usize| threshold.is_some_and(|(_, _, t)| system_saidi[i] > t);
    let date_of = |i: usize| first_day + Duration::days(i as i64);

    // ASAI is taken over the period up to as_of, and only over the minutes inside it.
    let period_end = to.min(as_of.max(from));
    let elapsed_min = ((period_end - from) as f64 / 60.0).max(0.0);
    let indices = |skip_med: bool| -> Indices {
        let mut sums = Sums::default();
        let mut in_period_min = 0.0;
        let mut interrupted = 0u64;
        let mut last_unit = u32::MAX;
        for s in system_spells.iter().filter(|s| in_region(s.unit)) {
            if skip_med && day_index(s.start).is_some_and(is_med) {
                continue;
            }
            let w = u64::from(units.weight[s.unit as usize]);
            if s.sustained() {
                // Availability: the minutes inside the period, wherever the
                // interruption began.
                in_period_min += w as f64 * s.secs_within(from, period_end) as f64 / 60.0;
            }
            if s.start < from || s.start >= to {
                continue;
            }
            if s.sustained() {
                sums.minutes += w as f64 * (s.end - s.start) as f64 / 60.0;
                sums.interruptions += w;
                if s.unit != last_unit {
                    interrupted += w;
                    last_unit = s.unit;
                }
            } else {
                sums.momentary += w;
            }
        }
        let saidi = per(sums.minutes);
        let saifi = per(sums.interruptions as f64);
        Indices {
            saidi_min: saidi,
            saifi,
            caidi_min: (sums.interruptions > 0).then(|| sums.minutes / sums.interruptions as f64),
            caifi: (interrupted > 0).then(|| sums.interruptions as f64 / interrupted as f64),
            maifi: per(sums.momentary as f64),
            asai: (served > 0 && elapsed_min > 0.0)
                .then(|| 1.0 - in_period_min / (served as f64 * elapsed_min)),
            customer_minutes: sums.minutes,
            customer_interruptions: sums.interruptions,
            customers_interrupted: interrupted,
            momentary_interruptions: sums.momentary,
            customer_minutes_in_period: in_period_min,
        }
    };
    let all_days = indices(false);
    let excluding_med = indices(true);

    let period_days: Vec<Day> = (0..history_days)
        .filter(|i| {
            let d = date_of(*i);
            d >= q.day_of(q.from) && super::day_start(d, q.utc_offset) < q.to
        })
        .map(|i| Day {
            date: date_of(i),
            saidi_min: per(daily[i].minutes),
            saifi: per(daily[i].interruptions as f64),
            major_event_day: is_med(i),
            system_saidi_min: system_saidi[i],
        })
        .collect();
    let with_interruptions = system_saidi.iter().filter(|s| **s > 0.0).count();
    let whole = match (q.zone, q.feeder.as_deref()) {
        (None, None) => String::new(),
        _ => format!(
            "; as IEEE 1366 asks, Major Event Days are found on the whole network's daily SAIDI ({system_served} customers), not on the {}'s, and the {}'s figures leave those days out",
            region_name(q),
            region_name(q)
        ),
    };
    let note = match threshold {
        Some(_) => format!(
            "T_MED from the whole network's daily SAIDI over the {history_days} days of the log from {} to {} (before and in the period), {with_interruptions} of them with SAIDI > 0; IEEE 1366 asks for five years of history: with less, T_MED is indicative{whole}",
            date_of(0),
            last_day
        ),
        None => format!(
            "no threshold: the {history_days} days of the log from {} to {} have {with_interruptions} day(s) with SAIDI > 0 on the whole network, and the method needs at least 2{whole}",
            date_of(0),
            last_day
        ),
    };
    let med = Med {
        method:
            "IEEE 1366 2.5 beta: T_MED = exp(α + 2.5 β) over ln(daily SAIDI of the whole network), days with SAIDI > 0",
        history_from: (history_days > 0).then(|| date_of(0)),
        history_to: (history_days > 0).then_some(last_day),
        history_days,
        history_days_with_interruptions: with_interruptions,
        alpha: threshold.map(|t| t.0),
        beta: threshold.map(|t| t.1),
        t_med_min: threshold.map(|t| t.2),
        major_event_days: period_days
            .iter()
            .filter(|d| d.major_event_day)
            .cloned()
            .collect(),
        note,
        system_customers_served: system_served,
    };

    let planned_spells = merge(planned);
    let mut p = Planned {
        outages: planned_outages,
        ongoing: planned_ongoing,
        ..Planned::default()
    };
    for s in planned_spells
        .iter()
        .filter(|s| in_region(s.unit) && s.start >= from && s.start < to)
    {
        let w = u64::from(units.weight[s.unit as usize]);
        p.customer_minutes += w as f64 * (s.end - s.start) as f64 / 60.0;
        p.customer_interruptions += w;
    }
    p.saidi_min = per(p.customer_minutes);
    p.saifi = per(p.customer_interruptions as f64);

    Reliability {
        customers_served: served,
        outages,
        outages_ongoing: ongoing,
        outages_unresolved: unresolved,
        all_days,
        excluding_med,
        med,
        planned: p,
        daily: period_days,
    }
}

/// A zone's name, for callers that print the region.
pub fn region_name(q: &Query) -> String {
    match (q.zone, q.feeder.as_deref()) {
        (None, None) => "whole network".into(),
        (Some(z), None) => format!("zone {}", zone_name(z)),
        (None, Some(f)) => format!("feeder {f}"),
        (Some(z), Some(f)) => format!("feeder {f}, zone {}", zone_name(z)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn med_threshold_is_exp_of_alpha_plus_two_and_a_half_beta() {
        // Days with SAIDI 1, e, e², e³ minutes and two days without interruptions:
        // ln → 0, 1, 2, 3; α = 1.5; sample variance = (2.25+0.25+0.25+2.25)/3 = 5/3;
        // β = 1.29099; T_MED = exp(1.5 + 2.5 × 1.29099) = exp(4.72749) = 113.01 min.
        let e = std::f64::consts::E;
        let (alpha, beta, t) = med_threshold(&[1.0, 0.0, e, e * e, 0.0, e * e * e]).unwrap();
        assert!((alpha - 1.5).abs() < 1e-12);
        assert!((beta - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((t - 113.01).abs() < 0.01, "T_MED {t}");
    }

    #[test]
    fn a_quiet_series_with_one_storm_day_flags_only_the_storm() {
        // 60 days of 0.5–1.5 SAIDI minutes and one day of 400: only that day exceeds T_MED.
        let mut days: Vec<f64> = (0..60).map(|i| 0.5 + (i % 11) as f64 / 10.0).collect();
        days.push(400.0);
        let (_, _, t) = med_threshold(&days).unwrap();
        let meds: Vec<usize> = (0..days.len()).filter(|i| days[*i] > t).collect();
        assert_eq!(meds, vec![60], "T_MED {t}");
        assert!(t > 1.5 && t < 400.0);
    }

    #[test]
    fn fewer_than_two_days_with_interruptions_give_no_threshold() {
        assert_eq!(med_threshold(&[0.0, 12.0, 0.0]), None);
        assert_eq!(med_threshold(&[]), None);
    }
}
