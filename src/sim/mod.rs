//! The storm simulator: faults on a network, and the calls, last gasps, SCADA changes
//! and noise they cause, with the ground truth to score an analyzer against.
//!
//! The physics, each drawn from a seeded ChaCha generator so a seed gives the same
//! storm on every machine:
//! - **Faults** start uniformly over the storm. Most hit a line or cable segment
//!   (chosen with probability proportional to its length: long overhead spans catch the
//!   trees) and open the first protective device above it; a share hit one
//!   distribution transformer; a share are **nested** below a device that is already
//!   open (they show only once the upper one is restored); a share start at the same
//!   minute as another (**simultaneous**).
//! - **Calls**: every customer darkened calls with probability `call_rate`, after a
//!   log-normal delay (median `call_delay_median_min`), unless power is back first.
//!   An aggregate service point's customers call one by one.
//! - **AMI**: a share of meters are smart; a dark one sends its last gasp within
//!   30 s, and "power back" within a minute of restoration; a share of those messages
//!   are lost.
//! - **SCADA**: a breaker SCADA watches (all of them by default, `scada_share`)
//!   reports open at the fault and closed at the restoration.
//! - **Restorations** after a repair time drawn per device kind; a nested fault is
//!   repaired after the one above it.
//! - **Noise**: calls from customers who have power (their own breaker, a flicker),
//!   failed meters reported by their customers, and `wire_down` reports at some
//!   segment faults.
//!
//! Pure: no I/O; [`Storm::write`] is the only function that writes, and only where it
//! is told.

pub mod command;
pub mod crews;
pub mod score;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::events::{
    AmiMessage, Event, EventKind, PowerState, Problem, Report, ReportPlace, ReportSource,
    ScadaChange, SwitchState,
};
use crate::network::{CustomerIdx, DeviceIdx, DeviceKind, Network};

/// How to make a storm.
#[derive(Debug, Clone, Serialize)]
pub struct StormOptions {
    /// The generator's seed.
    pub seed: u64,
    /// Faults on the network.
    pub faults: usize,
    /// Share of dark customers who call.
    pub call_rate: f64,
    /// Median delay before a dark customer calls, minutes.
    pub call_delay_median_min: f64,
    /// Log-normal shape of the call delay.
    pub call_delay_sigma: f64,
    /// Share of meters that are smart (send last gasps).
    pub ami_share: f64,
    /// Share of AMI messages lost on the way.
    pub ami_loss: f64,
    /// Unrelated calls per hour over the whole network.
    pub noise_per_hour: f64,
    /// Failed meters reported during the storm.
    pub meter_failures: usize,
    /// Share of faults that hit one distribution transformer only.
    pub transformer_share: f64,
    /// Share of faults nested below a device that is already open.
    pub nested_share: f64,
    /// Share of faults that start at the same minute as another.
    pub simultaneous_share: f64,
    /// Share of segment faults that bring a `wire_down` report.
    pub wire_down_share: f64,
    /// When the storm starts.
    pub start: DateTime<Utc>,
    /// Over how long faults start, minutes.
    pub duration_min: i64,
    /// Whether devices are repaired (restorations) during the simulated time.
    pub restore: bool,
    /// Share of breakers (feeder heads included) that SCADA watches: the others trip
    /// and close without a word, and only their customers tell.
    pub scada_share: f64,
}

impl Default for StormOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            faults: 20,
            call_rate: 0.10,
            call_delay_median_min: 10.0,
            call_delay_sigma: 1.0,
            ami_share: 0.3,
            ami_loss: 0.2,
            noise_per_hour: 6.0,
            meter_failures: 3,
            transformer_share: 0.2,
            nested_share: 0.1,
            simultaneous_share: 0.1,
            wire_down_share: 0.1,
            start: DateTime::from_timestamp(1_783_994_400, 0).unwrap_or_default(), // 2026-07-14T02:00:00Z
            duration_min: 180,
            restore: true,
            scada_share: 1.0,
        }
    }
}

