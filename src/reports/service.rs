//! Service-target compliance, workload and calls per outage.
//!
//! The targets come with each outage (`arrive_by`, `restore_by`, CONTRACT section 5);
//! the times a crew was on site and restored come from its work order's history.
//! An outage counts in the period it began, in its own zone and feeder. Planned and
//! cancelled outages are left out of compliance and calls.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{OrderRecord, OutageRecord, Query, Records};
use crate::events::format_time;

/// How one target went for one outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Met.
    Met,
    /// Missed (late, or not done and past the target).
    Missed,
    /// Not done yet, target not yet passed.
    Pending,
    /// Power came back without a crew on site (no visit needed): not counted.
    NoVisit,
}

impl Target {
    /// The name in CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Met => "met",
            Target::Missed => "missed",
            Target::Pending => "pending",
            Target::NoVisit => "no_visit",
        }
    }
}

/// Compliance of a group of outages.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Compliance {
    /// Outages in the group.
    pub outages: usize,
    /// Crew on site by `arrive_by`.
    pub on_site_met: usize,
    /// Crew on site late, or not there and past `arrive_by`.
    pub on_site_missed: usize,
    /// No crew yet, `arrive_by` not passed.
    pub on_site_pending: usize,
    /// Restored with no crew on site (not counted in the share).
    pub on_site_no_visit: usize,
    /// met ÷ (met + missed); null when none is decided.
    pub on_site_share: Option<f64>,
    /// Power back by `restore_by`.
    pub restored_met: usize,
    /// Power back late, or still out past `restore_by`.
    pub restored_missed: usize,
    /// Still out, `restore_by` not passed.
    pub restored_pending: usize,
    /// met ÷ (met + missed); null when none is decided.
    pub restored_share: Option<f64>,
}

impl Compliance {
    fn add(&mut self, on_site: Target, restored: Target) {
        self.outages += 1;
        match on_site {
            Target::Met => self.on_site_met += 1,
            Target::Missed => self.on_site_missed += 1,
            Target::Pending => self.on_site_pending += 1,
            Target::NoVisit => self.on_site_no_visit += 1,
        }
        match restored {
            Target::Met => self.restored_met += 1,
            Target::Missed => self.restored_missed += 1,
            _ => self.restored_pending += 1,
        }
    }

    fn finish(&mut self) {
        let share = |a: usize, b: usize| (a + b > 0).then(|| a as f64 / (a + b) as f64);
        self.on_site_share = share(self.on_site_met, self.on_site_missed);
        self.restored_share = share(self.restored_met, self.restored_missed);
    }
}

/// Compliance by zone and by crew.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Service {
    /// All outages of the period and region.
    pub overall: Compliance,
    /// By the outage's zone.
    pub by_zone: BTreeMap<String, Compliance>,
    /// By the crew first on site (`(none)`: no crew on site).
    pub by_crew: BTreeMap<String, Compliance>,
}

/// One crew's work in the period.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CrewWork {
    /// Orders assigned to it in the period.
    pub orders: usize,
    /// Orders it reported restored in the period.
    pub restored: usize,
    /// Orders it declined or let time out.
    pub declined: usize,
    /// Hours it held orders (assigned until restored, declined or taken away), within
    /// the period.
    pub hours_on_orders: f64,
}

/// Dispatchers' work in the period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DispatcherWork {
    /// Whether the log says which dispatcher acted.
    pub identity_recorded: bool,
    /// In words.
    pub note: &'static str,
    /// Dispatch overrides (a dispatcher sent a crew: `dispatch` events), all dispatchers.
    pub overrides: usize,
    /// Orders that had at least one override.
    pub orders_overridden: usize,
}

/// Workload per crew and per dispatcher.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Workload {
    /// By crew id.
    pub crews: BTreeMap<String, CrewWork>,
    /// Dispatchers.
    pub dispatchers: DispatcherWork,
}

