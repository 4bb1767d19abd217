//! Simulated crews, and a storm played end to end with them in the loop.
//!
//! A roster of crews starts at the depots (or, where the network file has none, at the
//! feeder heads: crews work out of the substations). Each crew answers what the engine
//! gives it, one step at a time, like a crew with a phone:
//! - assigned → acknowledges after a log-normal delay (median 1.5 min), or declines
//!   (`decline_share`);
//! - acknowledged → sets out half a minute later;
//! - en route → drives at the travel model's speed times a log-normal factor (roads,
//!   traffic, finding the pole), sending its position every few minutes;
//! - on site → repairs in a log-normal time around the typical repair time of the job,
//!   then reports `restored`, or `cannot_restore` (`cannot_restore_share`).
//!
//! Every draw comes from a generator seeded by (seed, order, crew, step), so the same
//! order given to the same crew behaves the same whichever policy gave it: comparisons
//! between assignment policies are on equal terms. A step is sent only if the engine
//! would accept it at that moment (an order taken away meanwhile is left alone), so the
//! log holds only valid actions, and replaying it gives the same run.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::normal;
use crate::dispatch::travel::TravelModel;
use crate::engine::{Engine, EngineOptions, Output};
use crate::events::{CrewAction, CrewActionKind, CrewPosition, CrewUpdate, Event, EventKind};
use crate::network::{FastSet, Network};
use crate::orders::OrderState;

/// How simulated crews behave.
#[derive(Debug, Clone, Serialize)]
pub struct CrewOptions {
    /// Crews on shift.
    pub crews: usize,
    /// Seed for their behaviour.
    pub seed: u64,
    /// Share of assignments declined.
    pub decline_share: f64,
    /// Share of repairs that end in `cannot_restore`.
    pub cannot_restore_share: f64,
    /// Median minutes to acknowledge.
    pub ack_median_min: f64,
    /// Log-normal shape of real driving time against the model's.
    pub drive_sigma: f64,
    /// Log-normal shape of repair time against the typical one.
    pub repair_sigma: f64,
    /// Minutes between position reports while driving.
    pub position_every_min: f64,
    /// Every delay is multiplied by this (the demo plays crews faster than real time).
    pub time_scale: f64,
}

impl Default for CrewOptions {
    fn default() -> Self {
        Self {
            crews: 10,
            seed: 1,
            decline_share: 0.05,
            cannot_restore_share: 0.03,
            ack_median_min: 1.5,
            drive_sigma: 0.25,
            repair_sigma: 0.4,
            position_every_min: 5.0,
            time_scale: 1.0,
        }
    }
}

/// The roster: `crew` events at `at`, spread over the depots (or feeder heads).
/// Every fifth crew is a meter crew; the others do lines and cables, one in three
/// meters as well.
pub fn roster(net: &Network, options: &CrewOptions, at: DateTime<Utc>) -> Vec<Event> {
    let mut bases: Vec<(f64, f64)> = net.depots().iter().map(|d| (d.lon, d.lat)).collect();
    if bases.is_empty() {
        bases = net.feeder_heads().map(|h| h.location()).collect();
    }
    if bases.is_empty() {
        return Vec::new();
    }
    (0..options.crews)
        .map(|i| {
            let (lon, lat) = bases[i % bases.len()];
            let skills: &[&str] = if i % 5 == 4 {
                &["meter"]
            } else if i % 3 == 0 {
                &["line", "cable", "meter"]
            } else {
                &["line", "cable"]
            };
            Event {
                at,
                kind: EventKind::Crew(CrewUpdate {
                    id: format!("CREW-{}", i + 1),
                    name: Some(format!("Crew {}", i + 1)),
                    skills: skills.iter().map(|s| s.to_string()).collect(),
                    lon: Some(lon),
                    lat: Some(lat),
                    on_shift: true,
                }),
            }
        })
        .collect()
}

