//! Dispatch: crews, work orders, service-target clocks, escalation, and the assignment of
//! crews to orders.
//!
//! Pure like the engine that drives it: time comes in with each call, nothing here reads
//! a clock or does I/O, and every decision is a function of what came before, so a
//! replay makes the same assignments.
//!
//! # What happens
//! - Every active outage has one work order ([`Order`]) (a single-customer outage
//!   inferred from its own evidence, once it is still out after a hold); when it moves, grows or
//!   merges, the order follows; when power is back the order closes.
//! - Whenever the waiting orders or the free crews change, the assignment is solved
//!   again as a minimum-cost assignment over every waiting order × every free crew
//!   ([`assign`]): optimal for the whole board, not nearest-first. The price of a pair
//!   puts, in this order: a missed on-site target, a missed restoration target, critical
//!   customers (and safety: wire down), customers out, then travel time; see
//!   [`Dispatch::pair_cost`]. Any assignment beats leaving a crew idle while an order
//!   waits. Crews without the skill are never matched.
//! - Assignments already made stay (no crew is pulled off a job by the optimiser); a
//!   dispatcher's `dispatch` event pins the order to that crew and the optimiser never
//!   moves it.
//! - An assignment not acknowledged within [`DispatchOptions::ack_timeout_min`] goes back
//!   to waiting (history: `declined`, by faultline, "no acknowledgement"), and the crew is
//!   marked `no_response` and left out until it is heard from again (any position or
//!   action, even one refused as too late).
//! - A crew that declines an order, lets it time out or cannot restore it is not offered
//!   that order again; once every crew able to do it has, the order goes round again
//!   (all but the latest of them), so no order is left waiting for good. An order a crew
//!   could not restore is escalated to level 3 until a crew is on site again.
//! - Each order carries `eta`, `arrive_by`, `restore_by`, `etr` and an escalation level
//!   from 0 to 4 (see [`escalation`]), re-evaluated on every change and by timers at the
//!   level boundaries.
//!
//! Crews are assigned when free; a crew about to finish a job is not yet offered the
//! next one (a known limit: with very scarce crews a look-ahead could do better).

pub mod assign;
pub mod travel;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::events::{self, CrewActionKind, CrewUpdate};
pub use crate::ids::{order_name, parse_order_name};
use crate::network::{DeviceKind, FastMap, ZoneKind};
use crate::orders::{Lifecycle, OrderState, Refused, Step};
use assign::{CostMatrix, FORBIDDEN};
use travel::{Place, TravelModel};

/// How crews are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// faultline: minimum-cost assignment over all waiting orders and free crews.
    #[default]
    Optimal,
    /// The classic rule, for comparison: oldest order first, nearest free crew.
    Greedy,
}

/// Typical repair times in minutes, by the kind of job (used for `etr`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RepairTimes {
    /// A feeder breaker's fault: patrol the feeder, repair, close.
    pub breaker: i64,
    /// A recloser or sectionalizer locked out: patrol the section, repair.
    pub recloser: i64,
    /// A blown lateral fuse: find the cause, refuse.
    pub fuse: i64,
    /// A failed distribution transformer.
    pub transformer: i64,
    /// One service point (drop, meter base).
    pub service: i64,
    /// A failed meter, replaced.
    pub meter: i64,
    /// A conductor on the ground made safe and repaired.
    pub wire_down: i64,
}

impl Default for RepairTimes {
    fn default() -> Self {
        Self {
            breaker: 240,
            recloser: 180,
            fuse: 90,
            transformer: 240,
            service: 75,
            meter: 45,
            wire_down: 120,
        }
    }
}

impl RepairTimes {
    /// The typical minutes for a job.
    pub fn minutes(&self, job: JobKind) -> i64 {
        match job {
            JobKind::Device(DeviceKind::Breaker) => self.breaker,
            JobKind::Device(DeviceKind::Recloser | DeviceKind::Sectionalizer) => self.recloser,
            JobKind::Device(DeviceKind::Fuse) => self.fuse,
            JobKind::Device(DeviceKind::Transformer) => self.transformer,
            JobKind::Service => self.service,
            JobKind::Meter => self.meter,
            JobKind::WireDown => self.wire_down,
        }
    }
}

/// How dispatch is set up; every field can be changed per deployment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DispatchOptions {
    /// Who picks crews.
    pub policy: Policy,
    /// Travel times.
    pub travel: TravelModel,
    /// Minutes a crew has to acknowledge an assignment before it goes to another crew.
    pub ack_timeout_min: i64,
    /// Minutes a single-customer outage inferred from its own evidence (not a meter or
    /// wire-down report) waits before it gets a work order: in a storm most of them are
    /// the first calls of a larger outage and merge into it within minutes.
    pub service_hold_min: i64,
    /// Typical repair times.
    pub repair: RepairTimes,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        Self {
            policy: Policy::Optimal,
            travel: TravelModel::default(),
            ack_timeout_min: 5,
            service_hold_min: 10,
            repair: RepairTimes::default(),
        }
    }
}

/// What kind of job an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum JobKind {
    /// A protective device (or transformer) open.
    Device(DeviceKind),
    /// One service point out.
    Service,
    /// A failed meter.
    Meter,
    /// A wire on the ground.
    WireDown,
}

impl JobKind {
    fn as_str(self) -> &'static str {
        match self {
            JobKind::Device(_) => "device",
            JobKind::Service => "service",
            JobKind::Meter => "meter",
            JobKind::WireDown => "wire_down",
        }
    }

    /// The skill a crew needs: `meter` for a meter, `line` for everything else.
    pub fn skill(self) -> &'static str {
        match self {
            JobKind::Meter => "meter",
            _ => "line",
        }
    }
}

/// What dispatch needs to know about an outage, as it now stands.
#[derive(Debug, Clone)]
pub struct OutageFacts<'a> {
    /// The outage's number (`OUT-<n>`).
    pub number: u64,
    /// What kind of job it makes.
    pub job: JobKind,
    /// The device (or service point) to go to.
    pub device: &'a str,
    /// Still out.
    pub active: bool,
    /// Ended because power is back (otherwise, when not active: cancelled or merged).
    pub restored: bool,
    /// For a merged outage, the outage that took it over.
    pub merged_into: Option<&'a str>,
    /// Where.
    pub lon: f64,
    /// Where.
    pub lat: f64,
    /// Whose targets apply.
    pub zone: ZoneKind,
    /// Customers out.
    pub customers_out: u64,
    /// Critical customers out.
    pub critical_customers_out: u32,
    /// When the outage was first known.
    pub started_at: DateTime<Utc>,
    /// Crew on site by.
    pub arrive_by: DateTime<Utc>,
    /// Power back by.
    pub restore_by: DateTime<Utc>,
}