/// Calls (reports) per outage.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Calls {
    /// Outages counted.
    pub outages: usize,
    /// Reports they explain.
    pub reports: u64,
    /// Mean reports per outage.
    pub per_outage_mean: Option<f64>,
    /// Median reports per outage.
    pub per_outage_median: Option<f64>,
    /// Most reports on one outage.
    pub per_outage_max: u32,
    /// Outages known from SCADA or meters alone.
    pub outages_without_calls: usize,
    /// Outages by reports: `0`, `1`, `2-5`, `6-10`, `11-50`, `51+`.
    pub distribution: Vec<(&'static str, usize)>,
}

/// One outage of the period, as a table row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutageRow {
    /// `OUT-<n>`.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// The device open.
    pub device: String,
    /// Its feeder.
    pub feeder: Option<String>,
    /// Its zone.
    pub zone: String,
    /// Planned work.
    pub planned: bool,
    /// Its status at `as_of`.
    pub status: String,
    /// Started.
    pub started_at: String,
    /// Restored.
    pub restored_at: Option<String>,
    /// Minutes out (up to `as_of` while it lasts).
    pub minutes: f64,
    /// Customers out.
    pub customers_out: u64,
    /// Reports.
    pub reports: u32,
    /// The crew first on site.
    pub crew: Option<String>,
    /// Crew on site within target.
    pub on_site: Target,
    /// Restored within target.
    pub restored: Target,
}

fn judge(done: Option<DateTime<Utc>>, by: DateTime<Utc>, as_of: DateTime<Utc>) -> Target {
    match done {
        Some(t) if t <= by => Target::Met,
        Some(_) => Target::Missed,
        None if as_of > by => Target::Missed,
        None => Target::Pending,
    }
}

fn on_site(o: &OutageRecord, order: Option<&OrderRecord>, as_of: DateTime<Utc>) -> Target {
    match order.and_then(|w| w.on_site_at) {
        Some(t) => judge(Some(t), o.arrive_by, as_of),
        None if !o.is_active() => Target::NoVisit,
        None => judge(None, o.arrive_by, as_of),
    }
}

fn crew_on_site(order: Option<&OrderRecord>) -> Option<String> {
    order?
        .history
        .iter()
        .find(|s| s.state == "on_site")
        .and_then(|s| s.crew.clone())
}

const HOLDS_CREW: [&str; 4] = ["assigned", "acknowledged", "en_route", "on_site"];