/// One simulated fault: the truth an analyzer is scored against.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    /// `F-<n>`.
    pub id: String,
    /// The device that opened.
    pub device: String,
    /// Its kind.
    pub device_kind: DeviceKind,
    /// When it opened.
    pub started_at: DateTime<Utc>,
    /// When it was repaired (none if after the simulated time).
    pub restored_at: Option<DateTime<Utc>>,
    /// Customers below the device.
    pub customers: u64,
    /// `segment`, `transformer` or `nested`.
    pub cause: &'static str,
    /// For a nested fault, the fault above it.
    pub nested_in: Option<String>,
    #[serde(skip)]
    pub(crate) device_idx: DeviceIdx,
}

/// Which fault (or none: noise) each piece of evidence belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct Attribution {
    /// Index into [`Truth::faults`], or `None` for noise.
    pub fault: Option<usize>,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The customer it came from (none for SCADA).
    #[serde(skip)]
    pub customer: Option<CustomerIdx>,
    /// `call`, `ami_off`, `scada`.
    pub kind: &'static str,
}

/// The ground truth of a storm.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    /// The options it was made with.
    pub options: StormOptions,
    /// The faults.
    pub faults: Vec<Fault>,
    /// Evidence (dark calls, last gasps, SCADA opens) and whose it is, in time order.
    pub evidence: Vec<Attribution>,
    /// Noise calls from customers with power.
    pub noise_calls: usize,
}

/// A generated storm: events in time order, and the truth.
#[derive(Debug, Clone)]
pub struct Storm {
    /// The events, sorted by time.
    pub events: Vec<Event>,
    /// What really happened.
    pub truth: Truth,
}

/// A standard normal draw (Box–Muller).
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn lognormal_min(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

fn secs(x: f64) -> Duration {
    Duration::seconds(x.round().max(0.0) as i64)
}

/// Repair time median per device kind, minutes.
fn repair_median_min(kind: DeviceKind) -> f64 {
    match kind {
        DeviceKind::Breaker => 120.0,
        DeviceKind::Recloser | DeviceKind::Sectionalizer => 150.0,
        DeviceKind::Fuse => 100.0,
        DeviceKind::Transformer => 200.0,
    }
}

struct Builder<'a> {
    net: &'a Network,
    rng: ChaCha8Rng,
    events: Vec<(DateTime<Utc>, u64, Event)>,
    evidence: Vec<Attribution>,
    order: u64,
    report_no: u64,
    /// Report ids carry the seed, so storms of different seeds never share an id.
    seed: u64,
}

impl Builder<'_> {
    fn push(&mut self, at: DateTime<Utc>, kind: EventKind) {
        self.order += 1;
        self.events.push((at, self.order, Event { at, kind }));
    }

    fn report(
        &mut self,
        at: DateTime<Utc>,
        c: CustomerIdx,
        problem: Problem,
        place: Option<(f64, f64)>,
    ) {
        self.report_no += 1;
        let id = format!("SIM-{}-R-{}", self.seed, self.report_no);
        let place = match place {
            Some((lon, lat)) => ReportPlace::Location { lon, lat },
            None => ReportPlace::Customer {
                customer: self.net.customer(c).id.clone(),
            },
        };
        let source = if self.rng.random_bool(0.8) {
            ReportSource::Call
        } else {
            ReportSource::App
        };
        self.push(
            at,
            EventKind::Report(Report {
                id,
                place,
                source,
                problem,
                note: None,
            }),
        );
    }
}

/// A fault's dark span over one customer: start, end (if repaired), fault index.
type Span = (DateTime<Utc>, Option<DateTime<Utc>>, usize);

