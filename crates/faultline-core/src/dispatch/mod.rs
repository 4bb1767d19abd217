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
//! # Files
//! `objects` (crews, orders, their JSON), `solve` (the price of each pair and the
//! optimal choice), `assign` (the solver), `escalation` (the four levels), `travel`
//! (travel times), `fixtures` (boards for benchmarks and tests); this file keeps the
//! board and what changes it.
//!
//! Crews are assigned when free; a crew about to finish a job is not yet offered the
//! next one (a known limit: with very scarce crews a look-ahead could do better).

pub mod assign;
mod escalation;
#[cfg(any(test, feature = "fixtures"))]
mod fixtures;
mod objects;
mod solve;
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

pub use escalation::escalation;
#[cfg(any(test, feature = "fixtures"))]
pub use fixtures::synthetic_board;
pub use objects::{Crew, CrewView, JobKind, Order, OutageFacts};
use solve::UNKNOWN_POSITION_MIN;

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
}

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

#[cfg(test)]
mod tests;
