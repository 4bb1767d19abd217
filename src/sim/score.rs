//! Scoring an analyzer against a storm's ground truth, and the oracle that says what
//! was achievable.
//!
//! For every fault, at 5, 10, 15 and 30 minutes after it became visible (its start;
//! for a nested fault, the repair of the fault above it), the engine's active outages
//! are checked for one at exactly the fault's device. Only faults that have produced at
//! least two pieces of evidence (calls, last gasps, SCADA) by then count.
//!
//! The **oracle** knows which evidence belongs to which fault, when the fault began and
//! the call-in law, and picks the single most probable device. With a uniform prior
//! over devices, the likelihood of the evidence falls with every dark customer who did
//! not call or gasp, so the most probable device is the lowest one whose customers
//! include every piece of evidence (SCADA names its device outright).

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::Storm;
use crate::engine::{Engine, EngineOptions};
use crate::events::{Event, EventKind};
use crate::network::{CustomerIdx, DeviceIdx, Network};
use crate::orders::OrderState;

/// Minutes after a fault at which it is checked.
pub const CHECKPOINTS_MIN: [i64; 4] = [5, 10, 15, 30];

/// How one analyzer did on one storm.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StormScore {
    /// Per checkpoint: faults with at least two pieces of evidence.
    pub counted: [usize; 4],
    /// Per checkpoint: of those, faults whose exact device the analyzer predicted.
    pub found: [usize; 4],
    /// Per checkpoint: faults the oracle finds.
    pub oracle_found: [usize; 4],
    /// Per checkpoint: faults both the oracle and the analyzer find.
    pub found_of_oracle: [usize; 4],
    /// Device outages active at the end whose device never failed.
    pub false_outages_at_end: usize,
    /// Minutes from each fault's start to the first prediction at its device.
    pub minutes_to_first_correct: Vec<f64>,
    /// Faults the oracle found and the analyzer did not: what it believed instead.
    pub misses: Vec<String>,
    /// Events applied.
    pub events: usize,
    /// Seconds the engine took to apply them.
    pub engine_seconds: f64,
}