/// Make a storm on `net`.
pub fn generate(net: &Network, options: &StormOptions) -> Storm {
    let mut b = Builder {
        net,
        rng: ChaCha8Rng::seed_from_u64(options.seed),
        events: Vec::new(),
        evidence: Vec::new(),
        order: 0,
        report_no: 0,
        seed: options.seed,
    };
    let faults = choose_faults(&mut b, options);
    // Which breakers SCADA watches: drawn from a generator of their own, so that the
    // rest of a storm is the same whatever the share.
    let watched: Vec<bool> = {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ 0x5CADA);
        let share = options.scada_share.clamp(0.0, 1.0);
        (0..net.device_count())
            .map(|_| rng.random_bool(share))
            .collect()
    };

    // Dark intervals per service point: the union of the faults above it.
    let mut dark: BTreeMap<CustomerIdx, Vec<Span>> = BTreeMap::new();
    for (k, f) in faults.iter().enumerate() {
        for c in net.customers_below(f.device_idx) {
            dark.entry(c)
                .or_default()
                .push((f.started_at, f.restored_at, k));
        }
        if f.device_kind == DeviceKind::Breaker && watched[f.device_idx.index()] {
            b.push(
                f.started_at,
                EventKind::Scada(ScadaChange {
                    device: f.device.clone(),
                    state: SwitchState::Open,
                }),
            );
            b.evidence.push(Attribution {
                fault: Some(k),
                at: f.started_at,
                customer: None,
                kind: "scada",
            });
            if let Some(r) = f.restored_at {
                b.push(
                    r,
                    EventKind::Scada(ScadaChange {
                        device: f.device.clone(),
                        state: SwitchState::Closed,
                    }),
                );
            }
        }
    }
    let mut smart: Vec<bool> = Vec::with_capacity(net.customers().len());
    for _ in net.customer_indices() {
        smart.push(b.rng.random_bool(options.ami_share.clamp(0.0, 1.0)));
    }
    for (c, spans) in dark {
        let sp = net.customer(c);
        let is_smart = smart[c.index()];
        // Walk the customer's timeline: at each moment the topmost open fault above it
        // owns what it says. When the owner changes while it stays dark (an upper fault
        // repaired, a nested one still open) the customer calls again, for the new owner.
        let mut times: Vec<DateTime<Utc>> = spans
            .iter()
            .flat_map(|s| [Some(s.0), s.1])
            .flatten()
            .collect();
        times.sort();
        times.dedup();
        let owner_at = |t: DateTime<Utc>| {
            spans
                .iter()
                .filter(|(s, e, _)| *s <= t && e.is_none_or(|e| t < e))
                .min_by_key(|(_, _, k)| (net.device(faults[*k].device_idx).depth(), *k))
                .map(|x| x.2)
        };
        let mut owner: Option<usize> = None;
        let mut gasp_sent = false;
        for (i, &t) in times.iter().enumerate() {
            let now = owner_at(t);
            if now == owner {
                continue;
            }
            let stop = times[i + 1..]
                .iter()
                .copied()
                .find(|&u| owner_at(u).is_none());
            match (owner, now) {
                (_, Some(k)) => {
                    for _ in 0..sp.customers.max(1) {
                        if b.rng.random_bool(options.call_rate.clamp(0.0, 1.0)) {
                            let delay = lognormal_min(
                                &mut b.rng,
                                options.call_delay_median_min,
                                options.call_delay_sigma,
                            );
                            let at = t + secs(delay * 60.0);
                            if stop.is_none_or(|s| at < s) {
                                let problem = if b.rng.random_bool(0.9) {
                                    Problem::NoPower
                                } else {
                                    Problem::PartialPower
                                };
                                b.report(at, c, problem, None);
                                b.evidence.push(Attribution {
                                    fault: Some(k),
                                    at,
                                    customer: Some(c),
                                    kind: "call",
                                });
                            }
                        }
                    }
                    if is_smart && owner.is_none() {
                        gasp_sent = b.rng.random_bool(1.0 - options.ami_loss);
                        if gasp_sent {
                            let at = t + secs(b.rng.random_range(1.0..30.0));
                            b.push(
                                at,
                                EventKind::Ami(AmiMessage {
                                    customer: sp.id.clone(),
                                    state: PowerState::Off,
                                }),
                            );
                            b.evidence.push(Attribution {
                                fault: Some(k),
                                at,
                                customer: Some(c),
                                kind: "ami_off",
                            });
                        }
                    } else if is_smart && gasp_sent {
                        // The meter's earlier gasp now tells of the fault that still holds it.
                        b.evidence.push(Attribution {
                            fault: Some(k),
                            at: t,
                            customer: Some(c),
                            kind: "ami_off",
                        });
                    }
                }
                (Some(_), None) => {
                    // A meter that is dark again by the time it would speak says nothing.
                    let dark_again = times[i + 1..]
                        .iter()
                        .copied()
                        .find(|&u| owner_at(u).is_some());
                    if is_smart && b.rng.random_bool(1.0 - options.ami_loss) {
                        let at = t + secs(b.rng.random_range(1.0..60.0));
                        if dark_again.is_none_or(|u| at < u) {
                            b.push(
                                at,
                                EventKind::Ami(AmiMessage {
                                    customer: sp.id.clone(),
                                    state: PowerState::On,
                                }),
                            );
                        }
                    }
                    gasp_sent = false;
                }
                (None, None) => {}
            }
            owner = now;
        }
    }
    // Wire-down reports at some segment faults, from where the segment is.
    for f in faults.iter().filter(|f| f.cause == "segment") {
        if b.rng.random_bool(options.wire_down_share) {
            if let Some(c) = net.customers_below(f.device_idx).first().copied() {
                let sp = net.customer(c);
                let at = f.started_at + secs(b.rng.random_range(120.0..1200.0));
                b.report(at, c, Problem::WireDown, Some((sp.lon, sp.lat)));
            }
        }
    }
    // Noise: calls from customers with power, and failed meters.
    let hours = options.duration_min as f64 / 60.0 + 1.0;
    let noise = poisson(&mut b.rng, options.noise_per_hour * hours);
    let n_customers = net.customers().len();
    let mut noise_calls = 0;
    if n_customers > 0 {
        for _ in 0..noise {
            let c = CustomerIdx(b.rng.random_range(0..n_customers) as u32);
            let at = options.start + secs(b.rng.random_range(0.0..hours * 3600.0));
            let roll: f64 = b.rng.random();
            let problem = if roll < 0.7 {
                Problem::NoPower
            } else if roll < 0.9 {
                Problem::Flicker
            } else {
                Problem::PartialPower
            };
            b.report(at, c, problem, None);
            if matches!(problem, Problem::NoPower | Problem::PartialPower) {
                b.evidence.push(Attribution {
                    fault: None,
                    at,
                    customer: Some(c),
                    kind: "call",
                });
            }
            noise_calls += 1;
        }
        for _ in 0..options.meter_failures {
            let c = CustomerIdx(b.rng.random_range(0..n_customers) as u32);
            let at = options.start + secs(b.rng.random_range(0.0..hours * 3600.0));
            b.report(at, c, Problem::Meter, None);
        }
    }
    b.events.sort_by_key(|(at, order, _)| (*at, *order));
    b.evidence.sort_by_key(|a| a.at);
    Storm {
        events: b.events.into_iter().map(|(_, _, e)| e).collect(),
        truth: Truth {
            options: options.clone(),
            faults,
            evidence: b.evidence,
            noise_calls,
        },
    }
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> usize {
    // Knuth for small means, normal approximation above.
    if mean <= 0.0 {
        return 0;
    }
    if mean > 50.0 {
        return (mean + mean.sqrt() * normal(rng)).round().max(0.0) as usize;
    }
    let limit = (-mean).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.random::<f64>();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

fn choose_faults(b: &mut Builder<'_>, options: &StormOptions) -> Vec<Fault> {
    let net = b.net;
    let segments = net.segments();
    let total_len: f64 = segments.iter().map(|s| s.length_m.max(1.0)).sum();
    let transformers: Vec<DeviceIdx> = net
        .devices()
        .filter(|d| d.kind() == DeviceKind::Transformer && d.customers_below() > 0)
        .map(|d| d.idx())
        .collect();
    let mut faults: Vec<Fault> = Vec::new();
    let mut attempts = 0;
    while faults.len() < options.faults && attempts < options.faults * 50 {
        attempts += 1;
        let roll: f64 = b.rng.random();
        let nested_parent = if roll < options.nested_share && !faults.is_empty() {
            let k = b.rng.random_range(0..faults.len());
            Some(k)
        } else {
            None
        };
        let (device, cause) = if let Some(k) = nested_parent {
            // A device strictly below the parent fault's device.
            let parent = faults[k].device_idx;
            let below: Vec<DeviceIdx> = net
                .devices()
                .filter(|d| {
                    d.idx() != parent
                        && d.customers_below() > 0
                        && net.is_at_or_above(parent, d.idx())
                })
                .map(|d| d.idx())
                .collect();
            if below.is_empty() {
                continue;
            }
            (below[b.rng.random_range(0..below.len())], "nested")
        } else if b.rng.random_bool(options.transformer_share) && !transformers.is_empty() {
            (
                transformers[b.rng.random_range(0..transformers.len())],
                "transformer",
            )
        } else if !segments.is_empty() {
            let mut x = b.rng.random_range(0.0..total_len);
            let mut pick = segments.len() - 1;
            for (i, s) in segments.iter().enumerate() {
                x -= s.length_m.max(1.0);
                if x <= 0.0 {
                    pick = i;
                    break;
                }
            }
            (segments[pick].device, "segment")
        } else {
            break;
        };
        let view = net.device(device);
        if view.customers_below() == 0 {
            continue;
        }
        // One fault per device at a time.
        if faults.iter().any(|f| f.device_idx == device) {
            continue;
        }
        let span = options.duration_min.max(1) as f64 * 60.0;
        let mut started_at = options.start + secs(b.rng.random_range(0.0..span));
        if nested_parent.is_none()
            && !faults.is_empty()
            && b.rng.random_bool(options.simultaneous_share)
        {
            let k = b.rng.random_range(0..faults.len());
            started_at = faults[k].started_at + secs(b.rng.random_range(0.0..50.0));
        }
        let repair = lognormal_min(&mut b.rng, repair_median_min(view.kind()), 0.5);
        let mut restored_at = started_at + secs(repair * 60.0);
        let nested_in = nested_parent.map(|k| {
            let parent = &faults[k];
            // Nested: happens while the parent is open, repaired after it.
            started_at = parent.started_at + secs(b.rng.random_range(0.0..300.0));
            if let Some(pr) = parent.restored_at {
                restored_at = restored_at.max(pr + secs(b.rng.random_range(600.0..3600.0)));
            }
            parent.id.clone()
        });
        faults.push(Fault {
            id: format!("F-{}", faults.len() + 1),
            device: view.id().to_owned(),
            device_kind: view.kind(),
            started_at,
            restored_at: options.restore.then_some(restored_at),
            customers: view.customers_below(),
            cause,
            nested_in,
            device_idx: device,
        });
    }
    faults
}

impl Storm {
    /// Write the events as NDJSON and the truth as JSON.
    pub fn write(
        &self,
        events: &std::path::Path,
        truth: Option<&std::path::Path>,
    ) -> std::io::Result<()> {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(events)?);
        for e in &self.events {
            writeln!(w, "{}", e.to_json())?;
        }
        w.flush()?;
        if let Some(path) = truth {
            std::fs::write(path, serde_json::to_string_pretty(&self.truth)?)?;
        }
        Ok(())
    }
}