/// A crew as dispatch knows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Crew {
    /// Its id.
    pub id: String,
    /// A name for people.
    pub name: Option<String>,
    /// What it can do.
    pub skills: Vec<String>,
    /// Last known position.
    pub position: Option<(f64, f64)>,
    /// On shift.
    pub on_shift: bool,
    /// The order it is on.
    pub order: Option<u64>,
    /// False after it let an assignment time out, until it is heard from again.
    pub responsive: bool,
}

impl Crew {
    /// Can it do a job needing `skill`? (A crew listing no skills is a general crew.)
    pub fn can(&self, skill: &str) -> bool {
        self.skills.is_empty() || self.skills.iter().any(|s| s == skill || s == "all")
    }
}

/// A crew as its messages and the API show it (see [`Dispatch::crew_view`]); the fields
/// in the order they are written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrewView {
    /// The crew's id.
    pub id: String,
    /// A name for people.
    pub name: Option<String>,
    /// What it can repair.
    pub skills: Vec<String>,
    /// Where it is, if known.
    pub lon: Option<f64>,
    /// Where it is, if known.
    pub lat: Option<f64>,
    /// On shift.
    pub on_shift: bool,
    /// `off_shift`, `available`, `assigned`, `en_route`, `on_site`, …
    pub status: &'static str,
    /// The order it is on (`WO-n`).
    pub order: Option<String>,
    /// That order's outage (`OUT-n`).
    pub outage: Option<String>,
    /// Where that order is.
    pub target_lon: Option<f64>,
    /// Where that order is.
    pub target_lat: Option<f64>,
    /// When it is expected there.
    #[serde(serialize_with = "events::serialize_opt_time")]
    pub eta: Option<DateTime<Utc>>,
}

impl CrewView {
    /// The view as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A work order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Order {
    /// The number in `WO-<n>`.
    pub number: u64,
    /// The outage's number.
    pub outage: u64,
    /// What kind of job.
    pub job: JobKind,
    /// Where to go: the device (or service point).
    pub device: String,
    /// Where to go.
    pub lon: f64,
    /// Where to go.
    pub lat: f64,
    /// The zone whose targets apply.
    pub zone: ZoneKind,
    place: Place,
    /// Customers out.
    pub customers_out: u64,
    /// Critical customers out.
    pub critical_customers_out: u32,
    /// When the outage was first known (the targets count from here).
    pub started_at: DateTime<Utc>,
    /// Crew on site by.
    pub arrive_by: DateTime<Utc>,
    /// Power back by.
    pub restore_by: DateTime<Utc>,
    /// State, crew and history.
    pub life: Lifecycle,
    /// When the crew is expected on site.
    pub eta: Option<DateTime<Utc>>,
    /// When power is expected back.
    pub etr: Option<DateTime<Utc>>,
    /// 0 (on track) to 4 (a target missed).
    pub escalation: u8,
    /// Why the level is what it is.
    pub escalation_reason: String,
    /// A dispatcher chose the crew: the optimiser leaves it alone.
    pub pinned: bool,
    /// Crews that declined it, let it time out or could not restore it: not offered it
    /// again, until every crew able to do it is among them (see [`Dispatch::solve`]).
    pub declined_by: Vec<String>,
    ack_due: Option<DateTime<Utc>>,
}

impl Order {
    /// `WO-<n>`.
    pub fn id(&self) -> String {
        order_name(self.number)
    }

    /// The state now.
    pub fn state(&self) -> OrderState {
        self.life.state()
    }

    /// The crew on it now.
    pub fn crew(&self) -> Option<&str> {
        self.life.crew()
    }

    /// When it was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.life.history()[0].at
    }

    /// The object as the stream and the API carry it, as JSON text.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Json<'a> {
            id: String,
            outage: String,
            kind: &'static str,
            device: &'a str,
            lon: f64,
            lat: f64,
            zone: ZoneKind,
            skill: &'static str,
            state: OrderState,
            crew: Option<&'a str>,
            pinned: bool,
            customers_out: u64,
            critical_customers_out: u32,
            #[serde(serialize_with = "events::serialize_time")]
            created_at: DateTime<Utc>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            eta: Option<DateTime<Utc>>,
            #[serde(serialize_with = "events::serialize_time")]
            arrive_by: DateTime<Utc>,
            #[serde(serialize_with = "events::serialize_time")]
            restore_by: DateTime<Utc>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            etr: Option<DateTime<Utc>>,
            escalation: u8,
            escalation_reason: &'a str,
            #[serde(serialize_with = "events::serialize_opt_time")]
            assigned_at: Option<DateTime<Utc>>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            acknowledged_at: Option<DateTime<Utc>>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            en_route_at: Option<DateTime<Utc>>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            on_site_at: Option<DateTime<Utc>>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            restored_at: Option<DateTime<Utc>>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            closed_at: Option<DateTime<Utc>>,
            history: &'a [Step],
        }
        let life = &self.life;
        let json = Json {
            id: self.id(),
            outage: crate::ids::outage_name(self.outage),
            kind: self.job.as_str(),
            device: &self.device,
            lon: self.lon,
            lat: self.lat,
            zone: self.zone,
            skill: self.job.skill(),
            state: self.state(),
            crew: self.crew(),
            pinned: self.pinned,
            customers_out: self.customers_out,
            critical_customers_out: self.critical_customers_out,
            created_at: self.created_at(),
            eta: self.eta,
            arrive_by: self.arrive_by,
            restore_by: self.restore_by,
            etr: self.etr,
            escalation: self.escalation,
            escalation_reason: &self.escalation_reason,
            assigned_at: life.last_time(OrderState::Assigned),
            acknowledged_at: life.last_time(OrderState::Acknowledged),
            en_route_at: life.last_time(OrderState::EnRoute),
            on_site_at: life.first_time(OrderState::OnSite),
            restored_at: life.first_time(OrderState::Restored),
            closed_at: life
                .first_time(OrderState::Closed)
                .or_else(|| life.first_time(OrderState::Cancelled)),
            history: life.history(),
        };
        serde_json::to_string(&json).unwrap_or_default()
    }
}

/// What a crew action does, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionEffect {
    /// The order moves to this state.
    Go(OrderState),
    /// Already done (a resend from a phone that lost its signal): nothing changes.
    AlreadyDone,
}