/// Compliance, workload, calls and the outage rows.
pub fn compute(records: &Records, q: &Query) -> (Service, Workload, Calls, Vec<OutageRow>) {
    let as_of = records.as_of;
    let order_of: BTreeMap<&str, &OrderRecord> = records
        .orders
        .iter()
        .map(|w| (w.outage.as_str(), w))
        .collect();
    let outage_of: BTreeMap<&str, &OutageRecord> =
        records.outages.iter().map(|o| (o.id.as_str(), o)).collect();
    let in_period = |t: DateTime<Utc>| t >= q.from && t < q.to;

    let mut overall = Compliance::default();
    let mut by_zone: BTreeMap<String, Compliance> = BTreeMap::new();
    let mut by_crew: BTreeMap<String, Compliance> = BTreeMap::new();
    let mut calls: Vec<u32> = Vec::new();
    let mut rows = Vec::new();
    for o in &records.outages {
        if o.is_cancelled() || !in_period(o.started_at) || !o.in_region(q) {
            continue;
        }
        let order = order_of.get(o.id.as_str()).copied();
        let site = on_site(o, order, as_of);
        let restored = judge(
            o.restored_at.filter(|_| !o.is_active()),
            o.restore_by,
            as_of,
        );
        let crew = crew_on_site(order);
        let end = o.restored_at.filter(|_| !o.is_active()).unwrap_or(as_of);
        rows.push(OutageRow {
            id: o.id.clone(),
            kind: o.kind.clone(),
            device: o.device.clone(),
            feeder: o.feeder.clone(),
            zone: o.zone.clone(),
            planned: o.is_planned(),
            status: o.status.clone(),
            started_at: format_time(o.started_at),
            restored_at: o.restored_at.filter(|_| !o.is_active()).map(format_time),
            minutes: ((end - o.started_at).num_seconds().max(0) as f64) / 60.0,
            customers_out: o.customers_out,
            reports: o.reports,
            crew: crew.clone(),
            on_site: site,
            restored,
        });
        if o.is_planned() {
            continue;
        }
        overall.add(site, restored);
        by_zone
            .entry(o.zone.clone())
            .or_default()
            .add(site, restored);
        by_crew
            .entry(crew.unwrap_or_else(|| "(none)".into()))
            .or_default()
            .add(site, restored);
        calls.push(o.reports);
    }
    overall.finish();
    by_zone.values_mut().for_each(Compliance::finish);
    by_crew.values_mut().for_each(Compliance::finish);

    // Workload, from each order's history, for orders of outages in the region.
    let mut crews: BTreeMap<String, CrewWork> = BTreeMap::new();
    let mut overrides = 0;
    let mut orders_overridden = 0;
    let window_end = q.to.min(as_of.max(q.from));
    for w in &records.orders {
        if !outage_of
            .get(w.outage.as_str())
            .is_some_and(|o| o.in_region(q))
        {
            continue;
        }
        let mut overridden = false;
        for (i, step) in w.history.iter().enumerate() {
            let next_at = w.history.get(i + 1).map_or(as_of, |s| s.at);
            if step.by == "dispatcher" && in_period(step.at) {
                overrides += 1;
                overridden = true;
            }
            let Some(crew) = step.crew.as_deref() else {
                if step.state == "declined" && in_period(step.at) {
                    if let Some(prev) = i.checked_sub(1).and_then(|p| w.history[p].crew.clone()) {
                        crews.entry(prev).or_default().declined += 1;
                    }
                }
                continue;
            };
            let work = crews.entry(crew.to_owned()).or_default();
            if step.state == "assigned" && in_period(step.at) {
                work.orders += 1;
            }
            if step.state == "restored" && in_period(step.at) {
                work.restored += 1;
            }
            if HOLDS_CREW.contains(&step.state.as_str()) {
                let a = step.at.max(q.from);
                let b = next_at.min(window_end);
                if b > a {
                    work.hours_on_orders += (b - a).num_seconds() as f64 / 3600.0;
                }
            }
        }
        orders_overridden += usize::from(overridden);
    }
    crews.retain(|_, w| *w != CrewWork::default());

    let mut sorted = calls.clone();
    sorted.sort_unstable();
    let n = sorted.len();
    let median = match n {
        0 => None,
        _ if n % 2 == 1 => Some(f64::from(sorted[n / 2])),
        _ => Some((f64::from(sorted[n / 2 - 1]) + f64::from(sorted[n / 2])) / 2.0),
    };
    let reports: u64 = sorted.iter().map(|r| u64::from(*r)).sum();
    let bucket = |lo: u32, hi: u32| sorted.iter().filter(|r| **r >= lo && **r <= hi).count();
    let calls = Calls {
        outages: n,
        reports,
        per_outage_mean: (n > 0).then(|| reports as f64 / n as f64),
        per_outage_median: median,
        per_outage_max: sorted.last().copied().unwrap_or(0),
        outages_without_calls: bucket(0, 0),
        distribution: vec![
            ("0", bucket(0, 0)),
            ("1", bucket(1, 1)),
            ("2-5", bucket(2, 5)),
            ("6-10", bucket(6, 10)),
            ("11-50", bucket(11, 50)),
            ("51+", bucket(51, u32::MAX)),
        ],
    };
    (
        Service {
            overall,
            by_zone,
            by_crew,
        },
        Workload {
            crews,
            dispatchers: DispatcherWork {
                identity_recorded: false,
                note: "dispatch events carry no dispatcher identity (only the role), so overrides are counted for all dispatchers together",
                overrides,
                orders_overridden,
            },
        },
        calls,
        rows,
    )
}
