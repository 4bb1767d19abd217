//! Planned outages (停电预告): notices of work on a device for a time window.
//!
//! A dispatcher's `planned_outage` event schedules (or, with the same id, changes) a
//! notice; `planned_outage_cancel` calls it off. The notice lists what the device
//! darkens in the network's *normal* state (switching does not change a promise made
//! to customers), checks the notice period, and moves `scheduled` → `active` →
//! `completed` as the engine's clock passes its start and end (timers, like dispatch's:
//! they fire before the first event at or after their time is applied).
//!
//! While a notice is active, the reports and last gasps of its customers (and SCADA
//! opening its own device) are evidence of the planned work, counted on the notice,
//! and not handed to trouble-call analysis. When the window ends, the meters that
//! gasped during it and have not said "power back" are handed over as last gasps at the
//! window's end, so a customer still dark after the work is a real outage; reports
//! after the end are analysed as any other.
//!
//! # Notice periods
//! - `planned`: every customer is told at least 7 days before the start;
//! - `urgent`: critical customers are told at least 24 hours before the start.
//!
//! A notice given later is still published, flagged `late` with the reason. The time
//! customers were told is when the current start was first announced: a change that
//! moves the start earlier counts from the change, one that moves it later keeps the
//! earlier notice.
//!
//! Pure: no I/O, no clock; ordered maps only, so replay gives the same messages.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::events::{format_time, PlannedKind, PlannedOutage};
use crate::network::{CustomerIdx, Darkened, Network};

/// Notice period for planned work (to every customer).
pub const PLANNED_NOTICE_DAYS: i64 = 7;
/// Notice period for urgent maintenance (to critical customers).
pub const URGENT_NOTICE_HOURS: i64 = 24;
/// Report ids a notice lists (the count is complete; the list is a sample).
const REPORT_IDS_SHOWN: usize = 20;

/// Where a notice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    /// Announced; the window has not begun.
    Scheduled,
    /// The work is on: its customers are dark by plan.
    Active,
    /// The window is over.
    Completed,
    /// Called off.
    Cancelled,
}

/// One planned outage and its notice.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    /// The dispatcher's id (`PO-1`).
    pub id: String,
    /// The device opened for the work.
    pub device: String,
    /// Planned or urgent.
    pub kind: PlannedKind,
    /// Why.
    pub reason: Option<String>,
    /// Power off from.
    pub start: DateTime<Utc>,
    /// Power back by.
    pub end: DateTime<Utc>,
    /// Where it stands.
    pub status: NoticeStatus,
    /// What the device darkens in the normal state.
    pub darkened: Darkened,
    /// Ids of the critical service points darkened.
    pub critical_ids: Vec<String>,
    /// The device's feeder in the normal state.
    pub feeder: Option<String>,
    /// Where to draw it.
    pub lon: f64,
    /// Where to draw it.
    pub lat: f64,
    /// Distance from (`lon`, `lat`) to the farthest service point darkened, km: the
    /// area a public alert names.
    pub radius_km: f64,
    /// When the notice was first published.
    pub issued_at: DateTime<Utc>,
    /// When it was last changed (or cancelled).
    pub updated_at: DateTime<Utc>,
    /// When the customers were told of the current start.
    pub noticed_at: DateTime<Utc>,
    /// The notice was given later than its period allows.
    pub late: bool,
    /// Why it is late, in words.
    pub late_reason: Option<String>,
    /// 1 when published, +1 with every change, the cancellation, the start and the end
    /// of the work (each is a new entry for a feed's readers).
    pub revision: u32,
    /// The previous revision's time, for a feed's references.
    pub previous_at: Option<DateTime<Utc>>,
    /// Reports explained by the work.
    pub reports: u32,
    /// The first few of them.
    pub report_ids: Vec<String>,
    /// Last gasps explained by the work.
    pub ami_off: u32,
    /// Why it was called off.
    pub cancel_reason: Option<String>,
    /// SCADA shows the device open during the window.
    pub(crate) scada_open: bool,
    /// Meters that gasped during the window and have not said "power back".
    pub(crate) dark_meters: BTreeSet<CustomerIdx>,
}

impl Notice {
    /// A new revision at `at` (the feed tells its readers the notice changed).
    fn revise(&mut self, at: DateTime<Utc>) {
        self.previous_at = Some(self.updated_at);
        self.updated_at = at;
        self.revision += 1;
    }

    /// Scheduled or active.
    pub fn is_current(&self) -> bool {
        matches!(self.status, NoticeStatus::Scheduled | NoticeStatus::Active)
    }