/// What changed since the last [`Dispatch::take_changes`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Orders that changed, with `true` for those created since.
    pub orders: Vec<(u64, bool)>,
    /// Crews that changed.
    pub crews: Vec<String>,
    /// Outages whose order, crew, ETA or ETR changed.
    pub outages: Vec<u64>,
}

/// Dispatch's state: see the module docs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Dispatch {
    /// From the options, not a snapshot ([`Dispatch::set_options`]).
    #[serde(skip)]
    options: DispatchOptions,
    crews: BTreeMap<String, Crew>,
    orders: BTreeMap<u64, Order>,
    order_of_outage: FastMap<u64, u64>,
    next_order: u64,
    /// (when, order): re-evaluate the order then (acknowledgement due, escalation steps).
    timers: BTreeSet<(DateTime<Utc>, u64)>,
    waiting: BTreeSet<u64>,
    needs_solve: bool,
    changed_orders: BTreeSet<u64>,
    new_orders: BTreeSet<u64>,
    changed_crews: BTreeSet<String>,
    changed_outages: BTreeSet<u64>,
    counts_changed: BTreeSet<u64>,
    /// Single-customer outages waiting out their hold, by outage number.
    held: BTreeMap<u64, Held>,
    hold_timers: BTreeSet<(DateTime<Utc>, u64)>,
}

/// What an outage on hold needs to become an order.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Held {
    due: DateTime<Utc>,
    device: String,
    lon: f64,
    lat: f64,
    zone: ZoneKind,
    customers_out: u64,
    critical_customers_out: u32,
    started_at: DateTime<Utc>,
    arrive_by: DateTime<Utc>,
    restore_by: DateTime<Utc>,
}

const FAULTLINE: &str = "faultline";
const DISPATCHER: &str = "dispatcher";

impl Dispatch {
    /// No crews, no orders.
    pub fn new(options: DispatchOptions) -> Self {
        Self {
            options,
            crews: BTreeMap::new(),
            orders: BTreeMap::new(),
            order_of_outage: FastMap::default(),
            next_order: 1,
            timers: BTreeSet::new(),
            waiting: BTreeSet::new(),
            needs_solve: false,
            changed_orders: BTreeSet::new(),
            new_orders: BTreeSet::new(),
            changed_crews: BTreeSet::new(),
            changed_outages: BTreeSet::new(),
            counts_changed: BTreeSet::new(),
            held: BTreeMap::new(),
            hold_timers: BTreeSet::new(),
        }
    }

    /// Put the options back after a snapshot is restored (they are settings, not state).
    pub(crate) fn set_options(&mut self, options: DispatchOptions) {
        self.options = options;
    }

    /// The settings.
    pub fn options(&self) -> &DispatchOptions {
        &self.options
    }

