//! The engine: applies one input event to the state and says what changed, as output
//! messages (CONTRACT section 4).
//!
//! `(state, event) → (state', messages)`, on the event's own clock: the engine reads no
//! wall clock, does no I/O and spawns nothing, so `faultline serve`, `faultline replay`
//! and the storm benchmark run the very same code and get the very same stream.
//!
//! # What it owns
//! - the [`Network`] (switching changes it),
//! - the [`Analyzer`] (which sites are believed open, with their evidence),
//! - the outages: one object per believed-open site, with a stable id that survives
//!   moves (a prediction moving up or down the chain keeps its id), merges (the oldest
//!   keeps its id, the others are `cancelled` with `merged_into`) and splits (the child
//!   with most evidence keeps it), and that ends `restored` when power is back;
//! - single-customer meter outages and `wire_down` safety outages, which are not
//!   inferred: a report makes them;
//! - [`Dispatch`]: crews, a work order per active outage, the assignment of crews to
//!   orders, ETAs and escalation; an outage object carries its order, crew, `eta` and
//!   `etr`;
//! - planned outages and their notices ([`planned`]): while one is active, the evidence
//!   of its customers is counted on it instead of being analysed;
//! - callbacks ([`callbacks`]): listed when an outage is restored, one per customer who
//!   reported it; a "still out" answer reopens analysis for that customer, and the new
//!   (or already covering) outage is linked to the restored one (`follows`,
//!   `follow_ups`), never a second outage over the same customer.
//!
//! # Invariants
//! - Output `seq` rises by one per message, from 1, with no gaps.
//! - A message's `at` is the engine's clock: the largest event time seen so far.
//! - Every message carries the whole object as it now stands.

mod callbacks;
mod message;
mod outage;
mod planned;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::dispatch::{Dispatch, DispatchOptions, JobKind, OutageFacts};
use crate::events::{
    CallbackOutcome, Event, EventKind, PowerState, Problem, ReportPlace, SwitchState,
};
use crate::inference::{Analyzer, BeliefDelta, Observation, Physics, Removal, Site};
use crate::network::{CustomerIdx, CustomerMap, FastMap, Network};

pub use callbacks::{CallbackBook, CallbackItem};
pub use message::{About, CallbacksClosed, Message, Output, SetAside, Topic};
pub use outage::{outage_name, parse_outage_name, Outage, OutageKind, OutageStatus};
pub use planned::{Notice, NoticeStatus, PlannedBook, PLANNED_NOTICE_DAYS, URGENT_NOTICE_HOURS};

/// Report ids an outage lists (the count is complete; the list is a sample).
const REPORT_IDS_SHOWN: usize = 20;

/// Service targets by zone (CONTRACT section 5), in minutes.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Targets {
    /// Crew on site after the outage is first known: urban, suburban, rural.
    pub on_site_min: [i64; 3],
    /// Power restored (faults on 10 kV and below): urban, suburban, rural.
    pub restore_min: [i64; 3],
    /// A failed meter replaced.
    pub meter_min: i64,
    /// How long callbacks stay listed after the restoration (回访 is due within a day
    /// or two; then they close, answered or not: `callbacks.closed`).
    pub callback_days: i64,
}

impl Default for Targets {
    fn default() -> Self {
        Self {
            on_site_min: [45, 45, 90],
            restore_min: [12 * 60, 12 * 60, 24 * 60],
            meter_min: 8 * 60,
            callback_days: 7,
        }
    }
}

/// How the engine is set up.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Use the classic roll-up rule instead of faultline's inference.
    pub baseline: bool,
    /// The call-in physics faultline's inference assumes.
    pub physics: Physics,
    /// Service targets.
    pub targets: Targets,
    /// Crews, orders and assignment.
    pub dispatch: DispatchOptions,
}

/// The engine: see the module docs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Engine {
    /// Not in a snapshot: [`Engine::restore`] puts the loaded network back and replays
    /// `switched` on it.
    #[serde(skip)]
    network: Network,
    analyzer: Analyzer,
    /// From the options, not the snapshot.
    #[serde(skip)]
    targets: Targets,
    clock: Option<DateTime<Utc>>,
    next_seq: u64,
    next_outage: u64,
    outages: BTreeMap<u64, Outage>,
    #[serde(with = "crate::network::as_pairs")]
    at_site: FastMap<Site, u64>,
    meter_outage_at: FastMap<CustomerIdx, u64>,
    /// Every report id applied in the callback window, with when (Unix seconds): a
    /// report sent twice counts once. The log refuses a repeated id at any distance; a
    /// file replayed with one repeated after the window counts it again.
    reports_seen: FastMap<String, i64>,
    /// Report ids (and times) per service point, for evidence lists and callbacks.
    report_ids_at: CustomerMap<PointReports>,
    /// The latest time among each service point's reports in `report_ids_at`, by
    /// customer index: most customers below a restored outage last reported well before
    /// it, and this says so without reading their reports. Derived from
    /// `report_ids_at`, so not in a snapshot ([`Engine::restore`] works it out again).
    #[serde(skip)]
    latest_report_at: Vec<Option<DateTime<Utc>>>,
    /// Who reported a meter or wire-down outage (those are not inferred from a site).
    direct_reporters: FastMap<u64, Vec<(CustomerIdx, String)>>,
    /// The network in its normal state, kept from the first switching on (planned
    /// outages promise customers what the normal state darkens).
    #[serde(skip)]
    normal: Option<Arc<Network>>,
    planned: PlannedBook,
    callbacks: CallbackBook,
    dispatch: Dispatch,
    /// A dispatcher moved an outage to a device: the next time that site opens, it is
    /// this outage.
    #[serde(with = "crate::network::as_pairs")]
    pending_moves: FastMap<Site, u64>,
    /// The report being applied (its point and id), to list it on the outage it joins.
    last_report: Option<(CustomerIdx, String)>,
    /// Outages whose evidence grew (more calls, more gasps) but that did not move or
    /// change status: the object is current at once, its `outage.updated` goes out once
    /// per minute of event time, so a storm of calls into one outage is not a storm of
    /// messages.
    dirty: std::collections::BTreeSet<u64>,
    flushed_minute: i64,
    rejected: u64,
    /// Switching applied to the network (edge id, closed), in order: a restored engine
    /// replays it on the freshly loaded network.
    switched: Vec<(String, bool)>,
    /// What a snapshot must have been taken under to be restored into this engine.
    #[serde(skip)]
    fingerprint: String,
    /// The settings it was made with (for [`Engine::fresh`]); not in a snapshot, which
    /// is restored only under the same ones.
    #[serde(skip)]
    options: EngineOptions,
}

/// Why a snapshot was not restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Taken with another network, other settings or another version of faultline.
    #[error(
        "the snapshot was taken with another network, other settings or another faultline version"
    )]
    Mismatch,
    /// The text is not a snapshot of this version.
    #[error("the snapshot cannot be read: {0}")]
    Unreadable(#[from] serde_json::Error),
}

/// Bump when the engine's state changes shape: older snapshots are then ignored.
const SNAPSHOT_FORMAT: u32 = 3;

impl Engine {
    /// An engine over `network` with no history.
    pub fn new(network: Network, options: EngineOptions) -> Self {
        let fingerprint = format!(
            "format {SNAPSHOT_FORMAT}, faultline {}, network {:016x}, {options:?}",
            env!("CARGO_PKG_VERSION"),
            network.fingerprint()
        );
        let analyzer = if options.baseline {
            Analyzer::baseline(&network)
        } else {
            Analyzer::scored(&network, options.physics)
        };
        Self {
            network,
            analyzer,
            targets: options.targets,
            clock: None,
            next_seq: 1,
            next_outage: 1,
            outages: BTreeMap::new(),
            at_site: FastMap::default(),
            meter_outage_at: FastMap::default(),
            reports_seen: FastMap::default(),
            report_ids_at: CustomerMap::default(),
            latest_report_at: Vec::new(),
            direct_reporters: FastMap::default(),
            normal: None,
            planned: PlannedBook::default(),
            callbacks: CallbackBook::default(),
            dispatch: Dispatch::new(options.dispatch),
            pending_moves: FastMap::default(),
            last_report: None,
            dirty: std::collections::BTreeSet::new(),
            flushed_minute: i64::MIN,
            rejected: 0,
            switched: Vec::new(),
            fingerprint,
            options,
        }
    }

