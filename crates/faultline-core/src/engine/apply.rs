//! Applying one event: the timers due by its time fire first, then what the event
//! says is handed to the analyzer, dispatch, the planned work or the callbacks, each
//! by its own rule.

use super::*;

impl Engine {
    /// `customer`: the event's service point ([`Engine::customer_of`]).
    pub(super) fn apply_inner(
        &mut self,
        event: &Event,
        customer: Option<CustomerIdx>,
    ) -> Vec<Output> {
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
    pub(super) fn fire_planned(&mut self, clock: DateTime<Utc>, out: &mut Vec<Output>) {
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

    pub(super) fn flush_into(&mut self, clock: DateTime<Utc>, out: &mut Vec<Output>) {
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

    pub(super) fn analyzer_rebuild(&mut self) {
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

    pub(super) fn observe(
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
}