    /// Every order, oldest first.
    pub fn orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.values()
    }

    /// One order by number.
    pub fn order(&self, number: u64) -> Option<&Order> {
        self.orders.get(&number)
    }

    /// The current order of an outage.
    pub fn order_of_outage(&self, outage: u64) -> Option<&Order> {
        self.orders.get(self.order_of_outage.get(&outage)?)
    }

    /// Every crew, by id.
    pub fn crews(&self) -> impl Iterator<Item = &Crew> {
        self.crews.values()
    }

    /// One crew by id.
    pub fn crew(&self, id: &str) -> Option<&Crew> {
        self.crews.get(id)
    }

    /// What changed since the last call (and forget it).
    pub fn take_changes(&mut self) -> Changes {
        if self.changed_orders.is_empty()
            && self.changed_crews.is_empty()
            && self.changed_outages.is_empty()
        {
            return Changes::default();
        }
        let new = std::mem::take(&mut self.new_orders);
        Changes {
            orders: std::mem::take(&mut self.changed_orders)
                .into_iter()
                .map(|n| (n, new.contains(&n)))
                .collect(),
            crews: std::mem::take(&mut self.changed_crews)
                .into_iter()
                .collect(),
            outages: std::mem::take(&mut self.changed_outages)
                .into_iter()
                .collect(),
        }
    }

    fn touch(&mut self, n: u64) {
        self.counts_changed.remove(&n);
        self.changed_orders.insert(n);
        if let Some(o) = self.orders.get(&n) {
            self.changed_outages.insert(o.outage);
        }
    }

    // ----- outages -----------------------------------------------------------------

    /// An outage was created or changed: open, follow or close its order.
    pub fn outage(&mut self, f: &OutageFacts<'_>, clock: DateTime<Utc>) {
        let current = self
            .order_of_outage
            .get(&f.number)
            .copied()
            .filter(|n| self.orders.get(n).is_some_and(|o| !o.state().is_final()));
        let Some(n) = current else {
            if !f.active {
                self.held.remove(&f.number);
            } else if f.job == JobKind::Service && self.options.service_hold_min > 0 {
                self.hold(f, clock);
            } else {
                self.held.remove(&f.number);
                self.open_order(f, clock);
            }
            return;
        };
        if !f.active {
            self.end_order(n, f, clock);
            return;
        }
        let travel = self.options.travel;
        let Some(o) = self.orders.get_mut(&n) else {
            return;
        };
        let moved = o.device != f.device;
        let before = (
            o.customers_out,
            o.critical_customers_out,
            o.arrive_by,
            o.restore_by,
        );
        o.job = f.job;
        o.device = f.device.to_owned();
        o.lon = f.lon;
        o.lat = f.lat;
        o.zone = f.zone;
        o.place = travel.place(f.lon, f.lat, f.zone);
        o.customers_out = f.customers_out;
        o.critical_customers_out = f.critical_customers_out;
        o.started_at = f.started_at;
        o.arrive_by = f.arrive_by;
        o.restore_by = f.restore_by;
        let after = (
            o.customers_out,
            o.critical_customers_out,
            o.arrive_by,
            o.restore_by,
        );
        let targets_moved = before.2 != after.2 || before.3 != after.3;
        if moved || targets_moved {
            if o.state().is_waiting() {
                self.needs_solve = true;
            }
            if moved {
                self.update_eta(n, clock);
            }
            self.reescalate(n, clock);
            self.touch(n);
        } else if before != after {
            // Only the counts grew: the order is current at once, its message goes out
            // with the next change or at the next minute ([`Self::flush_counts`]), so a
            // storm of calls into one outage is not a storm of order messages.
            if o.state().is_waiting() {
                self.needs_solve = true;
            }
            self.counts_changed.insert(n);
        }
    }

    /// Announce the orders whose customer counts changed since the last call.
    pub fn flush_counts(&mut self) {
        for n in std::mem::take(&mut self.counts_changed) {
            self.changed_orders.insert(n);
        }
    }

    /// A single-customer outage inferred from its own evidence gets its order only if
    /// it is still out after [`DispatchOptions::service_hold_min`].
    fn hold(&mut self, f: &OutageFacts<'_>, clock: DateTime<Utc>) {
        let due = match self.held.get(&f.number) {
            Some(h) => h.due,
            None => {
                let due = clock + Duration::minutes(self.options.service_hold_min);
                self.hold_timers.insert((due, f.number));
                due
            }
        };
        self.held.insert(
            f.number,
            Held {
                due,
                device: f.device.to_owned(),
                lon: f.lon,
                lat: f.lat,
                zone: f.zone,
                customers_out: f.customers_out,
                critical_customers_out: f.critical_customers_out,
                started_at: f.started_at,
                arrive_by: f.arrive_by,
                restore_by: f.restore_by,
            },
        );
    }

    /// Open the orders of held outages whose hold is over by `clock`.
    fn release_held(&mut self, clock: DateTime<Utc>) {
        while let Some(&(due, number)) = self.hold_timers.first() {
            if due > clock {
                break;
            }
            self.hold_timers.pop_first();
            let Some(h) = self.held.remove(&number) else {
                continue;
            };
            let facts = OutageFacts {
                number,
                job: JobKind::Service,
                device: &h.device,
                active: true,
                restored: false,
                merged_into: None,
                lon: h.lon,
                lat: h.lat,
                zone: h.zone,
                customers_out: h.customers_out,
                critical_customers_out: h.critical_customers_out,
                started_at: h.started_at,
                arrive_by: h.arrive_by,
                restore_by: h.restore_by,
            };
            self.open_order(&facts, due);
        }
    }

    fn open_order(&mut self, f: &OutageFacts<'_>, clock: DateTime<Utc>) {
        let n = self.next_order;
        self.next_order += 1;
        let why = format!(
            "{} out at {} ({} customers)",
            crate::ids::outage_name(f.number),
            f.device,
            f.customers_out
        );
        let order = Order {
            number: n,
            outage: f.number,
            job: f.job,
            device: f.device.to_owned(),
            lon: f.lon,
            lat: f.lat,
            zone: f.zone,
            place: self.options.travel.place(f.lon, f.lat, f.zone),
            customers_out: f.customers_out,
            critical_customers_out: f.critical_customers_out,
            started_at: f.started_at,
            arrive_by: f.arrive_by,
            restore_by: f.restore_by,
            life: Lifecycle::new(clock, FAULTLINE, why),
            eta: None,
            etr: None,
            escalation: 0,
            escalation_reason: String::new(),
            pinned: false,
            declined_by: Vec::new(),
            ack_due: None,
        };
        self.orders.insert(n, order);
        self.order_of_outage.insert(f.number, n);
        self.waiting.insert(n);
        self.needs_solve = true;
        self.new_orders.insert(n);
        self.reescalate(n, clock);
        self.touch(n);
    }

    fn end_order(&mut self, n: u64, f: &OutageFacts<'_>, clock: DateTime<Utc>) {
        let Some(o) = self.orders.get_mut(&n) else {
            return;
        };
        let state = o.state();
        let crew = o.crew().map(str::to_owned);
        let result = if f.restored {
            if state == OrderState::OnSite {
                let by = crew.clone().unwrap_or_else(|| FAULTLINE.into());
                let _ = o.life.advance(
                    OrderState::Restored,
                    clock,
                    &by,
                    "power is back (meters or SCADA)",
                );
            }
            let why = if o.life.first_time(OrderState::OnSite).is_some() {
                "power is back"
            } else {
                "power came back before a crew reached it"
            };
            o.life.advance(OrderState::Closed, clock, FAULTLINE, why)
        } else if state == OrderState::Restored {
            o.life
                .advance(OrderState::Closed, clock, FAULTLINE, "outage closed")
        } else {
            let why = match f.merged_into {
                Some(keeper) => format!("its outage was merged into {keeper}"),
                None => "its outage was withdrawn: the evidence is explained otherwise".into(),
            };
            o.life.advance(OrderState::Cancelled, clock, FAULTLINE, why)
        };
        if result.is_ok() {
            o.eta = None;
            o.ack_due = None;
            o.escalation = 0;
            o.escalation_reason.clear();
            self.waiting.remove(&n);
            if let Some(crew) = crew {
                self.release_crew(&crew, n);
            }
            self.touch(n);
        }
    }

    /// `crew` is done with order `n` (if it is still on it: a crew that reported
    /// `restored` has already moved on).
    fn release_crew(&mut self, crew: &str, n: u64) {
        if let Some(c) = self.crews.get_mut(crew).filter(|c| c.order == Some(n)) {
            c.order = None;
            self.changed_crews.insert(crew.to_owned());
            if c.on_shift && c.responsive {
                self.needs_solve = true;
            }
        }
    }

    // ----- crews -------------------------------------------------------------------

    /// A crew joins or changes (skills, shift, position).
    pub fn crew_update(&mut self, u: &CrewUpdate, clock: DateTime<Utc>) {
        let crew = self.crews.entry(u.id.clone()).or_insert_with(|| Crew {
            id: u.id.clone(),
            name: None,
            skills: Vec::new(),
            position: None,
            on_shift: false,
            order: None,
            responsive: true,
        });
        crew.name = u.name.clone().or(crew.name.take());
        crew.skills = u.skills.clone();
        if let (Some(lon), Some(lat)) = (u.lon, u.lat) {
            crew.position = Some((lon, lat));
        }
        crew.on_shift = u.on_shift;
        crew.responsive = true;
        let order = crew.order;
        self.changed_crews.insert(u.id.clone());
        // Off shift before taking the order: it goes to someone else.
        if let Some(n) = order {
            if !u.on_shift
                && self
                    .orders
                    .get(&n)
                    .is_some_and(|o| o.state() == OrderState::Assigned)
            {
                self.back_to_waiting(n, clock, FAULTLINE, "the crew went off shift");
            } else {
                self.update_eta(n, clock);
            }
        }
        if u.on_shift {
            self.needs_solve = true;
        }
    }

    /// Is a position from this crew acceptable?
    pub fn check_position(&self, crew: &str) -> Result<(), Refused> {
        if self.crews.contains_key(crew) {
            Ok(())
        } else {
            Err(Refused(format!(
                "crew {crew:?} is not known: send a crew event first"
            )))
        }
    }

    /// A crew's live position.
    pub fn crew_position(
        &mut self,
        crew: &str,
        lon: f64,
        lat: f64,
        clock: DateTime<Utc>,
    ) -> Result<(), Refused> {
        self.check_position(crew)?;
        let Some(c) = self.crews.get_mut(crew) else {
            return Ok(());
        };
        c.position = Some((lon, lat));
        let came_back = !c.responsive;
        c.responsive = true;
        let order = c.order;
        self.changed_crews.insert(crew.to_owned());
        if came_back {
            self.needs_solve = true;
        }
        if let Some(n) = order {
            self.update_eta(n, clock);
        }
        Ok(())
    }

    /// Check a crew's action, made at `at`, against the state then: what it would do,
    /// or why not. An assignment whose acknowledgement is due by `at` has gone back to
    /// waiting by then (its timer fires before the action is applied), so the action is
    /// checked as the engine will apply it, not as the state stood a moment earlier.
    pub fn check_action(
        &self,
        crew: &str,
        order: &str,
        action: CrewActionKind,
        at: DateTime<Utc>,
    ) -> Result<ActionEffect, Refused> {
        if !self.crews.contains_key(crew) {
            return Err(Refused(format!(
                "crew {crew:?} is not known: send a crew event first"
            )));
        }
        let Some(o) = parse_order_name(order).and_then(|n| self.orders.get(&n)) else {
            return Err(Refused(format!("order {order:?} does not exist")));
        };
        let to = match action {
            CrewActionKind::Acknowledge => OrderState::Acknowledged,
            CrewActionKind::Decline => OrderState::Declined,
            CrewActionKind::EnRoute => OrderState::EnRoute,
            CrewActionKind::OnSite => OrderState::OnSite,
            CrewActionKind::Restored => OrderState::Restored,
            CrewActionKind::CannotRestore => OrderState::CannotRestore,
        };
        // A resend of something this crew already did on this order changes nothing.
        let history = o.life.history();
        let done_before = history
            .iter()
            .rposition(|s| s.state == OrderState::Assigned && s.crew.as_deref() == Some(crew))
            .is_some_and(|i| history[i..].iter().any(|s| s.state == to && s.by == crew));
        if done_before {
            return Ok(ActionEffect::AlreadyDone);
        }
        if o.crew() == Some(crew) && self.ack_expired(o, at) {
            return Err(Refused(format!(
                "order {order} was not acknowledged within {} min: it went back to waiting",
                self.options.ack_timeout_min
            )));
        }
        if o.crew() != Some(crew) {
            return Err(Refused(match o.crew() {
                Some(other) => format!("order {order} is {other}'s, not {crew}'s"),
                None => format!(
                    "order {order} is not assigned to {crew} (it is {})",
                    o.state().as_str()
                ),
            }));
        }
        if !o.state().can_go(to) {
            return Err(Refused(format!(
                "order {order} is {}: {crew} cannot {} it now",
                o.state().as_str(),
                action_verb(action)
            )));
        }
        Ok(ActionEffect::Go(to))
    }

    /// Has order `o`'s assignment gone unacknowledged past its deadline by `at` (its
    /// timer has fired, or will fire before anything at `at` is applied)?
    fn ack_expired(&self, o: &Order, at: DateTime<Utc>) -> bool {
        o.state() == OrderState::Assigned && !o.pinned && o.ack_due.is_some_and(|d| d <= at)
    }

    /// Apply a crew's action. On `restored`, returns the outage the crew says is back.
    ///
    /// A refused action still tells that the crew is there: a crew marked `no_response`
    /// is offered work again.
    pub fn crew_action(
        &mut self,
        crew: &str,
        order: &str,
        action: CrewActionKind,
        note: Option<&str>,
        clock: DateTime<Utc>,
    ) -> Result<Option<u64>, Refused> {
        let effect = self.check_action(crew, order, action, clock);
        if effect.is_err() {
            self.heard_from(crew);
        }
        let ActionEffect::Go(to) = effect? else {
            return Ok(None);
        };
        let n = parse_order_name(order).unwrap_or_default();
        if let Some(c) = self.crews.get_mut(crew) {
            c.responsive = true;
        }
        let why = note.unwrap_or("").to_owned();
        let Some(o) = self.orders.get_mut(&n) else {
            return Ok(None);
        };
        match to {
            OrderState::Declined | OrderState::CannotRestore => {
                o.life.advance(to, clock, crew, why)?;
                o.declined_by.push(crew.to_owned());
                o.pinned = false;
                o.ack_due = None;
                o.eta = None;
                o.etr = None;
                self.waiting.insert(n);
                self.release_crew(crew, n);
                self.needs_solve = true;
            }
            OrderState::Restored => {
                o.life.advance(to, clock, crew, why)?;
                o.etr = Some(clock);
                let outage = o.outage;
                self.release_crew(crew, n);
                self.reescalate(n, clock);
                self.touch(n);
                return Ok(Some(outage));
            }
            _ => {
                o.life.advance(to, clock, crew, why)?;
                o.ack_due = None;
                self.update_eta(n, clock);
            }
        }
        self.changed_crews.insert(crew.to_owned());
        self.reescalate(n, clock);
        self.touch(n);
        Ok(None)
    }

    /// A crew marked `no_response` was heard from: it is offered work again.
    fn heard_from(&mut self, crew: &str) {
        if let Some(c) = self.crews.get_mut(crew).filter(|c| !c.responsive) {
            c.responsive = true;
            self.changed_crews.insert(crew.to_owned());
            self.needs_solve = true;
        }
    }

    /// Check a dispatcher's assignment against the state now.
    pub fn check_dispatch(&self, order: &str, crew: &str) -> Result<(), Refused> {
        let Some(o) = parse_order_name(order).and_then(|n| self.orders.get(&n)) else {
            return Err(Refused(format!("order {order:?} does not exist")));
        };
        let Some(c) = self.crews.get(crew) else {
            return Err(Refused(format!("crew {crew:?} is not known")));
        };
        if !c.on_shift {
            return Err(Refused(format!("crew {crew} is off shift")));
        }
        if o.crew() == Some(crew) {
            return Ok(());
        }
        if !o.state().can_go(OrderState::Assigned) {
            return Err(Refused(format!(
                "order {order} is {}: it cannot be given to another crew",
                o.state().as_str()
            )));
        }
        if let Some(current) = c.order.and_then(|n| self.orders.get(&n)) {
            if current.state() == OrderState::OnSite {
                return Err(Refused(format!(
                    "crew {crew} is on site at {}: let it finish or send it elsewhere first",
                    current.id()
                )));
            }
        }
        Ok(())
    }

    /// A dispatcher sends `crew` to `order`; the optimiser will not undo it.
    pub fn dispatch(
        &mut self,
        order: &str,
        crew: &str,
        clock: DateTime<Utc>,
    ) -> Result<(), Refused> {
        self.check_dispatch(order, crew)?;
        let n = parse_order_name(order).unwrap_or_default();
        if self.orders.get(&n).and_then(|o| o.crew()) == Some(crew) {
            if let Some(o) = self.orders.get_mut(&n) {
                o.pinned = true;
            }
            self.touch(n);
            return Ok(());
        }
        // The crew leaves what it was doing; the order it leaves waits again.
        if let Some(previous) = self.crews.get(crew).and_then(|c| c.order) {
            self.back_to_waiting(
                previous,
                clock,
                DISPATCHER,
                &format!("{crew} was sent to {order} by a dispatcher"),
            );
        }
        // The order's current crew (if any) is free again.
        if let Some(old) = self
            .orders
            .get(&n)
            .and_then(|o| o.crew())
            .map(str::to_owned)
        {
            self.release_crew(&old, n);
        }
        self.give(n, crew, clock, DISPATCHER, "sent by a dispatcher".into());
        if let Some(o) = self.orders.get_mut(&n) {
            o.pinned = true;
            // A dispatcher's choice is not taken back on a timer.
            o.ack_due = None;
        }
        Ok(())
    }

    fn back_to_waiting(&mut self, n: u64, clock: DateTime<Utc>, by: &str, why: &str) {
        let Some(o) = self.orders.get_mut(&n) else {
            return;
        };
        let crew = o.crew().map(str::to_owned);
        let to = if o.state() == OrderState::OnSite {
            OrderState::CannotRestore
        } else {
            OrderState::Declined
        };
        if o.life.advance(to, clock, by, why).is_err() {
            return;
        }
        o.pinned = false;
        o.ack_due = None;
        o.eta = None;
        o.etr = None;
        self.waiting.insert(n);
        self.needs_solve = true;
        if let Some(crew) = crew {
            self.release_crew(&crew, n);
        }
        self.reescalate(n, clock);
        self.touch(n);
    }

    /// Give order `n` to `crew`.
    fn give(&mut self, n: u64, crew: &str, clock: DateTime<Utc>, by: &str, why: String) {
        let ack = Duration::minutes(self.options.ack_timeout_min);
        let Some(o) = self.orders.get_mut(&n) else {
            return;
        };
        if o.life.assign(crew, clock, by, why).is_err() {
            return;
        }
        o.ack_due = Some(clock + ack);
        self.timers.insert((clock + ack, n));
        self.waiting.remove(&n);
        if let Some(c) = self.crews.get_mut(crew) {
            c.order = Some(n);
        }
        self.changed_crews.insert(crew.to_owned());
        self.update_eta(n, clock);
        self.reescalate(n, clock);
        self.touch(n);
    }

    // ----- clocks ------------------------------------------------------------------

    /// Fire every timer due at or before `clock`, in time order.
    pub fn fire_timers(&mut self, clock: DateTime<Utc>) {
        self.release_held(clock);
        while let Some(&(due, n)) = self.timers.first() {
            if due > clock {
                break;
            }
            self.timers.pop_first();
            let Some(o) = self.orders.get(&n) else {
                continue;
            };
            let timed_out = o.state() == OrderState::Assigned
                && !o.pinned
                && o.ack_due.is_some_and(|d| d <= due);
            if timed_out {
                let crew = o.crew().map(str::to_owned);
                let minutes = self.options.ack_timeout_min;
                if let Some(o) = self.orders.get_mut(&n) {
                    if let Some(c) = &crew {
                        o.declined_by.push(c.clone());
                    }
                }
                self.back_to_waiting(
                    n,
                    due,
                    FAULTLINE,
                    &format!("not acknowledged within {minutes} min: offered to another crew"),
                );
                if let Some(c) = crew.and_then(|c| self.crews.get_mut(&c)) {
                    c.responsive = false;
                }
            } else {
                if o.state().is_waiting() {
                    self.needs_solve = true;
                }
                let before = (o.escalation, o.escalation_reason.clone());
                self.reescalate(n, due);
                let after = self
                    .orders
                    .get(&n)
                    .map(|o| (o.escalation, o.escalation_reason.clone()));
                if after != Some(before) {
                    self.touch(n);
                }
            }
        }
    }

    /// Recompute `eta` and `etr` of order `n` from its crew's position and state.
    fn update_eta(&mut self, n: u64, clock: DateTime<Utc>) {
        let travel = self.options.travel;
        let repair = self.options.repair;
        let Some(o) = self.orders.get(&n) else {
            return;
        };
        let crew = o.crew().and_then(|c| self.crews.get(c));
        let (eta, etr) = match (o.state(), crew) {
            (OrderState::OnSite, _) => {
                let arrived = o.life.first_time(OrderState::OnSite).unwrap_or(clock);
                let at = o.life.last_time(OrderState::OnSite).unwrap_or(clock);
                (
                    Some(arrived),
                    Some(at + Duration::minutes(repair.minutes(o.job))),
                )
            }
            (s, Some(c)) if s.holds_crew() => {
                let minutes = match c.position {
                    Some((lon, lat)) if s == OrderState::EnRoute => {
                        travel.drive_min(lon, lat, &o.place)
                    }
                    Some((lon, lat)) => travel.minutes(lon, lat, &o.place),
                    None => UNKNOWN_POSITION_MIN,
                };
                let eta = clock + Duration::seconds((minutes * 60.0).round() as i64);
                (
                    Some(eta),
                    Some(eta + Duration::minutes(repair.minutes(o.job))),
                )
            }
            (OrderState::Restored, _) => (o.eta, o.etr),
            _ => (None, None),
        };
        let changed = o.eta != eta || o.etr != etr;
        if changed {
            if let Some(o) = self.orders.get_mut(&n) {
                o.eta = eta;
                o.etr = etr;
            }
            self.reescalate(n, clock);
            self.touch(n);
        }
    }

    /// Set order `n`'s escalation level for `clock` and arm the timer for its next step.
    fn reescalate(&mut self, n: u64, clock: DateTime<Utc>) {
        let Some(o) = self.orders.get_mut(&n) else {
            return;
        };
        let (level, reason, next) = escalation(o, clock);
        o.escalation = level;
        o.escalation_reason = reason;
        if let Some(next) = next {
            self.timers.insert((next, n));
        }
    }

    // ----- assignment --------------------------------------------------------------

    /// The price of sending `crew` to `order` at `clock` (lower is better), or
    /// [`FORBIDDEN`]. In points: any assignment −1,000,000 (never leave a crew idle
    /// while an order waits); on site within target −200,000; power back within target
    /// −100,000; a wire down −50,000; each critical customer (up to 5) −20,000;
    /// customers out −1,000 × log2(1 + n); each minute of travel +50.
    pub fn pair_cost(&self, order: &Order, crew: &Crew, clock: DateTime<Utc>) -> i64 {
        if !crew.can(order.job.skill()) || order.declined_by.contains(&crew.id) {
            return FORBIDDEN;
        }
        let minutes = match crew.position {
            Some((lon, lat)) => self.options.travel.minutes(lon, lat, &order.place),
            None => UNKNOWN_POSITION_MIN,
        };
        let arrival = clock + Duration::seconds((minutes * 60.0) as i64);
        let repair = Duration::minutes(self.options.repair.minutes(order.job));
        let mut value = self.order_value(order);
        if arrival <= order.arrive_by {
            value += 200_000;
        }
        if arrival + repair <= order.restore_by {
            value += 100_000;
        }
        value -= (TRAVEL_WEIGHT * minutes) as i64;
        -value
    }

    /// The part of an order's value that does not depend on the crew.
    fn order_value(&self, order: &Order) -> i64 {
        let mut value: i64 = 1_000_000;
        if order.job == JobKind::WireDown {
            value += 50_000;
        }
        value += 20_000 * i64::from(order.critical_customers_out.min(5));
        value += (CUSTOMER_WEIGHT * (1.0 + order.customers_out as f64).log2()) as i64;
        value
    }

    /// Every waiting order priced against every free crew: [`Self::pair_cost`] with
    /// everything that depends on one side only worked out once (the matrix of a large
    /// storm board has hundreds of thousands of pairs).
    fn price_matrix(&self, waiting: &[&Order], free: &[&Crew], clock: DateTime<Utc>) -> CostMatrix {
        struct Row<'a> {
            order: &'a Order,
            value: i64,
            skill: &'static str,
            /// Latest arrival (seconds after `clock`) for each target.
            arrive_in: i64,
            restore_in: i64,
        }
        let rows: Vec<Row> = waiting
            .iter()
            .map(|o| Row {
                order: o,
                value: self.order_value(o),
                skill: o.job.skill(),
                arrive_in: (o.arrive_by - clock).num_seconds(),
                restore_in: (o.restore_by
                    - Duration::minutes(self.options.repair.minutes(o.job))
                    - clock)
                    .num_seconds(),
            })
            .collect();
        let travel = &self.options.travel;
        CostMatrix::from_fn(rows.len(), free.len(), |r, c| {
            let (row, crew) = (&rows[r], free[c]);
            if !crew.can(row.skill)
                || (!row.order.declined_by.is_empty() && row.order.declined_by.contains(&crew.id))
            {
                return FORBIDDEN;
            }
            let minutes = match crew.position {
                Some((lon, lat)) => travel.minutes(lon, lat, &row.order.place),
                None => UNKNOWN_POSITION_MIN,
            };
            let arrival = (minutes * 60.0) as i64;
            let mut value = row.value;
            if arrival <= row.arrive_in {
                value += 200_000;
            }
            if arrival <= row.restore_in {
                value += 100_000;
            }
            value -= (TRAVEL_WEIGHT * minutes) as i64;
            -value
        })
    }

    /// Solve the assignment again if anything it depends on changed (first lifting the
    /// exclusions of orders no crew is left to take).
    pub fn solve(&mut self, clock: DateTime<Utc>) {
        if !self.needs_solve {
            return;
        }
        self.needs_solve = false;
        if self.waiting.is_empty() {
            return;
        }
        self.lift_exhausted_exclusions();
        let free: Vec<&Crew> = self
            .crews
            .values()
            .filter(|c| c.on_shift && c.responsive && c.order.is_none())
            .collect();
        if free.is_empty() {
            return;
        }
        let waiting: Vec<&Order> = self
            .waiting
            .iter()
            .filter_map(|n| self.orders.get(n))
            .collect();
        let pairs: Vec<(u64, String, String)> = match self.options.policy {
            Policy::Optimal => {
                let matrix = self.price_matrix(&waiting, &free, clock);
                assign::solve(&matrix)
                    .into_iter()
                    .enumerate()
                    .filter_map(|(r, c)| {
                        let c = c?;
                        let o = waiting[r];
                        Some((
                            o.number,
                            free[c].id.clone(),
                            self.why(o, free[c], matrix.get(r, c)),
                        ))
                    })
                    .collect()
            }
            Policy::Greedy => {
                let mut taken = vec![false; free.len()];
                let mut pairs = Vec::new();
                for o in &waiting {
                    let best = free
                        .iter()
                        .enumerate()
                        .filter(|(i, c)| !taken[*i] && self.pair_cost(o, c, clock) < FORBIDDEN)
                        .map(|(i, c)| {
                            let d = c.position.map_or(f64::MAX, |(lon, lat)| {
                                self.options.travel.distance_m(lon, lat, &o.place)
                            });
                            (i, d)
                        })
                        .min_by(|a, b| a.1.total_cmp(&b.1));
                    if let Some((i, _)) = best {
                        taken[i] = true;
                        pairs.push((o.number, free[i].id.clone(), "nearest free crew".into()));
                    }
                }
                pairs
            }
        };
        for (n, crew, why) in pairs {
            self.give(n, &crew, clock, FAULTLINE, why);
        }
    }

    /// A waiting order that every crew on shift able to do it has declined, let time
    /// out or given up on would never be offered again: its exclusions are lifted, all
    /// but the latest crew's (the one that just gave it back), so it goes round again.
    /// Where that crew is the only one able to do it, the order waits for a dispatcher
    /// (or another crew coming on shift), its escalation rising with the clock.
    fn lift_exhausted_exclusions(&mut self) {
        // Only a crew on shift can have exhausted an order's able crews: without one,
        // nothing below changes, and the waiting orders (all of them, in a log without
        // a roster) need no look.
        if !self.crews.values().any(|c| c.on_shift) {
            return;
        }
        for n in &self.waiting {
            let Some(o) = self.orders.get(n) else {
                continue;
            };
            let Some(latest) = o.declined_by.last() else {
                continue;
            };
            let skill = o.job.skill();
            let mut able = self
                .crews
                .values()
                .filter(|c| c.on_shift && c.can(skill))
                .peekable();
            let exhausted = able.peek().is_some() && able.all(|c| o.declined_by.contains(&c.id));
            let another = self
                .crews
                .values()
                .any(|c| c.on_shift && c.can(skill) && &c.id != latest);
            if exhausted && another {
                let latest = latest.clone();
                if let Some(o) = self.orders.get_mut(n) {
                    o.declined_by = vec![latest];
                }
            }
        }
    }

    /// Price every waiting order against every free crew, as [`Self::solve`] does
    /// (for benchmarks and tests: the solve without the solver).
    pub fn price_all(&self, clock: DateTime<Utc>) -> CostMatrix {
        let free: Vec<&Crew> = self.crews.values().filter(|c| c.order.is_none()).collect();
        let waiting: Vec<&Order> = self
            .waiting
            .iter()
            .filter_map(|n| self.orders.get(n))
            .collect();
        self.price_matrix(&waiting, &free, clock)
    }

    fn why(&self, order: &Order, crew: &Crew, cost: i64) -> String {
        let minutes = crew.position.map_or(UNKNOWN_POSITION_MIN, |(lon, lat)| {
            self.options.travel.minutes(lon, lat, &order.place)
        });
        format!(
            "optimal assignment over {} waiting orders: {:.0} min away, {} customers out{} (cost {cost})",
            self.waiting.len(),
            minutes,
            order.customers_out,
            if order.critical_customers_out > 0 {
                format!(", {} critical", order.critical_customers_out)
            } else {
                String::new()
            }
        )
    }
}