    /// When its customers went dark by plan: the window's start, or, for work
    /// published (or moved earlier) after its start had passed, the moment the notice
    /// took effect. A scheduled notice's start is always ahead of the engine's clock (it
    /// becomes active before any later event is applied) and an active one's start no
    /// longer changes, so that moment is `noticed_at`.
    pub fn dark_from(&self) -> DateTime<Utc> {
        self.start.max(self.noticed_at)
    }

    /// Whether the work darkens this service point.
    pub fn covers(&self, c: CustomerIdx) -> bool {
        self.darkened.points.binary_search(&c).is_ok()
    }

    /// The latest time the notice could have been given on time.
    pub fn notice_due(&self) -> DateTime<Utc> {
        match self.kind {
            PlannedKind::Planned => self.start - Duration::days(PLANNED_NOTICE_DAYS),
            PlannedKind::Urgent => self.start - Duration::hours(URGENT_NOTICE_HOURS),
        }
    }

    fn check_period(&mut self) {
        let given = self.start - self.noticed_at;
        let hours = given.num_minutes() as f64 / 60.0;
        let told = if hours >= 48.0 {
            format!("{:.1} days", hours / 24.0)
        } else {
            format!("{hours:.1} hours")
        };
        let (late, reason) = match self.kind {
            PlannedKind::Planned => (
                given < Duration::days(PLANNED_NOTICE_DAYS),
                format!(
                    "customers were told {told} before the start; planned work needs {PLANNED_NOTICE_DAYS} days"
                ),
            ),
            PlannedKind::Urgent => (
                self.darkened.critical > 0 && given < Duration::hours(URGENT_NOTICE_HOURS),
                format!(
                    "critical customers were told {told} before the start; urgent maintenance needs {URGENT_NOTICE_HOURS} hours"
                ),
            ),
        };
        self.late = late;
        self.late_reason = late.then_some(reason);
    }

    /// The notice as the stream and the API carry it, as JSON text.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Json<'a> {
            id: &'a str,
            device: &'a str,
            kind: PlannedKind,
            status: NoticeStatus,
            reason: Option<&'a str>,
            start: String,
            end: String,
            customers: u64,
            critical_customers: u32,
            service_points: usize,
            critical_service_points: &'a [String],
            feeder: Option<&'a str>,
            lon: f64,
            lat: f64,
            issued_at: String,
            updated_at: String,
            noticed_at: String,
            notice_due: String,
            late: bool,
            late_reason: Option<&'a str>,
            revision: u32,
            reports: u32,
            report_ids: &'a [String],
            ami_off: u32,
            cancel_reason: Option<&'a str>,
        }
        let json = Json {
            id: &self.id,
            device: &self.device,
            kind: self.kind,
            status: self.status,
            reason: self.reason.as_deref(),
            start: format_time(self.start),
            end: format_time(self.end),
            customers: self.darkened.customers,
            critical_customers: self.darkened.critical,
            service_points: self.darkened.points.len(),
            critical_service_points: &self.critical_ids,
            feeder: self.feeder.as_deref(),
            lon: self.lon,
            lat: self.lat,
            issued_at: format_time(self.issued_at),
            updated_at: format_time(self.updated_at),
            noticed_at: format_time(self.noticed_at),
            notice_due: format_time(self.notice_due()),
            late: self.late,
            late_reason: self.late_reason.as_deref(),
            revision: self.revision,
            reports: self.reports,
            report_ids: &self.report_ids,
            ami_off: self.ami_off,
            cancel_reason: self.cancel_reason.as_deref(),
        };
        // A struct of plain fields always serializes.
        serde_json::to_string(&json).unwrap_or_default()
    }
}

/// Why a planned-outage event does not fit the notices as they stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRefused(pub String);

/// The notices, their timers, and which are current.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PlannedBook {
    notices: BTreeMap<String, Notice>,
    /// (when, notice id): a start or an end to pass.
    timers: BTreeSet<(DateTime<Utc>, String)>,
    /// Active notices, by id: the ones that explain evidence now.
    active: BTreeSet<String>,
    /// Notices whose evidence grew since their last message (sent once a minute).
    pub(crate) dirty: BTreeSet<String>,
}

impl PlannedBook {
    /// Every notice, by id.
    pub fn notices(&self) -> impl Iterator<Item = &Notice> {
        self.notices.values()
    }