    /// The engine's whole state except the network, as JSON text: restoring it with
    /// [`Engine::restore`] and applying the rest of the log gives exactly what applying
    /// the whole log gives.
    pub fn snapshot(&self) -> String {
        serde_json::to_string(self).expect("the engine's state is plain data")
    }

    /// The bytes of each part of [`Engine::snapshot`], largest first (for the replay
    /// benchmark: where a snapshot's size goes).
    pub fn snapshot_parts(&self) -> Vec<(&'static str, usize)> {
        fn len<T: serde::Serialize>(part: &T) -> usize {
            serde_json::to_string(part).map_or(0, |t| t.len())
        }
        let mut parts = vec![
            ("callbacks", len(&self.callbacks)),
            ("outages", len(&self.outages)),
            ("dispatch", len(&self.dispatch)),
            ("report ids per service point", len(&self.report_ids_at)),
            ("report ids seen", len(&self.reports_seen)),
            ("analyzer", len(&self.analyzer)),
            ("notices", len(&self.planned)),
        ];
        parts.sort_by_key(|p| std::cmp::Reverse(p.1));
        parts
    }

    /// Which network, settings and faultline version this engine runs with; a snapshot
    /// is restored only into an engine with the same fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Put this fresh engine (nothing applied yet) in the state `snapshot` recorded, if
    /// the snapshot was taken under `fingerprint` equal to this engine's: its network
    /// (with the snapshot's switching replayed on it) and settings stay. On an error
    /// the engine is left as it was.
    pub fn restore(&mut self, fingerprint: &str, snapshot: &str) -> Result<(), SnapshotError> {
        if self.fingerprint != fingerprint {
            return Err(SnapshotError::Mismatch);
        }
        debug_assert!(
            self.next_seq == 1 && self.switched.is_empty(),
            "restore into a fresh engine"
        );
        let mut restored: Engine = serde_json::from_str(snapshot)?;
        restored.network = std::mem::take(&mut self.network);
        if !restored.switched.is_empty() {
            restored.normal = Some(Arc::new(restored.network.clone()));
        }
        for (edge, closed) in &restored.switched {
            // It applied when it was recorded, on the same network.
            let _ = restored.network.set_closed(edge, *closed);
        }
        restored.callbacks.name_from(&restored.network);
        for (c, reports) in restored.report_ids_at.iter() {
            if let Some(at) = reports.latest() {
                note_report_time(&mut restored.latest_report_at, *c, at);
            }
        }
        restored.targets = self.targets;
        restored.dispatch.set_options(*self.dispatch.options());
        restored.fingerprint = std::mem::take(&mut self.fingerprint);
        restored.options = std::mem::take(&mut self.options);
        *self = restored;
        Ok(())
    }

    /// The network as the engine sees it now (with switching applied).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The engine's clock: the latest event time applied.
    pub fn clock(&self) -> Option<DateTime<Utc>> {
        self.clock
    }

    /// The network in its normal state (as loaded, before any switching).
    pub fn normal_network(&self) -> &Network {
        self.normal.as_deref().unwrap_or(&self.network)
    }

    /// Planned outages and their notices.
    pub fn planned(&self) -> &PlannedBook {
        &self.planned
    }

    /// Callbacks to customers who reported restored outages.
    pub fn callbacks(&self) -> &CallbackBook {
        &self.callbacks
    }

    /// Every outage, active or not, by number.
    pub fn outages(&self) -> impl Iterator<Item = &Outage> {
        self.outages.values()
    }

    /// Crews and work orders.
    pub fn dispatch(&self) -> &Dispatch {
        &self.dispatch
    }

    /// Every crew as JSON text, by id.
    pub fn crews_json(&self) -> Vec<String> {
        self.dispatch
            .crews()
            .map(|c| self.dispatch.crew_json(c))
            .collect()
    }

    /// The active outage a customer is in, if faultline knows of one: a device above it
    /// believed open (the lowest one), its own service point, or its failed meter.
    pub fn outage_of_customer(&self, c: CustomerIdx) -> Option<&Outage> {
        let own = self
            .at_site
            .get(&Site::Point(c))
            .or_else(|| self.meter_outage_at.get(&c));
        let above = || {
            self.network
                .chain_of_customer(c)
                .find_map(|d| self.at_site.get(&Site::Device(d)))
        };
        own.into_iter()
            .chain(above())
            .filter_map(|n| self.outages.get(n))
            .find(|o| o.is_active())
    }