/// What a simulated crew needs to know about its order.
#[derive(Debug, Clone)]
pub struct OrderView {
    /// The order's number.
    pub number: u64,
    /// Steps in its history so far (each new step is answered once).
    pub steps: usize,
    /// Its state.
    pub state: OrderState,
    /// The crew on it.
    pub crew: String,
    /// Where it is.
    pub lon: f64,
    /// Where it is.
    pub lat: f64,
    /// Its zone (sets the driving speed).
    pub zone: crate::network::ZoneKind,
    /// Typical repair minutes for the job.
    pub repair_min: f64,
    /// Where the crew is now.
    pub crew_position: Option<(f64, f64)>,
}

/// Crews answering the engine: see the module docs.
#[derive(Debug, Clone)]
pub struct CrewSim {
    options: CrewOptions,
    travel: TravelModel,
    repair: crate::dispatch::RepairTimes,
    queue: BTreeMap<(DateTime<Utc>, u64), Event>,
    counter: u64,
    /// (order, history length) already answered.
    answered: FastSet<(u64, usize)>,
    /// Meters whose last gasp was heard and that have not said "power back".
    gasped: FastSet<String>,
}

/// Share of "power back" messages lost on the way.
const AMI_LOSS: f64 = 0.2;

fn minutes(x: f64) -> Duration {
    Duration::seconds((x * 60.0).round().max(1.0) as i64)
}

impl CrewSim {
    /// Crews behaving per `options`, on the engine's travel and repair model.
    pub fn new(options: CrewOptions, engine: &EngineOptions) -> Self {
        Self {
            options,
            travel: engine.dispatch.travel,
            repair: engine.dispatch.repair,
            queue: BTreeMap::new(),
            counter: 0,
            answered: FastSet::default(),
            gasped: FastSet::default(),
        }
    }