    /// Current notices (scheduled or active) whose work darkens service point `c`.
    pub fn covering(&self, c: CustomerIdx) -> impl Iterator<Item = &Notice> {
        self.notices
            .values()
            .filter(move |n| n.is_current() && n.darkened.points.binary_search(&c).is_ok())
    }

    /// One notice.
    pub fn get(&self, id: &str) -> Option<&Notice> {
        self.notices.get(id)
    }

    /// Could this schedule or change be applied now?
    pub fn check(&self, p: &PlannedOutage) -> Result<(), PlannedRefused> {
        match self.notices.get(&p.id) {
            None => Ok(()),
            Some(n) if !n.is_current() => Err(PlannedRefused(format!(
                "planned outage {} is {}: schedule new work under a new id",
                p.id,
                match n.status {
                    NoticeStatus::Cancelled => "cancelled",
                    _ => "completed",
                }
            ))),
            Some(n) if n.device != p.device => Err(PlannedRefused(format!(
                "planned outage {} is on device {}: to work on {} instead, cancel it and schedule new work",
                p.id, n.device, p.device
            ))),
            Some(n) if n.status == NoticeStatus::Active && p.start != n.start => {
                Err(PlannedRefused(format!(
                    "planned outage {} has begun: its start can no longer change (its end can)",
                    p.id
                )))
            }
            Some(_) => Ok(()),
        }
    }

