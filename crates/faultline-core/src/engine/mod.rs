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
//! # Files
//! `apply` (one event: timers first, then the event by its kind), `outages` (belief
//! changes into outage objects, meter and wire-down outages, restorations, dispatch
//! brought up to date), `reports` (which report ids each service point made, and
//! forgetting them), `callbacks` (the book, and listing, answering and closing),
//! `planned` (notices), `outage` (the outage object), `message` (the output messages).
//!
//! # Invariants
//! - Output `seq` rises by one per message, from 1, with no gaps.
//! - A message's `at` is the engine's clock: the largest event time seen so far.
//! - Every message carries the whole object as it now stands.

mod apply;
mod callbacks;
mod message;
mod outage;
mod outages;
mod planned;
mod reports;

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
use reports::{note_report_time, PointReports};

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

    /// Send the pending `outage.updated` messages now (the end of a replay).
    pub fn flush(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if let Some(at) = self.clock {
            self.flush_into(at, &mut out);
            self.dispatch_step(at, &mut out);
        }
        out
    }

    fn emit(&mut self, out: &mut Vec<Output>, at: DateTime<Utc>, message: Message) {
        out.push(Output {
            seq: self.next_seq,
            at,
            message,
        });
        self.next_seq += 1;
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