    fn rng(&self, order: u64, crew: &str, step: usize) -> ChaCha8Rng {
        let mut h: u64 = self.options.seed ^ 0x9e37_79b9_7f4a_7c15;
        for b in crew
            .bytes()
            .chain(order.to_le_bytes())
            .chain((step as u64).to_le_bytes())
        {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        ChaCha8Rng::seed_from_u64(h)
    }

    fn schedule(&mut self, at: DateTime<Utc>, kind: EventKind) {
        self.counter += 1;
        self.queue.insert((at, self.counter), Event { at, kind });
    }

    /// Look at what the engine just said and plan each crew's next step.
    pub fn react(&mut self, engine: &Engine, outputs: &[Output]) {
        for out in outputs {
            let Some(order) = out.order().and_then(|n| engine.dispatch().order(n)) else {
                continue;
            };
            let Some(crew) = order.crew() else {
                continue;
            };
            let view = OrderView {
                number: order.number,
                steps: order.life.history().len(),
                state: order.state(),
                crew: crew.to_owned(),
                lon: order.lon,
                lat: order.lat,
                zone: order.zone,
                repair_min: self.repair.minutes(order.job) as f64,
                crew_position: engine.dispatch().crew(crew).and_then(|c| c.position),
            };
            self.react_to(&view, out.at);
        }
    }

    /// Plan the next step of the crew on one order, as it stands at `now`.
    pub fn react_to(&mut self, o: &OrderView, now: DateTime<Utc>) {
        if !self.answered.insert((o.number, o.steps)) {
            return;
        }
        let scale = self.options.time_scale;
        let later = |m: f64| now + minutes(m * scale);
        let mut rng = self.rng(o.number, &o.crew, o.steps);
        let act = |action| {
            EventKind::CrewAction(CrewAction {
                crew: o.crew.clone(),
                order: crate::dispatch::order_name(o.number),
                action,
                note: None,
                cause: None,
            })
        };
        match o.state {
            OrderState::Assigned => {
                let delay = self.options.ack_median_min * (0.6 * normal(&mut rng)).exp();
                let action = if rng.random_bool(self.options.decline_share) {
                    CrewActionKind::Decline
                } else {
                    CrewActionKind::Acknowledge
                };
                self.schedule(later(delay), act(action));
            }
            OrderState::Acknowledged => {
                self.schedule(later(0.5), act(CrewActionKind::EnRoute));
            }
            OrderState::EnRoute => {
                let Some((lon, lat)) = o.crew_position else {
                    return;
                };
                let place = self.travel.place(o.lon, o.lat, o.zone);
                let drive = self.travel.drive_min(lon, lat, &place)
                    * (self.options.drive_sigma * normal(&mut rng)).exp();
                let every = self.options.position_every_min.max(1.0);
                let position = |f: f64| {
                    EventKind::CrewPosition(CrewPosition {
                        crew: o.crew.clone(),
                        lon: lon + (o.lon - lon) * f,
                        lat: lat + (o.lat - lat) * f,
                    })
                };
                let mut t = every;
                while t < drive {
                    self.schedule(later(t), position(t / drive));
                    t += every;
                }
                self.schedule(later(drive), position(1.0));
                self.schedule(later(drive), act(CrewActionKind::OnSite));
            }
            OrderState::OnSite => {
                let repair =
                    0.9 * o.repair_min * (self.options.repair_sigma * normal(&mut rng)).exp();
                let action = if rng.random_bool(self.options.cannot_restore_share) {
                    CrewActionKind::CannotRestore
                } else {
                    CrewActionKind::Restored
                };
                self.schedule(later(repair), act(action));
            }
            _ => {}
        }
    }

    /// Watch an event about to be applied: meters that sent a last gasp, and a crew's
    /// `restored`, after which those meters below the order's device say "power back"
    /// within a minute (a share lost, as in the storm).
    pub fn observe(&mut self, engine: &Engine, event: &Event) {
        match &event.kind {
            EventKind::Ami(m) if m.state == crate::events::PowerState::Off => {
                self.heard_gasp(&m.customer);
            }
            EventKind::CrewAction(a) if a.action == CrewActionKind::Restored => {
                if let Some(order) = crate::dispatch::parse_order_name(&a.order)
                    .and_then(|n| engine.dispatch().order(n))
                {
                    let device = order.device.clone();
                    // Meters still below another open device stay dark.
                    let net = engine.network();
                    let still_dark: FastSet<String> = engine
                        .active_outages()
                        .filter(|o| o.number != order.outage)
                        .filter_map(|o| net.device_by_id(&o.device))
                        .flat_map(|d| net.customers_below(d.idx()))
                        .map(|c| net.customer(c).id.clone())
                        .collect();
                    self.power_back(net, order.number, &a.crew, &device, &still_dark, event.at);
                }
            }
            _ => {}
        }
    }

    /// A meter's last gasp was heard.
    pub fn heard_gasp(&mut self, customer: &str) {
        self.gasped.insert(customer.to_owned());
    }

    /// A crew restored `device` (order `number`) at `at`: the meters below it that sent
    /// a last gasp, and are not `still_dark` (below another open device), say "power
    /// back" within a minute, a share of the messages lost.
    pub fn power_back(
        &mut self,
        net: &Network,
        number: u64,
        crew: &str,
        device: &str,
        still_dark: &FastSet<String>,
        at: DateTime<Utc>,
    ) {
        let below: Vec<String> = match net.device_by_id(device) {
            Some(d) => net
                .customers_below(d.idx())
                .into_iter()
                .map(|c| net.customer(c).id.clone())
                .collect(),
            None => vec![device.to_owned()],
        };
        let mut rng = self.rng(number, crew, usize::MAX);
        for customer in below {
            if still_dark.contains(&customer) {
                continue;
            }
            if self.gasped.remove(&customer) && !rng.random_bool(AMI_LOSS) {
                let delay = rng.random_range(5.0..60.0) / 60.0;
                self.schedule(
                    at + minutes(delay * self.options.time_scale),
                    EventKind::Ami(crate::events::AmiMessage {
                        customer,
                        state: crate::events::PowerState::On,
                    }),
                );
            }
        }
    }

    /// When the next planned step is due.
    pub fn next_at(&self) -> Option<DateTime<Utc>> {
        self.queue.keys().next().map(|(at, _)| *at)
    }

    /// Take the next planned step.
    pub fn pop(&mut self) -> Option<Event> {
        self.queue.pop_first().map(|(_, e)| e)
    }
}

/// A storm played with crews in the loop.
#[derive(Debug)]
pub struct ClosedLoop {
    /// Every event applied, in order: roster, storm, crews' steps, ticks. Replaying it
    /// gives the same run.
    pub events: Vec<Event>,
    /// The engine at the end.
    pub engine: Engine,
    /// The stream the run produced, one message per line (as `replay` writes it).
    pub stream: Vec<String>,
}

/// A refused crew action becomes the crew's position report (or a tick if the crew has
/// no known position).
fn still_here(engine: &Engine, e: Event) -> Event {
    let kind = match &e.kind {
        EventKind::CrewAction(a) => engine
            .dispatch()
            .crew(&a.crew)
            .and_then(|c| c.position)
            .map(|(lon, lat)| {
                EventKind::CrewPosition(CrewPosition {
                    crew: a.crew.clone(),
                    lon,
                    lat,
                })
            }),
        _ => None,
    };
    Event {
        at: e.at,
        kind: kind.unwrap_or(EventKind::Tick),
    }
}

/// Play `storm` on `net` with simulated crews answering the engine, until the storm's
/// events are done and every crew's work with them (or `horizon` after the last storm
/// event). When nothing happens for a minute, a `tick` moves the clock, as `serve` does,
/// so acknowledgement timers and escalations fire on time.
pub fn run(
    net: &Network,
    storm: &[Event],
    crews: &CrewOptions,
    engine_options: EngineOptions,
    horizon: Duration,
) -> ClosedLoop {
    let mut engine = Engine::new(net.clone(), engine_options.clone());
    let mut sim = CrewSim::new(crews.clone(), &engine_options);
    let start = storm.first().map_or_else(Utc::now, |e| e.at) - Duration::minutes(1);
    let end = storm.last().map_or(start, |e| e.at) + horizon;
    let mut events = Vec::with_capacity(storm.len() * 2);
    let mut stream: Vec<String> = Vec::new();
    let mut apply = |engine: &mut Engine, sim: &mut CrewSim, e: Event, events: &mut Vec<Event>| {
        sim.observe(engine, &e);
        let out = engine.apply(&e);
        stream.extend(out.iter().map(Output::to_json));
        sim.react(engine, &out);
        events.push(e);
    };
    for e in roster(net, crews, start) {
        apply(&mut engine, &mut sim, e, &mut events);
    }
    let mut storm = storm.iter().peekable();
    let mut clock = start;
    loop {
        let next_storm = storm.peek().map(|e| e.at);
        let next_crew = sim.next_at();
        let next = match (next_storm, next_crew) {
            (Some(s), Some(c)) => s.min(c),
            (Some(s), None) => s,
            (None, Some(c)) => c,
            (None, None) => break,
        };
        if next > end {
            break;
        }
        if next > clock + Duration::minutes(1) {
            clock += Duration::minutes(1);
            let tick = Event {
                at: clock,
                kind: EventKind::Tick,
            };
            apply(&mut engine, &mut sim, tick, &mut events);
            continue;
        }
        let event = if next_storm == Some(next) {
            storm.next().cloned()
        } else {
            sim.pop().map(|e| {
                if engine.check(&e).is_ok() {
                    e
                } else {
                    // A step that no longer fits (the order went to another crew while
                    // this one dawdled): the phone is refused, and its crew is heard
                    // from, as its position.
                    still_here(&engine, e)
                }
            })
        };
        if let Some(e) = event {
            clock = clock.max(e.at);
            apply(&mut engine, &mut sim, e, &mut events);
        }
    }
    let tail = engine.flush();
    stream.extend(tail.iter().map(Output::to_json));
    ClosedLoop {
        events,
        engine,
        stream,
    }
}