    /// Could this cancellation be applied now? (A repeated one is accepted and changes
    /// nothing.)
    pub fn check_cancel(&self, id: &str) -> Result<(), PlannedRefused> {
        match self.notices.get(id).map(|n| n.status) {
            None => Err(PlannedRefused(format!("no planned outage has id {id:?}"))),
            Some(NoticeStatus::Completed) => Err(PlannedRefused(format!(
                "planned outage {id} is already completed"
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Schedule or change a notice at `clock`; the notice's id when it changed. The
    /// device's reach is taken from `normal`, the network in its normal state.
    pub fn schedule(
        &mut self,
        p: &PlannedOutage,
        normal: &Network,
        clock: DateTime<Utc>,
    ) -> Result<&Notice, PlannedRefused> {
        self.check(p)?;
        let darkened = normal
            .darkened_by(&p.device)
            .ok_or_else(|| PlannedRefused(format!("no device has id {:?}", p.device)))?;
        match self.notices.get_mut(&p.id) {
            Some(n) => {
                self.timers.remove(&(n.start, n.id.clone()));
                self.timers.remove(&(n.end, n.id.clone()));
                if p.start < n.start {
                    n.noticed_at = clock;
                }
                n.start = p.start;
                n.end = p.end;
                n.kind = p.kind;
                n.reason = p.reason.clone();
                n.revise(clock);
            }
            None => {
                let critical_ids = darkened
                    .points
                    .iter()
                    .map(|c| normal.customer(*c))
                    .filter(|sp| sp.critical)
                    .map(|sp| sp.id.clone())
                    .collect();
                let (lon, lat) = normal
                    .device_by_id(&p.device)
                    .map(|d| d.location())
                    .or_else(|| {
                        darkened.points.first().map(|c| {
                            let sp = normal.customer(*c);
                            (sp.lon, sp.lat)
                        })
                    })
                    .unwrap_or((0.0, 0.0));
                let radius_km = darkened
                    .points
                    .iter()
                    .map(|c| {
                        let sp = normal.customer(*c);
                        crate::network::spatial::haversine_m((lon, lat), (sp.lon, sp.lat))
                    })
                    .fold(0.0f64, f64::max)
                    / 1000.0;
                let feeder = darkened
                    .points
                    .first()
                    .and_then(|c| normal.feeder_of_customer(*c))
                    .map(str::to_owned);
                self.notices.insert(
                    p.id.clone(),
                    Notice {
                        id: p.id.clone(),
                        device: p.device.clone(),
                        kind: p.kind,
                        reason: p.reason.clone(),
                        start: p.start,
                        end: p.end,
                        status: NoticeStatus::Scheduled,
                        darkened,
                        critical_ids,
                        feeder,
                        lon,
                        lat,
                        radius_km,
                        issued_at: clock,
                        updated_at: clock,
                        noticed_at: clock,
                        late: false,
                        late_reason: None,
                        revision: 1,
                        previous_at: None,
                        reports: 0,
                        report_ids: Vec::new(),
                        ami_off: 0,
                        cancel_reason: None,
                        scada_open: false,
                        dark_meters: BTreeSet::new(),
                    },
                );
            }
        }
        // unwrap: inserted or found just above.
        let n = self.notices.get_mut(&p.id).unwrap();
        n.check_period();
        if n.status == NoticeStatus::Scheduled {
            self.timers.insert((n.start, n.id.clone()));
        }
        self.timers.insert((n.end, n.id.clone()));
        self.dirty.remove(&p.id);
        Ok(n)
    }

    /// Call a notice off; `Some` when it changed. Meters that gasped during the window
    /// are returned with it (they are analysed from now on).
    pub fn cancel(
        &mut self,
        id: &str,
        reason: Option<&str>,
        clock: DateTime<Utc>,
    ) -> Option<(&Notice, Vec<CustomerIdx>)> {
        let n = self.notices.get_mut(id)?;
        if !n.is_current() {
            return None;
        }
        self.timers.remove(&(n.start, n.id.clone()));
        self.timers.remove(&(n.end, n.id.clone()));
        self.active.remove(id);
        self.dirty.remove(id);
        n.status = NoticeStatus::Cancelled;
        n.cancel_reason = reason.map(str::to_owned);
        n.revise(clock);
        let dark = std::mem::take(&mut n.dark_meters).into_iter().collect();
        Some((n, dark))
    }

    /// The next timer due at or before `clock`: the notice it moves, its new status,
    /// and (when its window ends) the meters still dark and whether SCADA still shows
    /// its device open.
    pub fn fire_next(&mut self, clock: DateTime<Utc>) -> Option<Fired> {
        loop {
            let (due, id) = self.timers.first().cloned()?;
            if due > clock {
                return None;
            }
            self.timers.pop_first();
            let Some(n) = self.notices.get_mut(&id) else {
                continue;
            };
            if n.status == NoticeStatus::Scheduled && due == n.start && due < n.end {
                n.status = NoticeStatus::Active;
                n.revise(due);
                self.active.insert(id.clone());
                return Some(Fired {
                    id,
                    dark_meters: Vec::new(),
                    scada_open: false,
                });
            }
            if n.is_current() && due == n.end {
                n.status = NoticeStatus::Completed;
                n.revise(due);
                self.active.remove(&id);
                self.dirty.remove(&id);
                let dark_meters = std::mem::take(&mut n.dark_meters).into_iter().collect();
                let scada_open = std::mem::take(&mut n.scada_open);
                return Some(Fired {
                    id,
                    dark_meters,
                    scada_open,
                });
            }
        }
    }

    /// The active notice that explains evidence from this service point (the first by
    /// id when several overlap).
    pub fn explaining(&self, c: CustomerIdx) -> Option<&str> {
        self.active
            .iter()
            .find(|id| self.notices.get(*id).is_some_and(|n| n.covers(c)))
            .map(String::as_str)
    }

    /// The active notice on this device, if any.
    pub fn active_on_device(&self, device: &str) -> Option<&str> {
        self.active
            .iter()
            .find(|id| self.notices.get(*id).is_some_and(|n| n.device == device))
            .map(String::as_str)
    }

    /// Count a report on a notice.
    pub fn note_report(&mut self, id: &str, report: &str) {
        if let Some(n) = self.notices.get_mut(id) {
            n.reports += 1;
            if n.report_ids.len() < REPORT_IDS_SHOWN {
                n.report_ids.push(report.to_owned());
            }
            self.dirty.insert(id.to_owned());
        }
    }

    /// Count a last gasp on a notice.
    pub fn note_gasp(&mut self, id: &str, c: CustomerIdx) {
        if let Some(n) = self.notices.get_mut(id) {
            if n.dark_meters.insert(c) {
                n.ami_off += 1;
                self.dirty.insert(id.to_owned());
            }
        }
    }

    /// A meter says its power is back: it is no longer dark under any notice.
    pub fn note_power_back(&mut self, c: CustomerIdx) {
        for id in &self.active {
            if let Some(n) = self.notices.get_mut(id) {
                n.dark_meters.remove(&c);
            }
        }
    }

    /// SCADA reports the device of an active notice open or closed.
    pub fn note_scada(&mut self, id: &str, open: bool) {
        if let Some(n) = self.notices.get_mut(id) {
            n.scada_open = open;
        }
    }
}

/// A notice a timer moved.
#[derive(Debug, Clone)]
pub struct Fired {
    /// The notice.
    pub id: String,
    /// At its end: meters that gasped during the window and are still dark.
    pub dark_meters: Vec<CustomerIdx>,
    /// At its end: SCADA still shows its device open.
    pub scada_open: bool,
}