    /// Could this event be applied now? Crew actions, dispatchers' assignments and
    /// outage confirmations are checked against the current state (an unknown order, a
    /// crew acting on another crew's order, an illegal state change …); other events
    /// always can. The API refuses an event this rejects, so nothing half-valid is
    /// stored; the engine checks again when it applies it.
    pub fn check(&self, event: &Event) -> Result<(), String> {
        match &event.kind {
            EventKind::CrewAction(a) => self
                .dispatch
                .check_action(
                    &a.crew,
                    &a.order,
                    a.action,
                    // The clock the engine would apply it at (timers due by then fire first).
                    self.clock.map_or(event.at, |c| c.max(event.at)),
                )
                .map(|_| ())
                .map_err(|e| e.0),
            EventKind::CrewPosition(p) => self.dispatch.check_position(&p.crew).map_err(|e| e.0),
            EventKind::Dispatch(d) => self
                .dispatch
                .check_dispatch(&d.order, &d.crew)
                .map_err(|e| e.0),
            EventKind::PlannedOutage(p) => self.planned.check(p).map_err(|e| e.0),
            EventKind::PlannedOutageCancel(p) => self.planned.check_cancel(&p.id).map_err(|e| e.0),
            EventKind::Callback(cb) => self.callbacks.check(
                outage::parse_outage_name(&cb.outage),
                self.network.customer_idx(&cb.customer),
                &cb.outage,
                &cb.customer,
                cb.outcome,
            ),
            EventKind::OutageConfirm(c) => {
                let known = outage::parse_outage_name(&c.outage)
                    .and_then(|n| self.outages.get(&n))
                    .is_some_and(Outage::is_active);
                if !known {
                    return Err(format!(
                        "outage {:?} does not exist or is no longer active",
                        c.outage
                    ));
                }
                if self.network.device_by_id(&c.device).is_none() {
                    return Err(format!(
                        "device {:?} is not a protective device of the network",
                        c.device
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The analyzer's view of a device and the chain above it (faultline's analyzer
    /// only; empty for the baseline): for tracing inference.
    pub fn describe_chain(&self, d: crate::network::DeviceIdx) -> Vec<String> {
        match &self.analyzer {
            Analyzer::Scored(s) => s.describe_chain(&self.network, d),
            Analyzer::Baseline(_) => Vec::new(),
        }
    }

    /// One outage by number.
    pub fn outage(&self, number: u64) -> Option<&Outage> {
        self.outages.get(&number)
    }

    /// Outages not yet restored or cancelled.
    pub fn active_outages(&self) -> impl Iterator<Item = &Outage> {
        self.outages.values().filter(|o| o.is_active())
    }

    /// The seq the next output message will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Events that named something the network does not have (skipped).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Apply one event; return the messages it produced, in order. An event whose
    /// time the engine cannot take ([`Event::check_time`]) is set aside instead (one
    /// `event.set_aside` message; the clock stays where it was).
    pub fn apply(&mut self, event: &Event) -> Vec<Output> {
        let customer = self.customer_of(event);
        self.apply_resolved(event, customer)
    }

    /// [`Engine::apply_resolved`] for the event stored at `seq` in a log (or read from
    /// a file, where `seq` is what the file says, if anything): the `event.set_aside`
    /// message it may give names that seq.
    pub fn apply_from_log(
        &mut self,
        seq: Option<i64>,
        event: &Event,
        customer: Option<CustomerIdx>,
    ) -> Vec<Output> {
        if let Err(e) = event.check_time() {
            return vec![self.set_aside(seq, Some(event), &e.to_string())];
        }
        #[cfg(any(test, feature = "test-hooks"))]
        poison::check(event);
        self.apply_resolved_checked(event, customer)
    }

    /// Say that the event stored at `seq` was set aside, not applied, and why: an
    /// `event.set_aside` message `{"seq","type","at","reason"}` (`type` and `at` are
    /// null when the stored text could not even be read). Nothing else changes; the
    /// clock stays where it was.
    ///
    /// The engine sets an event aside itself when it cannot take its time; `serve`
    /// and `replay` also set aside an event whose stored text they cannot read, and one
    /// whose application panicked: they then rebuild the engine without it (see
    /// [`Engine::fresh`]) before saying so here, so the state is what the log without
    /// that event gives, on every instance and in every replay alike.
    pub fn set_aside(&mut self, seq: Option<i64>, event: Option<&Event>, reason: &str) -> Output {
        let message = Message::EventSetAside(SetAside {
            seq,
            kind: event.map(Event::type_name),
            at: event.map(|e| e.at),
            reason: reason.to_owned(),
        });
        let at = self.clock.unwrap_or(crate::events::EARLIEST_AT);
        let mut out = Vec::with_capacity(1);
        self.emit(&mut out, at, message);
        out.pop().expect("emit pushed one message")
    }

    /// An engine like this one before any event: the same network in its normal state
    /// and the same settings. `serve` and `replay` rebuild from it when applying an
    /// event panicked (the state may then be half changed).
    pub fn fresh(&self) -> Engine {
        let network = match &self.normal {
            Some(normal) => Network::clone(normal),
            None => self.network.clone(),
        };
        Engine::new(network, self.options.clone())
    }

    /// The service point an event names by id (a report naming a customer, a meter's
    /// message, a callback), if the network has it.
    pub fn customer_of(&self, event: &Event) -> Option<CustomerIdx> {
        let id = match &event.kind {
            EventKind::Report(r) => match &r.place {
                ReportPlace::Customer { customer } => customer,
                ReportPlace::Location { .. } => return None,
            },
            EventKind::Ami(m) => &m.customer,
            EventKind::Callback(cb) => &cb.customer,
            _ => return None,
        };
        self.network.customer_idx(id)
    }

    /// [`Engine::apply`], with the event's service point already looked up
    /// ([`Engine::customer_of`]). A replay looks a whole log's up in one pass before
    /// applying it: the id table then stays in cache, where a lookup per event, between
    /// the analyzer's work, finds it evicted each time.
    pub fn apply_resolved(&mut self, event: &Event, customer: Option<CustomerIdx>) -> Vec<Output> {
        self.apply_from_log(None, event, customer)
    }

    /// [`Engine::apply_resolved`] once the event's time is known to be one the engine
    /// takes.
    fn apply_resolved_checked(
        &mut self,
        event: &Event,
        customer: Option<CustomerIdx>,
    ) -> Vec<Output> {
        debug_assert_eq!(
            customer,
            self.customer_of(event),
            "looked up in this network"
        );
        let mut out = self.apply_inner(event, customer);
        let at = self.clock.unwrap_or(event.at);
        // The crew on each restored outage, before dispatch lets its order go.
        let restored: Vec<(u64, Option<String>)> = out
            .iter()
            .filter(|m| matches!(m.message, Message::OutageRestored(_)))
            .filter_map(Output::outage)
            .map(|n| (n, self.outages.get(&n).and_then(|o| o.crew.clone())))
            .collect();
        self.dispatch_step(at, &mut out);
        for (n, crew) in restored {
            self.list_callbacks(n, crew, at, &mut out);
        }
        out
    }

    /// `customer`: the event's service point ([`Engine::customer_of`]).
    fn apply_inner(&mut self, event: &Event, customer: Option<CustomerIdx>) -> Vec<Output> {
        let at = self.clock.map_or(event.at, |c| c.max(event.at));
        self.clock = Some(at);
        let mut out = Vec::new();
        self.dispatch.fire_timers(at);
        self.fire_planned(at, &mut out);
        let minute = at.timestamp().div_euclid(60);
        if minute != self.flushed_minute {
            let day_passed = minute.div_euclid(24 * 60) != self.flushed_minute.div_euclid(24 * 60);
            self.flushed_minute = minute;
            self.flush_into(at, &mut out);
            self.close_callbacks(at, &mut out);
            if day_passed {
                self.forget_old_reports(at);
            }
        }
        match &event.kind {
            EventKind::Report(r) => {
                if self
                    .reports_seen
                    .insert(r.id.clone(), at.timestamp())
                    .is_some()
                {
                    return out;
                }
                let customer = match &r.place {
                    ReportPlace::Customer { .. } => customer,
                    ReportPlace::Location { lon, lat } => {
                        self.network.nearest_customer(*lon, *lat).map(|(c, _)| c)
                    }
                };
                let Some(c) = customer else {
                    self.rejected += 1;
                    return out;
                };
                match r.problem {
                    Problem::NoPower | Problem::PartialPower
                        if self.planned.explaining(c).is_some() =>
                    {
                        // Dark by plan: evidence of the planned work, not a new outage.
                        if let Some(id) = self.planned.explaining(c).map(str::to_owned) {
                            self.planned.note_report(&id, &r.id);
                        }
                        self.observe(at, event.at, Observation::Tick, &mut out);
                    }
                    Problem::NoPower | Problem::PartialPower => {
                        self.report_ids_at
                            .get_or_insert_with(c, PointReports::default)
                            .insert(r.id.clone(), event.at);
                        note_report_time(&mut self.latest_report_at, c, event.at);
                        self.last_report = Some((c, r.id.clone()));
                        self.observe(at, event.at, Observation::Dark(c), &mut out);
                        self.last_report = None;
                    }
                    Problem::Meter => self.meter_outage(c, &r.id, event.at, at, &mut out),
                    Problem::WireDown => {
                        let (lon, lat) = match r.place {
                            ReportPlace::Location { lon, lat } => (lon, lat),
                            ReportPlace::Customer { .. } => {
                                let sp = self.network.customer(c);
                                (sp.lon, sp.lat)
                            }
                        };
                        self.wire_down(c, &r.id, lon, lat, event.at, at, &mut out);
                    }
                    Problem::Flicker | Problem::Other => {
                        self.observe(at, event.at, Observation::Tick, &mut out)
                    }
                }
            }
            EventKind::Ami(m) => {
                let Some(c) = customer else {
                    self.rejected += 1;
                    return out;
                };
                let obs = match m.state {
                    PowerState::Off => {
                        if let Some(id) = self.planned.explaining(c).map(str::to_owned) {
                            self.planned.note_gasp(&id, c);
                            self.observe(at, event.at, Observation::Tick, &mut out);
                            return out;
                        }
                        Observation::AmiOff(c)
                    }
                    PowerState::On => {
                        self.planned.note_power_back(c);
                        Observation::AmiOn(c)
                    }
                };
                self.observe(at, event.at, obs, &mut out);
            }
            EventKind::Scada(s) => {
                // A protective device opened for planned work is not a fault (a switch
                // opened for it is switching, applied below as any other).
                let planned = self
                    .planned
                    .active_on_device(&s.device)
                    .filter(|_| self.network.device_by_id(&s.device).is_some())
                    .map(str::to_owned);
                if let Some(id) = planned {
                    let open = s.state == SwitchState::Open;
                    self.planned.note_scada(&id, open);
                    if open {
                        // Opened for the planned work: not a fault.
                        self.observe(at, event.at, Observation::Tick, &mut out);
                        return out;
                    }
                }
                if let Some(d) = self.network.device_by_id(&s.device).map(|d| d.idx()) {
                    let obs = match s.state {
                        SwitchState::Open => Observation::ScadaOpen(d),
                        SwitchState::Closed => Observation::ScadaClosed(d),
                    };
                    self.observe(at, event.at, obs, &mut out);
                } else if self.network.has_edge(&s.device) {
                    // Switching on a non-protective edge changes the network itself.
                    if self.normal.is_none() {
                        self.normal = Some(Arc::new(self.network.clone()));
                    }
                    let closed = s.state == SwitchState::Closed;
                    if self.network.set_closed(&s.device, closed).is_ok() {
                        self.switched.push((s.device.clone(), closed));
                        self.analyzer_rebuild();
                    }
                    self.observe(at, event.at, Observation::Tick, &mut out);
                } else {
                    self.rejected += 1;
                }
            }
            EventKind::OutageConfirm(c) => self.confirm(&c.outage, &c.device, at, &mut out),
            EventKind::Crew(crew) => self.dispatch.crew_update(crew, at),
            EventKind::CrewPosition(p) => {
                if self
                    .dispatch
                    .crew_position(&p.crew, p.lon, p.lat, at)
                    .is_err()
                {
                    self.rejected += 1;
                }
            }
            EventKind::CrewAction(a) => {
                match self
                    .dispatch
                    .crew_action(&a.crew, &a.order, a.action, a.note.as_deref(), at)
                {
                    Ok(Some(outage)) => self.restored_by_crew(outage, at, &mut out),
                    Ok(None) => {}
                    Err(_) => self.rejected += 1,
                }
            }
            EventKind::Dispatch(d) => {
                if self.dispatch.dispatch(&d.order, &d.crew, at).is_err() {
                    self.rejected += 1;
                }
            }
            EventKind::PlannedOutage(p) => {
                let normal: &Network = self.normal.as_deref().unwrap_or(&self.network);
                match self.planned.schedule(p, normal, at) {
                    Ok(n) => {
                        let notice = Box::new(n.clone());
                        let message = if n.revision == 1 {
                            Message::NoticeCreated(notice)
                        } else {
                            Message::NoticeUpdated(notice)
                        };
                        self.emit(&mut out, at, message);
                        // A window that has already begun (urgent work) starts now.
                        self.fire_planned(at, &mut out);
                    }
                    Err(_) => self.rejected += 1,
                }
                self.observe(at, event.at, Observation::Tick, &mut out);
            }
            EventKind::PlannedOutageCancel(p) => {
                if let Some((n, dark)) = self.planned.cancel(&p.id, p.reason.as_deref(), at) {
                    let message = Message::NoticeCancelled(Box::new(n.clone()));
                    self.emit(&mut out, at, message);
                    for c in dark {
                        self.observe(at, at, Observation::AmiOff(c), &mut out);
                    }
                } else if self.planned.get(&p.id).is_none() {
                    self.rejected += 1;
                }
                self.observe(at, event.at, Observation::Tick, &mut out);
            }
            EventKind::Callback(cb) => {
                self.record_callback(cb, customer, at, &mut out);
                self.observe(at, event.at, Observation::Tick, &mut out);
            }
            EventKind::Tick => self.observe(at, event.at, Observation::Tick, &mut out),
        }
        out
    }

    /// Pass the planned outages' starts and ends due by `clock`, in order. At an end,
    /// meters still dark from the window (and SCADA still showing the device open) are
    /// handed to trouble-call analysis: customers dark after the work are an outage.
    fn fire_planned(&mut self, clock: DateTime<Utc>, out: &mut Vec<Output>) {
        while let Some(fired) = self.planned.fire_next(clock) {
            let Some(n) = self.planned.get(&fired.id) else {
                continue;
            };
            let message = Message::NoticeUpdated(Box::new(n.clone()));
            let device = n.device.clone();
            self.emit(out, clock, message);
            for c in fired.dark_meters {
                self.observe(clock, clock, Observation::AmiOff(c), out);
            }
            if fired.scada_open {
                if let Some(d) = self.network.device_by_id(&device).map(|d| d.idx()) {
                    self.observe(clock, clock, Observation::ScadaOpen(d), out);
                }
            }
        }
    }

    /// List a callback for every customer who reported outage `n`, now restored (once).
    fn list_callbacks(
        &mut self,
        n: u64,
        crew: Option<String>,
        clock: DateTime<Utc>,
        out: &mut Vec<Output>,
    ) {
        if self.callbacks.listed_for(n) {
            return;
        }
        let Some(o) = self.outages.get(&n) else {
            return;
        };
        let until = o.restored_at.unwrap_or(clock);
        // By service point, each with the reports it made about this outage.
        let mut reporters: Vec<(CustomerIdx, Vec<String>)> = Vec::new();
        match (o.kind, o.site) {
            (OutageKind::Device | OutageKind::Service, Some(site)) => {
                let points = match site {
                    Site::Point(c) => vec![c],
                    Site::Device(d) => self.network.customers_below(d),
                };
                for c in points {
                    // Most customers below reported nothing in this outage's time: their
                    // latest report, before the outage began, passes them over before
                    // their reports are read.
                    let Some(latest) = self.latest_report_at.get(c.index()).copied().flatten()
                    else {
                        continue;
                    };
                    if latest < o.started_at {
                        continue;
                    }
                    let Some(reports) = self.report_ids_at.get(&c) else {
                        continue;
                    };
                    let made = reports.between(o.started_at, until);
                    if made.is_empty() {
                        continue;
                    }
                    // A customer inside another outage still active reported that one.
                    if self
                        .outage_of_customer(c)
                        .is_some_and(|other| other.number != n)
                    {
                        continue;
                    }
                    reporters.push((c, made.iter().map(|(id, _)| id.clone()).collect()));
                }
                // The subtree's walk gives each service point once, in no useful order.
                reporters.sort_unstable_by_key(|(c, _)| *c);
            }
            _ => {
                // A customer may have reported a failed meter more than once: one
                // callback, with each report, in the order they came. Who reported is
                // kept only for this (an outage's callbacks are listed once).
                let mut by_point: BTreeMap<CustomerIdx, Vec<String>> = BTreeMap::new();
                for (c, id) in self.direct_reporters.remove(&n).into_iter().flatten() {
                    by_point.entry(c).or_default().push(id);
                }
                reporters.extend(by_point);
            }
        }
        let crew = crew.or_else(|| o.crew.clone());
        let mut items = Vec::with_capacity(reporters.len());
        out.reserve(reporters.len());
        let closes_at = clock + self.callback_window();
        for (c, report_ids) in reporters {
            let sp = self.network.customer(c);
            let mut item = CallbackItem::listed(
                n,
                c,
                sp.id.clone(),
                sp.account.clone(),
                report_ids,
                crew.clone(),
                clock,
            );
            item.closes_at = Some(closes_at);
            self.emit(out, clock, Message::CallbackListed(Box::new(item.clone())));
            items.push(item);
        }
        self.callbacks.list(n, items);
    }

    /// Close the callbacks whose time has come ([`Engine::callback_window`] after they
    /// were listed): one `callbacks.closed` message per outage, with how many were
    /// answered.
    fn close_callbacks(&mut self, clock: DateTime<Utc>, out: &mut Vec<Output>) {
        for (n, items) in self.callbacks.close_due(clock) {
            let unanswered = items.iter().filter(|item| item.is_pending()).count();
            let closed = CallbacksClosed {
                outage: outage::outage_name(n),
                listed_at: items[0].listed_at,
                closed_at: clock,
                callbacks: items.len(),
                answered: items.len() - unanswered,
                unanswered,
            };
            self.emit(out, clock, Message::CallbacksClosed(closed));
        }
    }

    /// Forget what is kept of reports made before the callback window
    /// ([`Targets::callback_days`]): every id kept to count a report sent twice once,
    /// and each service point's report ids, unless the point is in an active outage that
    /// began before the window (its callbacks will list them). Once a day of event time
    /// (a look at every service point that reported): over a year, a busy network's
    /// customers report again and again, and the engine kept every report's id. And the
    /// callbacks closed before the window are forgotten.
    fn forget_old_reports(&mut self, clock: DateTime<Utc>) {
        let horizon = clock - self.callback_window();
        self.callbacks.forget_closed_before(horizon);
        self.reports_seen
            .retain(|_, seen| *seen >= horizon.timestamp());
        let mut report_ids_at = std::mem::take(&mut self.report_ids_at);
        report_ids_at.retain(|c, reports| {
            if reports.0.first().is_none_or(|(_, made)| *made >= horizon) {
                return true;
            }
            let keep_from = self
                .outage_of_customer(c)
                .map_or(horizon, |o| o.started_at.min(horizon));
            reports.forget_before(keep_from);
            let kept = !reports.0.is_empty();
            if !kept {
                if let Some(l) = self.latest_report_at.get_mut(c.index()) {
                    *l = None;
                }
            }
            kept
        });
        self.report_ids_at = report_ids_at;
    }

    /// Record a callback's outcome (`c`: its service point); "still out" reopens analysis
    /// for the customer.
    fn record_callback(
        &mut self,
        cb: &crate::events::Callback,
        c: Option<CustomerIdx>,
        clock: DateTime<Utc>,
        out: &mut Vec<Output>,
    ) {
        let n = outage::parse_outage_name(&cb.outage);
        if self
            .callbacks
            .check(n, c, &cb.outage, &cb.customer, cb.outcome)
            .is_err()
        {
            self.rejected += 1;
            return;
        }
        let (Some(n), Some(c)) = (n, c) else {
            return;
        };
        let settled = self
            .callbacks
            .get(n, c)
            .is_some_and(|item| !item.is_pending());
        if settled {
            // The same answer again: nothing changes.
            return;
        }
        let follow_up = if cb.outcome == CallbackOutcome::StillOut {
            self.reopen_for(c, n, clock, out)
        } else {
            None
        };
        if let Some(item) = self.callbacks.get_mut(n, c) {
            item.attempts += 1;
            item.outcome = Some(cb.outcome);
            item.outcome_at = Some(clock);
            item.agent = cb.agent.clone();
            item.note = cb.note.clone();
            item.follow_up = follow_up;
            let message = Message::CallbackUpdated(Box::new(item.clone()));
            self.emit(out, clock, message);
        }
    }

    /// A customer of restored outage `first` is still out: the active outage that covers
    /// them (an existing one, or a new one from analysing the answer as fresh evidence),
    /// linked to `first`.
    fn reopen_for(
        &mut self,
        c: CustomerIdx,
        first: u64,
        clock: DateTime<Utc>,
        out: &mut Vec<Output>,
    ) -> Option<u64> {
        let existing = self.outage_of_customer(c).map(|o| o.number);
        let found = match existing {
            Some(m) => m,
            None => {
                self.observe(clock, clock, Observation::StillOut(c), out);
                self.outage_of_customer(c).map(|o| o.number)?
            }
        };
        if found == first {
            return Some(found);
        }
        if let Some(o) = self.outages.get_mut(&first) {
            if !o.follow_ups.contains(&found) {
                o.follow_ups.push(found);
            }
        }
        if let Some(o) = self.outages.get_mut(&found) {
            if o.follows.is_none() {
                o.follows = Some(first);
            }
        }
        for id in [first, found] {
            let Some(o) = self.outages.get(&id) else {
                continue;
            };
            if let Some(m) = out.iter_mut().rev().find(|m| m.outage() == Some(id)) {
                m.message = m.message.with_outage(o);
            } else if o.announced {
                let message = Message::OutageUpdated(Box::new(o.clone()));
                self.emit(out, clock, message);
            }
        }
        Some(found)
    }

    /// Send the pending `outage.updated` messages now (the end of a replay).
    pub fn flush(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if let Some(at) = self.clock {
            self.flush_into(at, &mut out);
            self.dispatch_step(at, &mut out);
        }
        out
    }

    /// Bring dispatch up to date with the outages this event changed, solve the
    /// assignment again if needed, and say what changed: outage objects gain their
    /// order, crew, ETA and ETR (in the message this event already carries for the
    /// outage, or in a new `outage.updated`); orders and crews get their messages.
    fn dispatch_step(&mut self, clock: DateTime<Utc>, out: &mut Vec<Output>) {
        let mut seen: Vec<u64> = Vec::new();
        for m in out.iter() {
            if let Some(n) = m.outage() {
                if !seen.contains(&n) {
                    seen.push(n);
                }
            }
        }
        for n in seen {
            if let Some(o) = self.outages.get(&n) {
                self.dispatch.outage(&facts_of(o), clock);
            }
        }
        self.dispatch.solve(clock);
        let changes = self.dispatch.take_changes();
        for n in changes.outages {
            let view = self
                .dispatch
                .order_of_outage(n)
                .map(|o| (Some(o.id()), o.crew().map(str::to_owned), o.eta, o.etr))
                .unwrap_or_default();
            let Some(o) = self.outages.get_mut(&n) else {
                continue;
            };
            if (o.order.clone(), o.crew.clone(), o.eta, o.etr) == view {
                continue;
            }
            (o.order, o.crew, o.eta, o.etr) = view;
            if let Some(m) = out.iter_mut().rev().find(|m| m.outage() == Some(n)) {
                m.message = m.message.with_outage(o);
            } else if o.announced {
                let message = Message::OutageUpdated(Box::new(o.clone()));
                self.emit(out, clock, message);
            }
        }
        for (n, new) in changes.orders {
            let Some(o) = self.dispatch.order(n) else {
                continue;
            };
            let order = Box::new(o.clone());
            let message = if new {
                Message::OrderCreated(order)
            } else {
                Message::OrderUpdated(order)
            };
            self.emit(out, clock, message);
        }
        for id in changes.crews {
            if let Some(c) = self.dispatch.crew(&id) {
                let message = Message::CrewUpdated(Box::new(self.dispatch.crew_view(c)));
                self.emit(out, clock, message);
            }
        }
    }

    /// A crew says outage `n` is restored.
    fn restored_by_crew(&mut self, n: u64, clock: DateTime<Utc>, out: &mut Vec<Output>) {
        let Some(o) = self.outages.get_mut(&n).filter(|o| o.is_active()) else {
            return;
        };
        match (o.kind, o.site) {
            (OutageKind::Device | OutageKind::Service, Some(site)) => {
                self.observe(clock, clock, Observation::Restored(site), out);
                // The crew's word ends this outage even where the analyzer had moved it
                // meanwhile; customers still dark show up again as a new outage.
                if let Some(o) = self.outages.get_mut(&n).filter(|o| o.is_active()) {
                    o.status = OutageStatus::Restored;
                    o.restored_at = Some(clock);
                    o.ended_at = Some(clock);
                    if let Some(site) = o.site {
                        if self.at_site.get(&site) == Some(&n) {
                            self.at_site.remove(&site);
                        }
                    }
                    self.emit_outage(n, clock, out);
                }
            }
            _ => {
                // A meter or a wire down: nothing to infer, the crew's word closes it.
                o.status = OutageStatus::Restored;
                o.restored_at = Some(clock);
                o.ended_at = Some(clock);
                self.emit_outage(n, clock, out);
            }
        }
    }

    fn flush_into(&mut self, clock: DateTime<Utc>, out: &mut Vec<Output>) {
        self.dispatch.flush_counts();
        for id in std::mem::take(&mut self.planned.dirty) {
            if let Some(n) = self.planned.get(&id) {
                let message = Message::NoticeUpdated(Box::new(n.clone()));
                self.emit(out, clock, message);
            }
        }
        for id in std::mem::take(&mut self.dirty) {
            if self.outages.get(&id).is_some_and(Outage::is_active) {
                self.emit_outage(id, clock, out);
            }
        }
    }

    fn analyzer_rebuild(&mut self) {
        // A topology change moves customers between chains: start the analysis over
        // on the new topology; active outages stay as they are until evidence moves them.
        let physics = match &self.analyzer {
            Analyzer::Scored(s) => Some(*s.physics()),
            Analyzer::Baseline(_) => None,
        };
        self.analyzer = match physics {
            Some(p) => Analyzer::scored(&self.network, p),
            None => Analyzer::baseline(&self.network),
        };
    }

    fn emit(&mut self, out: &mut Vec<Output>, at: DateTime<Utc>, message: Message) {
        out.push(Output {
            seq: self.next_seq,
            at,
            message,
        });
        self.next_seq += 1;
    }

    fn observe(
        &mut self,
        clock: DateTime<Utc>,
        event_at: DateTime<Utc>,
        obs: Observation,
        out: &mut Vec<Output>,
    ) {
        let delta = self
            .analyzer
            .observe(&self.network, event_at.max(clock), obs);
        if !delta.is_empty() {
            self.apply_delta(delta, clock, out);
        }
    }

    /// Evidence older than this before an outage is first predicted belongs to an
    /// earlier event (a meter whose "power back" was lost, an outage below that this one
    /// came to cover): it does not date the outage, nor start its service targets.
    fn evidence_window(&self) -> Duration {
        Duration::minutes(match &self.analyzer {
            Analyzer::Scored(s) => s.physics().evidence_window_min,
            Analyzer::Baseline(_) => crate::inference::Physics::default().evidence_window_min,
        })
    }

    /// How long callbacks stay listed after a restoration, and reports are kept
    /// ([`Targets::callback_days`]).
    fn callback_window(&self) -> Duration {
        Duration::days(self.targets.callback_days)
    }

    fn new_outage(
        &mut self,
        kind: OutageKind,
        device: String,
        started_at: DateTime<Utc>,
        clock: DateTime<Utc>,
    ) -> u64 {
        let n = self.next_outage;
        self.next_outage += 1;
        self.outages
            .insert(n, Outage::new(n, kind, device, started_at, clock));
        n
    }

    /// Turn the analyzer's delta into outage objects: moves, merges, splits, restorations.
    fn apply_delta(&mut self, delta: BeliefDelta, clock: DateTime<Utc>, out: &mut Vec<Output>) {
        // Outages whose site went away for a reason other than restoration can move.
        let mut movable: Vec<(u64, Site)> = Vec::new();
        let mut restored: Vec<u64> = Vec::new();
        for (site, why) in &delta.removed {
            if let Some(id) = self.at_site.remove(site) {
                match why {
                    Removal::Restored => restored.push(id),
                    Removal::Withdrawn => movable.push((id, *site)),
                }
            }
        }
        movable.sort();
        let mut changed: Vec<u64> = Vec::new();
        let mut added = delta.added.clone();
        // The site with most evidence first: in a split it keeps the outage.
        added.sort_by_key(|s| {
            let e = self.analyzer.explain(&self.network, *s);
            std::cmp::Reverse(e.map(|e| e.calls + e.ami_off).unwrap_or(0))
        });
        let mut merged_into: Vec<(u64, u64)> = Vec::new();
        for site in added {
            let related: Vec<u64> = movable
                .iter()
                .filter(|(_, old)| old.related(site, &self.network))
                .map(|(id, _)| *id)
                .collect();
            let forced = self.pending_moves.remove(&site);
            let id = match forced.or_else(|| related.first().copied()) {
                Some(keeper) => {
                    movable.retain(|(id, _)| *id != keeper);
                    for other in related.iter().filter(|id| **id != keeper) {
                        movable.retain(|(id, _)| id != other);
                        merged_into.push((*other, keeper));
                    }
                    keeper
                }
                None => {
                    let started = self
                        .analyzer
                        .explain(&self.network, site)
                        .and_then(|e| e.first_evidence_at)
                        .map_or(clock, |first| first.max(clock - self.evidence_window()));
                    let kind = match site {
                        Site::Device(_) => OutageKind::Device,
                        Site::Point(_) => OutageKind::Service,
                    };
                    let name = self.site_name(site);
                    self.new_outage(kind, name, started, clock)
                }
            };
            self.at_site.insert(site, id);
            self.refresh_outage(id, site);
            changed.push(id);
        }
        for (id, _) in movable {
            // Withdrawn with nothing to move to: the evidence is explained elsewhere
            // (merged into an outage that already existed) or has gone.
            let keeper = self.covering_outage(id);
            if let Some(o) = self.outages.get_mut(&id) {
                o.status = OutageStatus::Cancelled;
                o.merged_into = keeper.map(outage::outage_name);
                o.ended_at = Some(clock);
                changed.push(id);
            }
        }
        for (other, keeper) in merged_into {
            if let Some(o) = self.outages.get_mut(&other) {
                o.status = OutageStatus::Cancelled;
                o.merged_into = Some(outage::outage_name(keeper));
                o.ended_at = Some(clock);
                changed.push(other);
            }
        }
        for id in restored {
            if let Some(o) = self.outages.get_mut(&id) {
                o.status = OutageStatus::Restored;
                o.restored_at = Some(clock);
                o.ended_at = Some(clock);
                changed.push(id);
            }
        }
        for site in delta.touched {
            if let Some(&id) = self.at_site.get(&site) {
                self.note_report(id, site);
                if self.refresh_outage(id, site) {
                    self.dirty.insert(id);
                }
            }
        }
        changed.sort();
        changed.dedup();
        for id in changed {
            self.dirty.remove(&id);
            self.emit_outage(id, clock, out);
        }
    }

    /// The active outage whose site covers the (former) site of outage `id`.
    fn covering_outage(&self, id: u64) -> Option<u64> {
        let site = self.outages.get(&id)?.site?;
        self.at_site
            .iter()
            .filter(|(s, _)| s.covers(site, &self.network))
            .map(|(_, id)| *id)
            .min()
    }

    fn site_name(&self, site: Site) -> String {
        match site {
            Site::Device(d) => self.network.device(d).id().to_owned(),
            Site::Point(c) => self.network.customer(c).id.clone(),
        }
    }

    /// Bring an outage object in line with its site and evidence; true if it changed.
    fn refresh_outage(&mut self, id: u64, site: Site) -> bool {
        let net = &self.network;
        let Some(expl) = self.analyzer.explain(net, site) else {
            return false;
        };
        let (device, device_kind, customers, critical, feeder, (lon, lat)) = match site {
            Site::Device(d) => {
                let v = net.device(d);
                (
                    v.id(),
                    Some(v.kind()),
                    v.customers_below(),
                    v.critical_below(),
                    v.feeder(),
                    v.location(),
                )
            }
            Site::Point(c) => {
                let sp = net.customer(c);
                (
                    sp.id.as_str(),
                    None,
                    u64::from(sp.customers),
                    if sp.critical { sp.customers } else { 0 },
                    net.feeder_of_customer(c),
                    (sp.lon, sp.lat),
                )
            }
        };
        let zone = net.zone_at(lon, lat);
        let window = self.evidence_window();
        let moved = self.outages.get(&id).is_some_and(|o| o.site != Some(site));
        let report_ids = if moved {
            let since = self
                .outages
                .get(&id)
                .map(|o| started_with(o, expl.first_evidence_at, window));
            since.map(|since| self.report_ids_below(site, since))
        } else {
            None
        };
        // The alternatives are worked out when the outage is placed or moved.
        let alternatives: Option<Vec<(String, f64)>> = moved.then(|| {
            self.analyzer
                .alternatives(net, site)
                .iter()
                .map(|(s, v)| (self.site_name(*s), *v))
                .collect()
        });
        let targets = self.targets;
        let Some(o) = self.outages.get_mut(&id) else {
            return false;
        };
        let before = o.fingerprint();
        o.kind = match site {
            Site::Device(_) => OutageKind::Device,
            Site::Point(_) => OutageKind::Service,
        };
        o.site = Some(site);
        // Most refreshes keep the outage where it was: names are copied only on a change.
        let device_changed = o.device != device;
        if device_changed {
            o.device = device.to_owned();
        }
        o.device_kind = device_kind;
        if o.feeder.as_deref() != feeder {
            o.feeder = feeder.map(str::to_owned);
        }
        o.customers_out = customers;
        o.critical_customers_out = critical;
        o.reports = expl.calls;
        if let Some(ids) = report_ids {
            o.report_ids = ids;
        }
        o.ami_off = expl.ami_off;
        o.lon = lon;
        o.lat = lat;
        o.zone = zone;
        o.started_at = started_with(o, expl.first_evidence_at, window);
        if o.status == OutageStatus::Cancelled || o.status == OutageStatus::Restored {
            o.status = OutageStatus::Predicted;
            o.ended_at = None;
            o.restored_at = None;
            o.merged_into = None;
        }
        if expl.scada_open && o.status == OutageStatus::Predicted {
            o.status = OutageStatus::Confirmed;
        }
        o.rule = expl.rule;
        o.score = expl.score;
        o.confidence = expl.confidence;
        if let Some(alternatives) = alternatives {
            o.alternatives = alternatives;
        }
        let z = zone.index();
        o.arrive_by = o.started_at + Duration::minutes(targets.on_site_min[z]);
        o.restore_by = o.started_at + Duration::minutes(targets.restore_min[z]);
        device_changed || o.fingerprint() != before
    }

    /// List the report being applied on the outage it joined (while the list is short).
    fn note_report(&mut self, id: u64, site: Site) {
        let Some((c, rid)) = &self.last_report else {
            return;
        };
        if !site.covers(Site::Point(*c), &self.network) {
            return;
        }
        if let Some(o) = self.outages.get_mut(&id) {
            if o.report_ids.len() < REPORT_IDS_SHOWN && !o.report_ids.contains(rid) {
                o.report_ids.push(rid.clone());
            }
        }
    }

    /// The first few report ids an outage at `site` that began at `since` explains (on
    /// creation or a move): reports made since then, never those of an earlier outage
    /// on the same customers.
    fn report_ids_below(&self, site: Site, since: DateTime<Utc>) -> Vec<String> {
        let first_reports = |points: &mut dyn Iterator<Item = CustomerIdx>| {
            points
                // Most service points below a device last reported long before, if ever.
                .filter(|c| {
                    self.latest_report_at
                        .get(c.index())
                        .copied()
                        .flatten()
                        .is_some_and(|latest| latest >= since)
                })
                .filter_map(|c| self.report_ids_at.get(&c))
                .flat_map(|reports| reports.between(since, DateTime::<Utc>::MAX_UTC))
                .take(REPORT_IDS_SHOWN)
                .map(|(id, _)| id.clone())
                .collect()
        };
        match site {
            Site::Point(c) => first_reports(&mut std::iter::once(c)),
            // The subtree is walked only until the list is full.
            Site::Device(d) => first_reports(&mut self.network.customers_below_lazily(d)),
        }
    }

    fn emit_outage(&mut self, id: u64, clock: DateTime<Utc>, out: &mut Vec<Output>) {
        let Some(o) = self.outages.get_mut(&id) else {
            return;
        };
        let first = !o.announced;
        o.announced = true;
        let status = o.status;
        let outage = Box::new(o.clone());
        let gone = |outage| match status {
            OutageStatus::Restored => Message::OutageRestored(outage),
            OutageStatus::Cancelled => Message::OutageCancelled(outage),
            _ => Message::OutageUpdated(outage),
        };
        let message = if first {
            if matches!(status, OutageStatus::Restored | OutageStatus::Cancelled) {
                // Born and gone in one step: say both.
                self.emit(out, clock, Message::OutageCreated(outage.clone()));
                gone(outage)
            } else {
                Message::OutageCreated(outage)
            }
        } else {
            gone(outage)
        };
        self.emit(out, clock, message);
    }

    fn meter_outage(
        &mut self,
        c: CustomerIdx,
        report: &str,
        at: DateTime<Utc>,
        clock: DateTime<Utc>,
        out: &mut Vec<Output>,
    ) {
        if let Some(&id) = self.meter_outage_at.get(&c) {
            if let Some(o) = self.outages.get_mut(&id) {
                if o.is_active() {
                    o.reports += 1;
                    if o.report_ids.len() < REPORT_IDS_SHOWN {
                        o.report_ids.push(report.to_owned());
                    }
                    self.direct_reporters
                        .entry(id)
                        .or_default()
                        .push((c, report.to_owned()));
                    self.emit_outage(id, clock, out);
                    return;
                }
            }
        }
        let name = self.network.customer(c).id.clone();
        let id = self.new_outage(OutageKind::Meter, name, at, clock);
        self.meter_outage_at.insert(c, id);
        self.direct_reporters
            .entry(id)
            .or_default()
            .push((c, report.to_owned()));
        let sp = self.network.customer(c).clone();
        let zone = self.network.zone_at(sp.lon, sp.lat);
        let targets = self.targets;
        let feeder = self.network.feeder_of_customer(c).map(str::to_owned);
        if let Some(o) = self.outages.get_mut(&id) {
            o.site = Some(Site::Point(c));
            o.customers_out = u64::from(sp.customers);
            o.critical_customers_out = if sp.critical { sp.customers } else { 0 };
            o.reports = 1;
            o.report_ids = vec![report.to_owned()];
            o.lon = sp.lon;
            o.lat = sp.lat;
            o.zone = zone;
            o.feeder = feeder;
            o.rule = "the customer reports a failed meter: a single-customer outage".into();
            o.confidence = 0.9;
            o.arrive_by = at + Duration::minutes(targets.on_site_min[zone.index()]);
            o.restore_by = at + Duration::minutes(targets.meter_min);
        }
        self.emit_outage(id, clock, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn wire_down(
        &mut self,
        c: CustomerIdx,
        report: &str,
        lon: f64,
        lat: f64,
        at: DateTime<Utc>,
        clock: DateTime<Utc>,
        out: &mut Vec<Output>,
    ) {
        let name = self.network.customer(c).id.clone();
        let id = self.new_outage(OutageKind::WireDown, name, at, clock);
        self.direct_reporters
            .entry(id)
            .or_default()
            .push((c, report.to_owned()));
        let zone = self.network.zone_at(lon, lat);
        let targets = self.targets;
        let feeder = self.network.feeder_of_customer(c).map(str::to_owned);
        if let Some(o) = self.outages.get_mut(&id) {
            o.reports = 1;
            o.report_ids = vec![report.to_owned()];
            o.lon = lon;
            o.lat = lat;
            o.zone = zone;
            o.feeder = feeder;
            o.rule =
                "a wire-down report: a safety outage of its own, whether or not power is on".into();
            o.confidence = 1.0;
            o.arrive_by = at + Duration::minutes(targets.on_site_min[zone.index()]);
            o.restore_by = at + Duration::minutes(targets.restore_min[zone.index()]);
        }
        self.emit_outage(id, clock, out);
    }

    fn confirm(&mut self, outage: &str, device: &str, clock: DateTime<Utc>, out: &mut Vec<Output>) {
        let Some(id) = outage::parse_outage_name(outage).filter(|id| self.outages.contains_key(id))
        else {
            self.rejected += 1;
            return;
        };
        let Some(d) = self.network.device_by_id(device).map(|d| d.idx()) else {
            self.rejected += 1;
            return;
        };
        let site = Site::Device(d);
        let current = self.outages[&id].site;
        if current != Some(site) {
            self.pending_moves.insert(site, id);
        }
        self.observe(clock, clock, Observation::Confirmed(d), out);
        self.pending_moves.remove(&site);
        if let Some(o) = self.outages.get_mut(&id) {
            if o.is_active() && o.status != OutageStatus::Confirmed {
                o.status = OutageStatus::Confirmed;
                self.emit_outage(id, clock, out);
            }
        }
    }
}

/// Keep the engine's `latest_report_at` up to date with a report of `c`'s at `at`.
fn note_report_time(latest: &mut Vec<Option<DateTime<Utc>>>, c: CustomerIdx, at: DateTime<Utc>) {
    if latest.len() <= c.index() {
        latest.resize(c.index() + 1, None);
    }
    latest[c.index()] = latest[c.index()].max(Some(at));
}

/// One service point's reports (their ids and times), oldest first.
///
/// A customer of a busy network reports again and again over weeks, and a restoration
/// looks at the reports of every customer below it: the ones it explains are the
/// latest few, found by reading from the end (binary search would read a cold list at
/// random, which costs more than the few entries read here).
///
/// In a snapshot, the list as it stands; read back, it is put in time order again (an
/// engine that kept the list in arrival order may have written it).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
struct PointReports(Vec<(String, DateTime<Utc>)>);

impl PointReports {
    /// Add a report made at `at`, after those made before it or at the same time. Events
    /// mostly come in time order: then this is a push.
    fn insert(&mut self, id: String, at: DateTime<Utc>) {
        let place = self
            .0
            .iter()
            .rposition(|(_, made)| *made <= at)
            .map_or(0, |last_before| last_before + 1);
        self.0.insert(place, (id, at));
    }

    /// The reports made from `from` to `until` (both included), oldest first.
    fn between(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> &[(String, DateTime<Utc>)] {
        let end = self
            .0
            .iter()
            .rposition(|(_, made)| *made <= until)
            .map_or(0, |last_in| last_in + 1);
        let start = self.0[..end]
            .iter()
            .rposition(|(_, made)| *made < from)
            .map_or(0, |last_before| last_before + 1);
        &self.0[start..end]
    }

    /// Forget the reports made before `t`.
    fn forget_before(&mut self, t: DateTime<Utc>) {
        let old = self.0.partition_point(|(_, made)| *made < t);
        self.0.drain(..old);
    }

    /// When the latest report was made.
    fn latest(&self) -> Option<DateTime<Utc>> {
        self.0.last().map(|(_, made)| *made)
    }
}

impl<'de> serde::Deserialize<'de> for PointReports {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut reports = Vec::<(String, DateTime<Utc>)>::deserialize(d)?;
        // Stable: reports made at the same time keep the order they came in.
        reports.sort_by_key(|(_, made)| *made);
        Ok(Self(reports))
    }
}

/// When outage `o` began, with `first` the earliest evidence it explains now: never
/// later than it was, nor earlier than the evidence window before it was predicted.
fn started_with(o: &Outage, first: Option<DateTime<Utc>>, window: Duration) -> DateTime<Utc> {
    first.map_or(o.started_at, |first| {
        o.started_at.min(first.max(o.predicted_at - window))
    })
}

/// What dispatch needs to know about an outage.
fn facts_of(o: &Outage) -> OutageFacts<'_> {
    OutageFacts {
        number: o.number,
        job: match o.kind {
            OutageKind::Device => {
                JobKind::Device(o.device_kind.unwrap_or(crate::network::DeviceKind::Fuse))
            }
            OutageKind::Service => JobKind::Service,
            OutageKind::Meter => JobKind::Meter,
            OutageKind::WireDown => JobKind::WireDown,
        },
        device: &o.device,
        active: o.is_active(),
        restored: o.status == OutageStatus::Restored,
        merged_into: o.merged_into.as_deref(),
        lon: o.lon,
        lat: o.lat,
        zone: o.zone,
        customers_out: o.customers_out,
        critical_customers_out: o.critical_customers_out,
        started_at: o.started_at,
        arrive_by: o.arrive_by,
        restore_by: o.restore_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_783_994_400 + 60 * minute, 0).unwrap()
    }

    fn ids(reports: &[(String, DateTime<Utc>)]) -> Vec<&str> {
        reports.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// Reports stay in time order whatever order they come in (equal times in the order
    /// they came), and a window is every report in it, both ends included.
    #[test]
    fn point_reports_keep_time_order_and_find_a_window() {
        let mut reports = PointReports::default();
        for (id, minute) in [("a", 10), ("b", 20), ("c", 30), ("late", 15), ("c2", 30)] {
            reports.insert(id.into(), at(minute));
        }
        assert_eq!(ids(&reports.0), ["a", "late", "b", "c", "c2"]);
        assert_eq!(reports.latest(), Some(at(30)));
        assert_eq!(
            ids(reports.between(at(15), at(30))),
            ["late", "b", "c", "c2"]
        );
        assert_eq!(ids(reports.between(at(11), at(29))), ["late", "b"]);
        assert_eq!(ids(reports.between(at(0), at(10))), ["a"]);
        assert!(reports.between(at(31), at(40)).is_empty());
        assert!(reports.between(at(0), at(9)).is_empty());
        assert!(reports.between(at(16), at(19)).is_empty());
        assert!(PointReports::default().between(at(0), at(40)).is_empty());
    }

    /// A snapshot keeps the list as it is; one written in arrival order reads back in
    /// time order.
    #[test]
    fn point_reports_read_back_in_time_order() {
        let mut reports = PointReports::default();
        reports.insert("a".into(), at(10));
        reports.insert("b".into(), at(20));
        let text = serde_json::to_string(&reports).unwrap();
        assert_eq!(
            text,
            serde_json::to_string(&vec![("a", at(10)), ("b", at(20))]).unwrap()
        );
        let arrival_order =
            serde_json::to_string(&vec![("b", at(20)), ("a", at(10)), ("a2", at(10))]).unwrap();
        let read: PointReports = serde_json::from_str(&arrival_order).unwrap();
        assert_eq!(ids(&read.0), ["a", "a2", "b"]);
    }
}

/// What a caught panic said (its message, when it carried one).
pub fn panic_reason(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// A way for this crate's own tests to make applying an event panic, as a bug would:
/// a report whose id is set here panics when applied. Compiled only into tests (the
/// `test-hooks` feature, which only the workspace's dev-dependencies turn on).
#[cfg(any(test, feature = "test-hooks"))]
#[doc(hidden)]
pub mod poison {
    use std::sync::Mutex;

    /// Report ids whose application panics (any thread: `serve` applies on a blocking
    /// thread). Each test uses ids of its own.
    static REPORT_IDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

    /// Make applying the report with this id panic.
    pub fn set(report_id: &str) {
        REPORT_IDS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(report_id.to_owned());
    }

    pub(super) fn check(event: &crate::events::Event) {
        if let Some(id) = event.report_id() {
            let poisoned = REPORT_IDS
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|p| p == id);
            if poisoned {
                panic!("poisoned report {id}");
            }
        }
    }
}