/// Price points per minute of travel: with scarce crews, driving is crew time.
const TRAVEL_WEIGHT: f64 = 50.0;
/// Price points per doubling of the customers out.
const CUSTOMER_WEIGHT: f64 = 1000.0;

/// Minutes assumed for a crew whose position is not known.
const UNKNOWN_POSITION_MIN: f64 = 30.0;

fn action_verb(a: CrewActionKind) -> &'static str {
    match a {
        CrewActionKind::Acknowledge => "acknowledge",
        CrewActionKind::Decline => "decline",
        CrewActionKind::EnRoute => "set out for",
        CrewActionKind::OnSite => "be on site at",
        CrewActionKind::Restored => "restore",
        CrewActionKind::CannotRestore => "give up",
    }
}

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
fn given_up_since_on_site(o: &Order) -> Option<&Step> {
    o.life
        .history()
        .iter()
        .rev()
        .take_while(|s| s.state != OrderState::OnSite)
        .find(|s| s.state == OrderState::CannotRestore)
}

impl Dispatch {
    /// What a crew is doing: `off_shift`, `available`, `no_response`, or the state of
    /// its order (`assigned`, `acknowledged`, `en_route`, `on_site`).
    pub fn crew_status(&self, crew: &Crew) -> &'static str {
        if let Some(o) = crew.order.and_then(|n| self.orders.get(&n)) {
            return o.state().as_str();
        }
        if !crew.on_shift {
            "off_shift"
        } else if !crew.responsive {
            "no_response"
        } else {
            "available"
        }
    }

    /// A crew as its `crew.updated` message and `GET /api/v1/crews` show it: where it is,
    /// its status and the order it is on.
    pub fn crew_view(&self, crew: &Crew) -> CrewView {
        let order = crew.order.and_then(|n| self.orders.get(&n));
        CrewView {
            id: crew.id.clone(),
            name: crew.name.clone(),
            skills: crew.skills.clone(),
            lon: crew.position.map(|p| p.0),
            lat: crew.position.map(|p| p.1),
            on_shift: crew.on_shift,
            status: self.crew_status(crew),
            order: order.map(Order::id),
            outage: order.map(|o| crate::ids::outage_name(o.outage)),
            target_lon: order.map(|o| o.lon),
            target_lat: order.map(|o| o.lat),
            eta: order.and_then(|o| o.eta),
        }
    }

    /// [`Dispatch::crew_view`] as JSON text.
    pub fn crew_json(&self, crew: &Crew) -> String {
        self.crew_view(crew).to_json()
    }
}