/// One piece of a fault's evidence: when, from whom (none: SCADA), what kind.
type Piece = (DateTime<Utc>, Option<CustomerIdx>, &'static str);

struct Checkpoint {
    at: DateTime<Utc>,
    fault: usize,
    slot: usize,
}

/// Run an engine (faultline's or the baseline) over the storm and score it.
pub fn score(net: &Network, storm: &Storm, baseline: bool) -> StormScore {
    let truth = &storm.truth;
    let mut engine = Engine::new(
        net.clone(),
        EngineOptions {
            baseline,
            ..EngineOptions::default()
        },
    );
    // Evidence per fault, in time order.
    let mut evidence: Vec<Vec<Piece>> = vec![Vec::new(); truth.faults.len()];
    for a in &truth.evidence {
        if let Some(f) = a.fault {
            evidence[f].push((a.at, a.customer, a.kind));
        }
    }
    let visible_at = |k: usize| -> Option<DateTime<Utc>> {
        let f = &truth.faults[k];
        match &f.nested_in {
            None => Some(f.started_at),
            Some(parent) => truth
                .faults
                .iter()
                .find(|p| &p.id == parent)
                .and_then(|p| p.restored_at)
                .map(|r| r.max(f.started_at)),
        }
    };
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    for k in 0..truth.faults.len() {
        if let Some(v) = visible_at(k) {
            for (slot, m) in CHECKPOINTS_MIN.iter().enumerate() {
                checkpoints.push(Checkpoint {
                    at: v + Duration::minutes(*m),
                    fault: k,
                    slot,
                });
            }
        }
    }
    checkpoints.sort_by_key(|c| (c.at, c.fault, c.slot));
    let fault_devices: HashMap<&str, Vec<usize>> =
        truth
            .faults
            .iter()
            .enumerate()
            .fold(HashMap::new(), |mut m, (k, f)| {
                m.entry(f.device.as_str()).or_default().push(k);
                m
            });
    let mut first_correct: Vec<Option<DateTime<Utc>>> = vec![None; truth.faults.len()];
    let mut result = StormScore::default();
    let mut next_cp = 0;
    let mut engine_time = std::time::Duration::ZERO;
    let evaluate = |engine: &Engine, cp: &Checkpoint, result: &mut StormScore| {
        let f = &truth.faults[cp.fault];
        let seen: Vec<&Piece> = evidence[cp.fault]
            .iter()
            .take_while(|(t, _, _)| *t <= cp.at)
            .collect();
        let ev: Vec<Option<CustomerIdx>> = seen.iter().map(|(_, c, _)| *c).collect();
        if ev.len() < 2 {
            return;
        }
        result.counted[cp.slot] += 1;
        let found = engine
            .active_outages()
            .any(|o| o.device == f.device && o.device_kind.is_some());
        // SCADA names the device outright; otherwise the most probable device.
        let oracle = ev.iter().any(Option::is_none) || oracle_pick(net, &ev) == Some(f.device_idx);
        result.found[cp.slot] += usize::from(found);
        result.oracle_found[cp.slot] += usize::from(oracle);
        result.found_of_oracle[cp.slot] += usize::from(oracle && found);
        if oracle && !found {
            let fault_site = crate::inference::Site::Device(f.device_idx);
            let instead: Vec<String> = engine
                .active_outages()
                .filter(|o| o.site.is_some_and(|s| s.related(fault_site, net)))
                .map(|o| format!("{} ({})", o.device, o.customers_out))
                .collect();
            let start = cp.at - Duration::minutes(CHECKPOINTS_MIN[cp.slot]);
            let pieces: Vec<String> = seen
                .iter()
                .map(|(t, c, kind)| {
                    let who = c.map_or_else(|| "scada".to_owned(), |c| net.customer(c).id.clone());
                    format!(
                        "{kind} {who} {:+.1}",
                        (*t - start).num_seconds() as f64 / 60.0
                    )
                })
                .collect();
            result.misses.push(format!(
                "{} at {} +{}min ({:?} {}, {} customers, {} evidence: {}): believed {:?}",
                f.id,
                f.device,
                CHECKPOINTS_MIN[cp.slot],
                f.device_kind,
                f.cause,
                f.customers,
                ev.len(),
                pieces.join(", "),
                instead
            ));
            for line in engine.describe_chain(f.device_idx) {
                result.misses.push(format!("      {line}"));
            }
        }
    };
    // The log as `serve` keeps it: the storm's events, and a tick whenever a minute
    // passes without one (the live ticker's rule), up to the last checkpoint.
    let mut log: Vec<Event> = Vec::with_capacity(storm.events.len());
    let mut clock: Option<DateTime<Utc>> = None;
    let tick_until = |log: &mut Vec<Event>, clock: &mut Option<DateTime<Utc>>, until| {
        while let Some(next) = clock.map(|c| c + Duration::minutes(1)) {
            if next >= until {
                break;
            }
            log.push(Event {
                at: next,
                kind: EventKind::Tick,
            });
            *clock = Some(next);
        }
    };
    for e in &storm.events {
        tick_until(&mut log, &mut clock, e.at);
        log.push(e.clone());
        clock = Some(e.at);
    }
    if let Some(last) = checkpoints.last() {
        tick_until(&mut log, &mut clock, last.at + Duration::minutes(1));
    }
    for e in &log {
        while next_cp < checkpoints.len() && checkpoints[next_cp].at < e.at {
            evaluate(&engine, &checkpoints[next_cp], &mut result);
            next_cp += 1;
        }
        let started = Instant::now();
        let outputs = engine.apply(e);
        engine_time += started.elapsed();
        for o in outputs {
            let Some(outage) = o.outage().and_then(|n| engine.outage(n)) else {
                continue;
            };
            if !outage.is_active() {
                continue;
            }
            if let Some(ks) = fault_devices.get(outage.device.as_str()) {
                for &k in ks {
                    if first_correct[k].is_none() && o.at >= truth.faults[k].started_at {
                        first_correct[k] = Some(o.at);
                    }
                }
            }
        }
    }
    while next_cp < checkpoints.len() {
        evaluate(&engine, &checkpoints[next_cp], &mut result);
        next_cp += 1;
    }
    let false_at_end: Vec<String> = engine
        .active_outages()
        .filter(|o| o.device_kind.is_some() && !fault_devices.contains_key(o.device.as_str()))
        .map(|o| {
            let chain = o
                .site
                .and_then(|s| match s {
                    crate::inference::Site::Device(d) => Some(engine.describe_chain(d).join(" / ")),
                    crate::inference::Site::Point(_) => None,
                })
                .unwrap_or_default();
            format!("{} ({} customers) {chain}", o.device, o.customers_out)
        })
        .collect();
    result.false_outages_at_end = false_at_end.len();
    for f in false_at_end {
        result.misses.push(format!("false outage at the end: {f}"));
    }
    result.minutes_to_first_correct = first_correct
        .iter()
        .enumerate()
        .filter_map(|(k, t)| {
            t.map(|t| (t - truth.faults[k].started_at).num_seconds() as f64 / 60.0)
        })
        .collect();
    result.events = storm.events.len();
    result.engine_seconds = engine_time.as_secs_f64();
    result
}

/// The lowest device whose customers include every piece of evidence.
fn oracle_pick(net: &Network, evidence: &[Option<CustomerIdx>]) -> Option<DeviceIdx> {
    let customers: Vec<CustomerIdx> = evidence.iter().flatten().copied().collect();
    let first = *customers.first()?;
    net.chain_of_customer(first).find(|&d| {
        customers
            .iter()
            .all(|&c| net.chain_of_customer(c).any(|x| x == d))
    })
}

/// Service figures of one run.
#[derive(Debug, Default, Clone, Copy)]
pub struct ServiceFigures {
    /// Orders counted: all but those whose outage went away without a crew (merged
    /// into another, withdrawn, or power back before the target).
    pub orders: usize,
    /// Of them, a crew on site by `arrive_by`.
    pub on_site_in_time: usize,
    /// Of them, restored by `restore_by`.
    pub restored_in_time: usize,
    /// Sum of minutes from the outage being known to a crew on site.
    pub arrive_min_sum: f64,
    /// Orders a crew reached.
    pub arrived: usize,
}

impl ServiceFigures {
    /// Add another run's figures to these.
    pub fn add(&mut self, o: &Self) {
        self.orders += o.orders;
        self.on_site_in_time += o.on_site_in_time;
        self.restored_in_time += o.restored_in_time;
        self.arrive_min_sum += o.arrive_min_sum;
        self.arrived += o.arrived;
    }
}

/// How the orders of a finished run did against their targets.
pub fn service_figures(engine: &Engine) -> ServiceFigures {
    let mut f = ServiceFigures::default();
    for o in engine.dispatch().orders() {
        // An order whose outage went away (merged, withdrawn, or power back by
        // itself) before its target, without a crew, never needed one.
        let reached = o.life.first_time(OrderState::OnSite).is_some();
        let ended = o
            .life
            .first_time(OrderState::Closed)
            .or_else(|| o.life.first_time(OrderState::Cancelled));
        if !reached && ended.is_some_and(|at| at <= o.arrive_by) {
            continue;
        }
        if !reached && o.state() == OrderState::Cancelled {
            continue;
        }
        f.orders += 1;
        if let Some(at) = o.life.first_time(OrderState::OnSite) {
            f.arrived += 1;
            f.arrive_min_sum += (at - o.started_at).num_seconds() as f64 / 60.0;
            if at <= o.arrive_by {
                f.on_site_in_time += 1;
            }
        }
        if o.life
            .first_time(OrderState::Restored)
            .is_some_and(|at| at <= o.restore_by)
        {
            f.restored_in_time += 1;
        }
    }
    f
}
