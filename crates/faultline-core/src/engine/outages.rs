//! Outage bookkeeping: turning the analyzer's belief changes into outage objects with
//! stable ids (moves, merges, splits), meter and wire-down outages, a dispatcher's
//! confirmation, restorations, and bringing dispatch up to date with them.

use super::*;

impl Engine {
    /// Bring dispatch up to date with the outages this event changed, solve the
    /// assignment again if needed, and say what changed: outage objects gain their
    /// order, crew, ETA and ETR (in the message this event already carries for the
    /// outage, or in a new `outage.updated`); orders and crews get their messages.
    pub(super) fn dispatch_step(&mut self, clock: DateTime<Utc>, out: &mut Vec<Output>) {
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
    pub(super) fn restored_by_crew(&mut self, n: u64, clock: DateTime<Utc>, out: &mut Vec<Output>) {
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

    pub(super) fn new_outage(
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
    pub(super) fn apply_delta(
        &mut self,
        delta: BeliefDelta,
        clock: DateTime<Utc>,
        out: &mut Vec<Output>,
    ) {
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
    pub(super) fn covering_outage(&self, id: u64) -> Option<u64> {
        let site = self.outages.get(&id)?.site?;
        self.at_site
            .iter()
            .filter(|(s, _)| s.covers(site, &self.network))
            .map(|(_, id)| *id)
            .min()
    }

    pub(super) fn site_name(&self, site: Site) -> String {
        match site {
            Site::Device(d) => self.network.device(d).id().to_owned(),
            Site::Point(c) => self.network.customer(c).id.clone(),
        }
    }

    /// Bring an outage object in line with its site and evidence; true if it changed.
    pub(super) fn refresh_outage(&mut self, id: u64, site: Site) -> bool {
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

    pub(super) fn emit_outage(&mut self, id: u64, clock: DateTime<Utc>, out: &mut Vec<Output>) {
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

    pub(super) fn meter_outage(
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
    pub(super) fn wire_down(
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

    pub(super) fn confirm(
        &mut self,
        outage: &str,
        device: &str,
        clock: DateTime<Utc>,
        out: &mut Vec<Output>,
    ) {
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

/// When outage `o` began, with `first` the earliest evidence it explains now: never
/// later than it was, nor earlier than the evidence window before it was predicted.
pub(super) fn started_with(
    o: &Outage,
    first: Option<DateTime<Utc>>,
    window: Duration,
) -> DateTime<Utc> {
    first.map_or(o.started_at, |first| {
        o.started_at.min(first.max(o.predicted_at - window))
    })
}

/// What dispatch needs to know about an outage.
pub(super) fn facts_of(o: &Outage) -> OutageFacts<'_> {
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