/// A board for benchmarks: `orders` waiting orders and `crews` free crews scattered
/// over a 40 km square around 116.4°E 39.9°N (an urban area), a tenth of the orders
/// with a critical customer, every fifth crew a meter crew. Returns the board and the
/// time at which to solve it.
#[cfg(any(test, feature = "fixtures"))]
pub fn synthetic_board(orders: usize, crews: usize, seed: u64) -> (Dispatch, DateTime<Utc>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let t0 = DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
    let mut d = Dispatch::new(DispatchOptions::default());
    let spot = |rng: &mut rand_chacha::ChaCha8Rng| {
        (
            116.4 + rng.random_range(-0.23..0.23),
            39.9 + rng.random_range(-0.18..0.18),
        )
    };
    for i in 0..crews {
        let (lon, lat) = spot(&mut rng);
        let skills = if i % 5 == 4 { "meter" } else { "line" };
        d.crew_update(
            &CrewUpdate {
                id: format!("CREW-{}", i + 1),
                name: None,
                skills: vec![skills.into()],
                lon: Some(lon),
                lat: Some(lat),
                on_shift: true,
            },
            t0,
        );
    }
    let devices: Vec<String> = (0..orders).map(|i| format!("DEV-{i}")).collect();
    for (i, device) in devices.iter().enumerate() {
        let (lon, lat) = spot(&mut rng);
        let started = t0 - Duration::minutes(rng.random_range(0..40));
        let job = if i % 10 == 9 {
            JobKind::Meter
        } else {
            JobKind::Device(DeviceKind::Fuse)
        };
        d.outage(
            &OutageFacts {
                number: i as u64 + 1,
                job,
                device,
                active: true,
                restored: false,
                merged_into: None,
                lon,
                lat,
                zone: ZoneKind::Urban,
                customers_out: rng.random_range(1..500),
                critical_customers_out: u32::from(i % 10 == 3),
                started_at: started,
                arrive_by: started + Duration::minutes(45),
                restore_by: started + Duration::hours(12),
            },
            t0,
        );
    }
    d.take_changes();
    d.needs_solve = true;
    (d, t0)
}

#[cfg(test)]
mod tests;
