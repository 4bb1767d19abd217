//! faultline's trouble-call analysis: the set of open devices that explains all the
//! evidence best.
//!
//! # The model
//! A device `d` open since about `τ` darkens the `n_d` customers below it. By time `t`
//! each dark customer has called with probability `q = call_rate × F(t − τ)` (`F` the
//! reporting-delay law), while a customer with power calls anyway with the small
//! background probability `ε` (its own breaker, a flicker). A dark meter sends its last
//! gasp with probability `a`; a meter with power almost never does. So, against "all
//! closed", opening `d` is worth the log-likelihood ratio
//!
//! ```text
//! V(d) = k·ln(q/ε) + (n − k)·ln((1−q)/(1−ε)) + g·ln(a/ε_a) + (m − g)·ln(1−a) + lit·L − cost
//! ```
//!
//! with `k` customers calling and `g` last gasps below `d`, `m` meters below `d` (one
//! per service point, however many customers it stands for; the gasp terms only where
//! some meter gasped), `lit` meters below `d` that said power is back (`L` ≪ 0) and
//! `cost` the log prior odds against one more fault. (The call term is in fact a
//! Beta-binomial around `q`: a storm's call rate is uncertain.)
//! SCADA is near-certain evidence: a device SCADA shows open is open; one SCADA shows
//! closed is not. SCADA usually watches breakers, so a breaker it never reported open
//! pays a large extra prior cost (`Physics::unwatched_breaker_cost`): it is named only
//! when it explains the evidence far better than the devices below it (its whole
//! feeder dark), which is what an unwatched feeder head's trip looks like.
//!
//! Nested devices form a tree, so the best set is an exact dynamic programme:
//! `best(d) = max(0, V(d), Σ best(children))`, and `d` is believed open when
//! `V(d) > 0` and `V(d) ≥ Σ best(children)` (one fault above explains the calls better
//! than several below: merge; or the reverse: split). The calls of a customer that no
//! open device explains make a single-customer outage at its service point.
//!
//! Faults are rare events spread over a storm's hours, so several independent ones
//! below the same device starting within the same two minutes are far less likely
//! than one above them: in the sum over children, a child whose dark evidence began
//! within [`COINCIDENT_S`] of a sibling's pays [`COINCIDENT_COST`] more. Without it,
//! once the calls of a fault without smart meters stop (it was mended, and nothing
//! said so), the quiet that argues against the device still being open would split it
//! into every transformer below with two or three calls.
//!
//! # Incremental
//! Counters `k`, `g`, `lit` and the earliest evidence time live on each device and are
//! updated along the chain above the observed service point; `V`, `best` and the
//! decision are recomputed bottom-up along that chain only. The belief is re-extracted
//! only below the highest chain device whose decision changed. Because `q` grows with
//! time, every device with evidence is re-scored once per minute of event time.

use std::cell::{Cell, OnceCell};
use std::collections::{BTreeSet, VecDeque};

use chrono::{DateTime, Duration, Utc};

use super::{
    ln_gamma, ln_rising, BeliefDelta, Explanation, Observation, Physics, Removal, Rule, Site,
};
use crate::network::{CustomerIdx, CustomerMap, DeviceIdx, DeviceKind, FastMap, FastSet, Network};

/// Log-likelihood weight of one meter that says its power is back (against "open").
const LIT_WEIGHT: f64 = -12.0;
/// Log-likelihood weight of a meter still silent after a restoration above it: its
/// "power back" may just have been lost (about one in five is), so it is weak evidence
/// of a nested outage; many silent meters together are strong.
const SILENT_WEIGHT: f64 = 1.6;
/// A "power back" this long before the first dark evidence below a device still
/// speaks against it.
const LIT_SLACK_S: i64 = 60;
/// Devices below an open one listed as alternatives it was preferred to.
const ALTERNATIVES_SHOWN: usize = 4;
/// Near-certain evidence (SCADA, a dispatcher's confirmation).
const CERTAIN: f64 = 1_000.0;
/// A device that cannot be open.
const IMPOSSIBLE: f64 = -1.0e9;
/// Time a fault usually runs before its first call arrives: added to the elapsed time
/// measured from the first evidence.
const LEAD: i64 = 3;
/// After a restoration, last gasps below wait this long for the meter's "power back":
/// the ones still silent then count as weak evidence of a nested outage. Meters report
/// power back within a minute or so of its return; a head-end that delivers them more
/// slowly than this would show short-lived nested outages after each restoration.
const GRACE_MIN: i64 = 2;
/// Children of one device whose dark evidence began within this long of each other
/// began together (see the module docs).
const COINCIDENT_S: i64 = 120;
/// Log prior cost of a fault below a device starting together with a sibling's: about
/// the log odds of an independent fault falling within [`COINCIDENT_S`] of another in a
/// storm of a few hours (ln(180 min / 4 min) ≈ 3.8), less something for storms' faults
/// bunching together. 5 gives the same bench figures; a window of 5 minutes does
/// slightly worse (faults that really are separate begin within it).
const COINCIDENT_COST: f64 = 3.0;

#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct PointEvidence {
    calls: u32,
    ami_off: bool,
    first_at: Option<DateTime<Utc>>,
    last_at: Option<DateTime<Utc>>,
    lit_at: Option<DateTime<Utc>>,
    /// Dark evidence counts only from this time (after a restoration's grace).
    pending_until: Option<DateTime<Utc>>,
    /// The device above the point when its evidence was counted (counters live on its chain).
    base: Option<DeviceIdx>,
    /// Whether the point's evidence is in the device counters now.
    counted: bool,
    /// Its only dark evidence is a last gasp from before a restoration above it whose
    /// "power back" never came: it counts towards a nested device outage, but alone it
    /// is more likely a lost message than a dark customer.
    after_restoration: bool,
}

impl PointEvidence {
    fn is_dark(&self) -> bool {
        self.calls > 0 || self.ami_off
    }
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct DeviceState {
    calls: u32,
    ami_off: u32,
    silent: u32,
    lit: u32,
    /// When each of those `lit` meters said power is back (seconds, ascending): a
    /// meter that had power *before* the dark evidence below began says nothing
    /// against an outage that started after it.
    #[serde(default)]
    lit_times: VecDeque<i64>,
    dark_points: u32,
    earliest: Option<DateTime<Utc>>,
    /// The earliest restoration after which a meter below stayed silent.
    #[serde(default)]
    silent_since: Option<DateTime<Utc>>,
    /// Evidence points whose nearest device is this one.
    direct: Vec<CustomerIdx>,
    /// Of `direct`, those dark by fresh evidence (not a meter silent after a
    /// restoration): each is a single customer's outage while no device above is
    /// open. Most of a `direct` list, after a storm with smart meters, is meters that
    /// said power is back, so the belief's extraction looks through a list only when
    /// this says there is something in it. Derived state, rebuilt with `hot`
    /// ([`Scored::ensure_derived`]).
    #[serde(skip)]
    dark_direct: u32,
    /// Children devices that have evidence below them.
    kids: Vec<DeviceIdx>,
    /// Of `kids`, those whose best is positive: the only ones that add to the sum over
    /// children (a kid worth nothing adds nothing). A feeder breaker has hundreds of
    /// kids, and its sum is taken at every report on its feeder. Kept in the order
    /// their dark evidence began (Unix seconds, `i64::MAX` for none; then index), so
    /// the sum is the same whatever order they came in, and kids whose evidence began
    /// together are neighbours (see [`COINCIDENT_S`]). Derived state, rebuilt from
    /// `kids` after a restore ([`Scored::ensure_derived`]).
    #[serde(skip)]
    hot: Vec<(i64, DeviceIdx)>,
    /// Where this device is filed in its parent's `hot` list, while it is there.
    #[serde(skip)]
    filed: Option<i64>,
    /// Whether it is on its parent's `kids` list (derived, rebuilt with `hot`): the
    /// list of a feeder breaker is hundreds long, and every report on the feeder
    /// asks.
    #[serde(skip)]
    linked: bool,
    scada_open: Option<bool>,
    confirmed: bool,
    /// Outages already believed below this device when it became certainly open
    /// (SCADA, a dispatcher): they opened first, and stay, nested, when it closes.
    frozen: Vec<Site>,
    /// When it became certainly open (the trip), for [`Scored::nested_before`].
    certain_since: Option<DateTime<Utc>>,
    value: f64,
    sum_kids: f64,
    best: f64,
    open: bool,
    /// `(ln ε, ln(1−ε))`: the noise its calls were weighed against when it was last
    /// scored (over its own evidence's window); `None` without dark evidence.
    #[serde(default)]
    noise: Option<(f64, f64)>,
}

impl DeviceState {
    /// Meters below that said power is back once the dark evidence below had begun
    /// (a minute's slack: a last gasp arrives up to half a minute after the loss).
    /// `earliest` in Unix seconds.
    fn lit_since(&self, earliest: Option<i64>) -> u32 {
        let Some(from) = earliest else {
            return self.lit;
        };
        let from = from - LIT_SLACK_S;
        (self.lit_times.len() - self.lit_times.partition_point(|&x| x < from)) as u32
    }

    /// When the oldest dark evidence below began, fresh or silent.
    fn dark_since(&self) -> Option<DateTime<Utc>> {
        earliest_of(self.earliest, self.silent_since)
    }

    /// SCADA or a dispatcher shows it open: near-certain, whatever the calls say.
    fn is_certain(&self) -> bool {
        self.scada_open == Some(true) || self.confirmed
    }

    /// What [`Scored::rescore_all`] re-scores: evidence, or a belief to revise.
    fn is_active(&self) -> bool {
        self.has_evidence() || self.open || self.best > 0.0
    }

    fn has_evidence(&self) -> bool {
        self.dark_points > 0 || self.lit > 0 || self.scada_open.is_some() || self.confirmed
    }
}

/// faultline's analyzer: see the module docs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Scored {
    physics: Physics,
    points: CustomerMap<PointEvidence>,
    devices: Vec<DeviceState>,
    /// Points with evidence but no device above them (fed from a substation node).
    orphans: BTreeSet<CustomerIdx>,
    open: BTreeSet<Site>,
    last_refresh: Option<DateTime<Utc>>,
    restored_now: FastSet<Site>,
    /// When points need a look (grace over, evidence too old, "power back" forgotten),
    /// so the minute's refresh touches only those. Entries may be stale: a point is
    /// checked against its current state when its time comes.
    due: DueQueue,
    /// Per certainly-open device and its trip time, the points that may count in
    /// [`Scored::nested_before`]: dark since before the trip, below the device. A point
    /// dark since later can never join (new evidence is dated now, after the trip), so
    /// the minute's [`Scored::refreeze`] looks at these instead of every point. Derived
    /// state, rebuilt from the points when missing (after a restore).
    #[serde(skip)]
    pre_trip: FastMap<DeviceIdx, PreTrip>,
    /// Points kept but not counted (waiting out a restoration's grace): with the
    /// devices' `direct` lists, every point with evidence below a device is found
    /// without a look at every point. Derived state, built when first needed (`None`
    /// after a restore) and kept up to date by [`Scored::update_point`] from then on.
    #[serde(skip)]
    waiting: Option<FastSet<CustomerIdx>>,
    /// The parts of V(d) that depend on the elapsed time only (see [`TermCache`]).
    #[serde(skip)]
    terms: TermCache,
    /// Every device that has (or had) evidence, was open or had a positive best since
    /// the last minute's re-scoring (and maybe more): what [`Scored::rescore_all`] looks
    /// at, instead of every device of the network. Derived state, rebuilt from the
    /// devices when missing (`in_active` empty after a restore: see
    /// [`Scored::ensure_derived`]).
    #[serde(skip)]
    active: Vec<DeviceIdx>,
    /// Per device, whether it is on `active`.
    #[serde(skip)]
    in_active: Vec<bool>,
    /// Scratch table of [`Scored::nested_before`], one entry per device, all clear
    /// between calls.
    #[serde(skip)]
    tally: Vec<Tally>,
}

/// One device's pre-trip evidence in [`Scored::nested_before`].
#[derive(Debug, Clone, Default)]
struct Tally {
    used: bool,
    calls: u32,
    ami_off: u32,
    pieces: u32,
    earliest: Option<DateTime<Utc>>,
    kids: Vec<DeviceIdx>,
    direct: Vec<CustomerIdx>,
    best: f64,
    open: bool,
}

impl Tally {
    /// Back to unused, keeping the lists' room.
    fn clear(&mut self) {
        let (mut kids, mut direct) = (
            std::mem::take(&mut self.kids),
            std::mem::take(&mut self.direct),
        );
        kids.clear();
        direct.clear();
        *self = Self {
            kids,
            direct,
            ..Self::default()
        };
    }
}

/// When points need a look, by the minute: the analyzer looks once a minute, so a heap
/// ordered to the second would sort what is taken a whole minute at a time anyway. One
/// list per minute that has entries, in a sorted map: a point's next look is at most a
/// few hours ahead (its evidence window), so the lists are a few hundred. Keyed by the
/// minute, not laid out as one slot per minute from the first: the queue's size follows
/// the entries it holds, never the time they span, so an event dated a century away
/// costs one entry (see: issue 19, a 9999-dated report that once asked for 100 GB).
#[derive(Debug, Clone, Default)]
struct DueQueue {
    /// Minute (Unix seconds / 60) → the (second, point) entries due in it.
    minutes: std::collections::BTreeMap<i64, Vec<(i64, CustomerIdx)>>,
}

impl DueQueue {
    fn push(&mut self, at: i64, c: CustomerIdx) {
        self.minutes
            .entry(at.div_euclid(60))
            .or_default()
            .push((at, c));
    }

    /// Take every entry due at or before `now` (seconds), in no particular order.
    fn take_until(&mut self, now: i64) -> Vec<CustomerIdx> {
        let minute = now.div_euclid(60);
        let mut out = Vec::new();
        while let Some(entry) = self.minutes.first_entry() {
            if *entry.key() < minute {
                out.extend(entry.remove().into_iter().map(|(_, c)| c));
                continue;
            }
            if *entry.key() == minute {
                let waiting = entry.into_mut();
                waiting.retain(|&(t, c)| {
                    let take = t <= now;
                    if take {
                        out.push(c);
                    }
                    !take
                });
                if waiting.is_empty() {
                    self.minutes.remove(&minute);
                }
            }
            break;
        }
        out
    }
}

/// As a map from minute to its entries, the minutes with any (snapshot format 2).
impl serde::Serialize for DueQueue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Kept<'a> {
            minutes: &'a std::collections::BTreeMap<i64, Vec<(i64, CustomerIdx)>>,
        }
        Kept {
            minutes: &self.minutes,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for DueQueue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Kept {
            minutes: std::collections::BTreeMap<i64, Vec<(i64, CustomerIdx)>>,
        }
        let mut q = DueQueue::default();
        for (at, c) in Kept::deserialize(d)?.minutes.into_values().flatten() {
            q.push(at, c);
        }
        Ok(q)
    }
}

/// What [`Scored::refreeze`] keeps of a certainly-open device between minutes.
#[derive(Debug, Clone)]
struct PreTrip {
    /// When the device became certainly open.
    trip: DateTime<Utc>,
    /// Every point that may count, in index order (see `Scored::pre_trip`).
    candidates: Vec<CustomerIdx>,
    /// The evidence its nested outages were last worked out from: while it stays the
    /// same, so do they.
    counted: Vec<PreTripPoint>,
    /// A point below the device was counted in or out since `counted` was worked out
    /// (set by [`Scored::count`]): until then there is nothing to look at again.
    changed: bool,
}

/// One point's evidence as [`Scored::nested_before`] reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PreTripPoint {
    c: CustomerIdx,
    base: DeviceIdx,
    calls: u32,
    ami_off: bool,
    first_at: DateTime<Utc>,
}

/// The parts of [`Scored::evidence_value`] that depend on the physics and the elapsed
/// time only, computed exactly as the formula does (so every value is bit for bit the
/// same) and kept: along a chain and within a minute's re-scoring many devices share
/// their earliest evidence (a few slots by the second, in the processor's nearest
/// cache, answer most questions), and over a storm every device's elapsed time passes
/// through the same few hours (a table of every second up to [`TERM_TABLE_S`], filled as
/// asked, answers the rest: a minute's re-scoring of a thousand devices that each began
/// at another second then costs no logarithm).
#[derive(Debug, Clone, Default)]
struct TermCache {
    /// Direct-mapped by elapsed seconds.
    slots: TermSlots,
    /// By elapsed second, from 0 up to [`TERM_TABLE_S`]: allocated at the first miss of
    /// `slots`, filled as asked.
    table: OnceCell<Box<[Cell<Option<TimeTerms>>]>>,
    /// `(ln(a/ε_a), ln(1−a))` of the last-gasp term.
    gasp: Cell<Option<(f64, f64)>>,
}

#[derive(Debug, Clone)]
struct TermSlots([Cell<Option<(i64, TimeTerms)>>; TERM_SLOTS]);

impl Default for TermSlots {
    fn default() -> Self {
        Self(std::array::from_fn(|_| Cell::new(None)))
    }
}

const TERM_SLOTS: usize = 64;

/// Elapsed times [`TermCache`]'s table keeps: six hours (evidence older than the window
/// is forgotten; longer times are computed each time).
const TERM_TABLE_S: i64 = 6 * 3600;

#[derive(Debug, Clone, Copy)]
struct TimeTerms {
    /// The Beta prior of the call rate at this elapsed time, and `ln Γ` of `a`, `b`
    /// and `a + b` (the Beta-binomial's terms that do not depend on the device).
    a: f64,
    b: f64,
    ln_gamma_a: f64,
    ln_gamma_b: f64,
    ln_gamma_ab: f64,
    /// `ln ε` and `ln(1−ε)` of the background call rate over this time.
    ln_eps: f64,
    ln_not_eps: f64,
}

impl TermCache {
    /// The terms `secs` seconds after the first evidence (see [`elapsed_s`]).
    fn at(&self, ph: &Physics, secs: i64) -> TimeTerms {
        let slot = &self.slots.0[secs.rem_euclid(TERM_SLOTS as i64) as usize];
        if let Some((s, t)) = slot.get() {
            if s == secs {
                return t;
            }
        }
        let t = if (0..TERM_TABLE_S).contains(&secs) {
            let table = self
                .table
                .get_or_init(|| (0..TERM_TABLE_S).map(|_| Cell::new(None)).collect());
            let kept = &table[secs as usize];
            kept.get().unwrap_or_else(|| {
                let t = Self::compute(ph, secs);
                kept.set(Some(t));
                t
            })
        } else {
            Self::compute(ph, secs)
        };
        slot.set(Some((secs, t)));
        t
    }

    /// The terms at `secs`, from the formula.
    fn compute(ph: &Physics, secs: i64) -> TimeTerms {
        let q = ph
            .call_probability(Duration::seconds(secs))
            .clamp(1e-6, 0.999);
        let hours = secs.max(0) as f64 / 3600.0;
        let eps = (ph.noise_per_customer_hour * (hours + 0.5)).clamp(1e-9, 0.5);
        let (a, b) = (
            ph.call_rate_concentration * q,
            ph.call_rate_concentration * (1.0 - q),
        );
        TimeTerms {
            a,
            b,
            ln_gamma_a: ln_gamma(a),
            ln_gamma_b: ln_gamma(b),
            ln_gamma_ab: ln_gamma(a + b),
            ln_eps: eps.ln(),
            ln_not_eps: (1.0 - eps).ln(),
        }
    }

    fn gasp(&self, ph: &Physics) -> (f64, f64) {
        if let Some(g) = self.gasp.get() {
            return g;
        }
        let a = ph.ami_gasp_rate.clamp(1e-3, 0.999);
        let g = ((a / ph.ami_false_rate).ln(), (1.0 - a).ln());
        self.gasp.set(Some(g));
        g
    }
}

impl Scored {
    /// An analyzer with no evidence yet.
    pub fn new(net: &Network, physics: Physics) -> Self {
        Self {
            physics,
            points: CustomerMap::default(),
            devices: vec![DeviceState::default(); net.device_count()],
            orphans: BTreeSet::new(),
            open: BTreeSet::new(),
            last_refresh: None,
            restored_now: FastSet::default(),
            due: DueQueue::default(),
            pre_trip: FastMap::default(),
            waiting: None,
            terms: TermCache::default(),
            active: Vec::new(),
            in_active: Vec::new(),
            tally: Vec::new(),
        }
    }

    /// The physics it assumes.
    pub fn physics(&self) -> &Physics {
        &self.physics
    }

    /// Take one observation; see [`super::Analyzer::observe`].
    pub fn observe(&mut self, net: &Network, at: DateTime<Utc>, obs: Observation) -> BeliefDelta {
        self.restored_now.clear();
        self.ensure_derived();
        let minute_passed = self
            .last_refresh
            .is_none_or(|last| at.timestamp() / 60 > last.timestamp() / 60);
        let mut touched_point = None;
        let mut dirty_chain: Option<DeviceIdx> = None;
        // A device's own state changed (SCADA, a dispatcher, a crew): below an open
        // device too, it may be shown or taken away (see `visit_certain_below`).
        let device_state = matches!(
            obs,
            Observation::ScadaOpen(_)
                | Observation::ScadaClosed(_)
                | Observation::Confirmed(_)
                | Observation::Restored(Site::Device(_))
        );
        match obs {
            Observation::Dark(c) => {
                self.update_point(net, c, at, |p| {
                    if p.after_restoration {
                        // Said after a restoration above it: the customer is dark now,
                        // whatever its earlier word (which the restoration answered).
                        p.calls = 1;
                        p.ami_off = false;
                        p.first_at = None;
                        p.after_restoration = false;
                        p.pending_until = None;
                    } else {
                        p.calls = p
                            .calls
                            .saturating_add(1)
                            .min(net.customer(c).customers.max(1));
                    }
                });
                touched_point = Some(c);
                dirty_chain = net.device_above_customer(c);
            }
            Observation::StillOut(c) => {
                // Fresh evidence: what the point said before the restoration was
                // answered by it; the customer's word now starts a new interruption.
                self.update_point(net, c, at, |p| {
                    p.calls = 1;
                    p.ami_off = false;
                    p.first_at = None;
                    p.after_restoration = false;
                    p.pending_until = None;
                });
                touched_point = Some(c);
                dirty_chain = net.device_above_customer(c);
            }
            Observation::AmiOff(c) => {
                self.update_point(net, c, at, |p| {
                    if p.ami_off || p.after_restoration {
                        // A second gasp: the meter had power again (its "power back"
                        // was lost) and lost it now. The loss dates from this gasp.
                        p.first_at = None;
                        p.calls = 0;
                    }
                    p.ami_off = true;
                    p.after_restoration = false;
                    p.pending_until = None;
                });
                touched_point = Some(c);
                dirty_chain = net.device_above_customer(c);
            }
            Observation::AmiOn(c) => {
                self.update_point(net, c, at, |p| {
                    p.calls = 0;
                    p.ami_off = false;
                    p.first_at = None;
                    p.pending_until = None;
                    p.lit_at = Some(at);
                });
                touched_point = Some(c);
                dirty_chain = net.device_above_customer(c);
            }
            Observation::ScadaOpen(d) => {
                self.freeze_below(net, d, at);
                self.set_device_flag(net, d, |s| s.scada_open = Some(true));
                dirty_chain = Some(d);
            }
            Observation::ScadaClosed(d) => {
                self.set_device_flag(net, d, |s| {
                    s.scada_open = Some(false);
                    s.confirmed = false;
                });
                self.restore_below(net, d, at);
                self.restored_now.insert(Site::Device(d));
                dirty_chain = Some(d);
            }
            Observation::Confirmed(d) => {
                self.freeze_below(net, d, at);
                self.set_device_flag(net, d, |s| s.confirmed = true);
                dirty_chain = Some(d);
            }
            Observation::Restored(Site::Device(d)) => {
                self.set_device_flag(net, d, |s| s.confirmed = false);
                self.restore_below(net, d, at);
                self.restored_now.insert(Site::Device(d));
                dirty_chain = Some(d);
            }
            Observation::Restored(Site::Point(c)) => {
                self.update_point(net, c, at, |p| {
                    p.calls = 0;
                    p.ami_off = false;
                    p.first_at = None;
                });
                self.restored_now.insert(Site::Point(c));
                touched_point = Some(c);
                dirty_chain = net.device_above_customer(c);
            }
            Observation::Tick => {}
        }
        let delta = if minute_passed {
            self.last_refresh = Some(at);
            self.refresh(net, at, touched_point)
        } else if let Some(base) = dirty_chain {
            let top_changed = self.rescore_chain(net, base, at);
            if device_state && self.open_above(net, base) {
                self.full_extract(net, touched_point)
            } else {
                self.reextract(net, top_changed, touched_point)
            }
        } else {
            // A point no device feeds: its own outage or nothing.
            self.reextract(net, None, touched_point)
        };
        self.settle_restorations(net, at, delta)
    }

    /// A device whose outage ended because its meters say power is back was repaired:
    /// the calls below it are answered too (customers without a smart meter cannot say
    /// so), and last gasps below wait for their meters as after any restoration.
    fn settle_restorations(
        &mut self,
        net: &Network,
        at: DateTime<Utc>,
        first: BeliefDelta,
    ) -> BeliefDelta {
        let repaired: Vec<DeviceIdx> = first
            .removed
            .iter()
            .filter_map(|(s, why)| match (s, why) {
                (Site::Device(d), Removal::Restored) if !self.restored_now.contains(s) => Some(*d),
                _ => None,
            })
            .collect();
        if repaired.is_empty() {
            return first;
        }
        // The open set before this observation, to diff the whole step against.
        let mut before: BTreeSet<Site> = self.open.clone();
        for s in &first.added {
            before.remove(s);
        }
        for (s, _) in &first.removed {
            before.insert(*s);
        }
        for d in repaired {
            self.restore_below(net, d, at);
            self.restored_now.insert(Site::Device(d));
        }
        self.rescore_all(net, at);
        let mut after = BTreeSet::new();
        self.extract_all(net, &mut after);
        self.open = after.clone();
        let mut delta = self.diff(net, &before, &after, None);
        delta.touched = first
            .touched
            .into_iter()
            .filter(|s| after.contains(s) && before.contains(s))
            .collect();
        delta
    }

    /// New evidence at a point: see [`Scored::change_point`].
    fn update_point(
        &mut self,
        net: &Network,
        c: CustomerIdx,
        at: DateTime<Utc>,
        f: impl FnOnce(&mut PointEvidence),
    ) {
        self.change_point(net, c, at, true, f);
    }

    /// The analyzer's own revision of a point's evidence (a restoration's grace, old
    /// evidence forgotten): it does not make the evidence any younger.
    fn revise_point(
        &mut self,
        net: &Network,
        c: CustomerIdx,
        at: DateTime<Utc>,
        f: impl FnOnce(&mut PointEvidence),
    ) {
        self.change_point(net, c, at, false, f);
    }

    /// Change a point's evidence: take its old contribution off its chain, apply `f`,
    /// put the new contribution on. `fresh`: the point just said something.
    fn change_point(
        &mut self,
        net: &Network,
        c: CustomerIdx,
        at: DateTime<Utc>,
        fresh: bool,
        f: impl FnOnce(&mut PointEvidence),
    ) {
        // Changed in place: a point's entry stays where it is in the map.
        let existed = self.points.contains_key(&c);
        let mut p = self.points.get(&c).copied().unwrap_or_default();
        // The `direct` list the point is on (counted points only), moved only when it
        // changes: most updates keep the point counted at the same base, and the
        // lists' order means nothing.
        let direct_before = p.base.filter(|_| p.counted);
        let dark_before = direct_before.filter(|_| is_dark_direct(&p));
        if p.counted {
            self.count(net, &p, -1);
        }
        let was_dark = p.is_dark();
        f(&mut p);
        if p.is_dark() {
            if !was_dark || p.first_at.is_none() {
                p.first_at = Some(at);
            }
            if fresh || p.last_at.is_none() {
                p.last_at = Some(at);
            }
            p.lit_at = None;
        }
        p.base = net.device_above_customer(c);
        let keep = p.is_dark() || p.lit_at.is_some();
        if keep {
            let active = p.pending_until.is_none_or(|u| u <= at);
            if active {
                self.count(net, &p, 1);
                p.counted = true;
            } else {
                p.counted = false;
            }
            if p.base.is_none() {
                self.orphans.insert(c);
            }
            if let Some(t) = self.next_due(&p) {
                self.due.push(t, c);
            }
            if let Some(waiting) = &mut self.waiting {
                if p.counted {
                    waiting.remove(&c);
                } else {
                    waiting.insert(c);
                }
            }
            self.move_direct(c, direct_before, p.base.filter(|_| p.counted));
            self.move_dark_direct(
                dark_before,
                p.base.filter(|_| p.counted && is_dark_direct(&p)),
            );
            self.points.insert(c, p);
        } else {
            if existed {
                self.points.remove(&c);
            }
            self.orphans.remove(&c);
            if let Some(waiting) = &mut self.waiting {
                waiting.remove(&c);
            }
            self.move_direct(c, direct_before, None);
            self.move_dark_direct(dark_before, None);
        }
    }

    /// Keep the devices' `dark_direct` counts as a point's dark evidence moves.
    fn move_dark_direct(&mut self, from: Option<DeviceIdx>, to: Option<DeviceIdx>) {
        if from == to {
            return;
        }
        if let Some(b) = from {
            self.devices[b.index()].dark_direct -= 1;
        }
        if let Some(b) = to {
            self.devices[b.index()].dark_direct += 1;
        }
    }

    /// Keep a point on the `direct` list of the device it is counted at, if any.
    fn move_direct(&mut self, c: CustomerIdx, from: Option<DeviceIdx>, to: Option<DeviceIdx>) {
        if from == to {
            return;
        }
        if let Some(b) = from {
            self.devices[b.index()].direct.retain(|&x| x != c);
        }
        if let Some(b) = to {
            self.devices[b.index()].direct.push(c);
        }
    }

    /// Add (`sign = 1`) or remove (`-1`) a point's evidence on the counters of its chain.
    fn count(&mut self, net: &Network, p: &PointEvidence, sign: i32) {
        let Some(base) = p.base else { return };
        let calls = p.calls;
        let ami = u32::from(p.ami_off && !p.after_restoration);
        let silent = u32::from(p.ami_off && p.after_restoration);
        let dark = u32::from(p.is_dark());
        let lit = u32::from(p.lit_at.is_some() && !p.is_dark());
        let lit_at = p.lit_at.map_or(0, |t| t.timestamp());
        let mut child: Option<DeviceIdx> = None;
        for d in net.chain_from(Some(base)) {
            if sign > 0 {
                self.mark_active(d);
            }
            // Only evidence from before the trip counts for the nested outages (see
            // `pre_trip_evidence`): evidence that began later changes nothing there.
            if let Some(trip) = self.devices[d.index()].certain_since {
                if p.is_dark() && p.first_at.is_some_and(|f| f < trip) {
                    if let Some(kept) = self.pre_trip.get_mut(&d) {
                        kept.changed = true;
                    }
                }
            }
            let s = &mut self.devices[d.index()];
            if sign > 0 {
                s.calls += calls;
                s.ami_off += ami;
                s.silent += silent;
                s.dark_points += dark;
                s.lit += lit;
                if lit > 0 {
                    let pos = s.lit_times.partition_point(|&x| x <= lit_at);
                    s.lit_times.insert(pos, lit_at);
                }
                let slot = if silent > 0 {
                    &mut s.silent_since
                } else {
                    &mut s.earliest
                };
                if dark > 0 {
                    *slot = earliest_of(*slot, p.first_at);
                }
            } else {
                s.calls -= calls;
                s.ami_off -= ami;
                s.silent -= silent;
                s.dark_points -= dark;
                s.lit -= lit;
                if lit > 0 {
                    if let Ok(pos) = s.lit_times.binary_search(&lit_at) {
                        s.lit_times.remove(pos);
                    }
                }
                if s.dark_points == s.silent {
                    s.earliest = None;
                }
                if s.silent == 0 {
                    s.silent_since = None;
                }
            }
            if let Some(k) = child {
                self.link_kid(d, k);
            }
            child = Some(d);
        }
    }

    /// Keep `kid` in `parent`'s list of children with evidence exactly while it has some
    /// (and in its `hot` list while, besides, its best is positive, filed under when
    /// its dark evidence began: this is called whenever that may have changed).
    fn link_kid(&mut self, parent: DeviceIdx, kid: DeviceIdx) {
        let k = &self.devices[kid.index()];
        let (has, positive, linked) = (k.has_evidence(), k.best > 0.0, k.linked);
        match (has, linked) {
            (true, false) => {
                self.devices[parent.index()].kids.push(kid);
                self.devices[kid.index()].linked = true;
                if positive {
                    self.set_hot(parent, kid, true);
                }
            }
            (false, true) => {
                let kids = &mut self.devices[parent.index()].kids;
                if let Some(i) = kids.iter().position(|&k| k == kid) {
                    kids.swap_remove(i);
                }
                self.devices[kid.index()].linked = false;
                self.set_hot(parent, kid, false);
            }
            (true, true) => {
                let filed = self.devices[kid.index()].filed;
                if filed.is_some() && filed != Some(self.hot_key(kid)) {
                    self.set_hot(parent, kid, false);
                    self.set_hot(parent, kid, positive);
                }
            }
            (false, false) => {}
        }
    }

    /// When `d`'s dark evidence began, as its parent's `hot` list is ordered.
    fn hot_key(&self, d: DeviceIdx) -> i64 {
        self.devices[d.index()]
            .dark_since()
            .map_or(i64::MAX, |t| t.timestamp())
    }

    /// Put `kid` in (or take it out of) `parent`'s `hot` list.
    fn set_hot(&mut self, parent: DeviceIdx, kid: DeviceIdx, member: bool) {
        let key = self.hot_key(kid);
        let filed = self.devices[kid.index()].filed;
        let hot = &mut self.devices[parent.index()].hot;
        match (filed, member) {
            (None, true) => {
                let at = hot.partition_point(|&e| e < (key, kid));
                hot.insert(at, (key, kid));
                self.devices[kid.index()].filed = Some(key);
            }
            (Some(t), false) => {
                if let Ok(i) = hot.binary_search(&(t, kid)) {
                    hot.remove(i);
                }
                self.devices[kid.index()].filed = None;
            }
            _ => {}
        }
    }

    /// Build the derived state a snapshot leaves out (the active list, every device's
    /// `hot` list), if it is missing: after a restore, `in_active` is empty.
    fn ensure_derived(&mut self) {
        if self.in_active.len() == self.devices.len() {
            return;
        }
        self.in_active = self.devices.iter().map(DeviceState::is_active).collect();
        self.active = (0..self.devices.len())
            .filter(|&i| self.in_active[i])
            .map(|i| DeviceIdx(i as u32))
            .collect();
        for i in 0..self.devices.len() {
            let dark_direct = self.devices[i]
                .direct
                .iter()
                .filter(|c| {
                    self.points
                        .get(c)
                        .is_some_and(|p| p.counted && is_dark_direct(p))
                })
                .count();
            self.devices[i].dark_direct = dark_direct as u32;
            let mut hot: Vec<(i64, DeviceIdx)> = self.devices[i]
                .kids
                .iter()
                .copied()
                .filter(|k| self.devices[k.index()].best > 0.0)
                .map(|k| (self.hot_key(k), k))
                .collect();
            hot.sort_unstable();
            for &(t, k) in &hot {
                self.devices[k.index()].filed = Some(t);
            }
            for k in self.devices[i].kids.clone() {
                self.devices[k.index()].linked = true;
            }
            self.devices[i].hot = hot;
        }
    }

    fn set_device_flag(&mut self, net: &Network, d: DeviceIdx, f: impl FnOnce(&mut DeviceState)) {
        self.mark_active(d);
        f(&mut self.devices[d.index()]);
        let mut child = d;
        for up in net.chain_from(net.device(d).parent().map(|p| p.idx())) {
            self.link_kid(up, child);
            child = up;
        }
    }

    /// Remember what was open below `d` before it became certainly open.
    fn freeze_below(&mut self, net: &Network, d: DeviceIdx, at: DateTime<Utc>) {
        let s = &self.devices[d.index()];
        if s.is_certain() {
            return;
        }
        self.devices[d.index()].certain_since = Some(at);
        let candidates = self.pre_trip_points(net, d, at);
        let counted = self.pre_trip_evidence(net, d, at, &candidates);
        self.devices[d.index()].frozen = self.nested_before(net, d, at, &counted);
        self.pre_trip.insert(
            d,
            PreTrip {
                trip: at,
                candidates,
                counted,
                changed: false,
            },
        );
    }

    /// Work the nested outages of every certainly-open device out again (their pre-trip
    /// evidence may have been restored since).
    fn refreeze(&mut self, net: &Network) {
        // A certainly-open device has evidence: it is on the active list.
        self.ensure_derived();
        let certain: Vec<(DeviceIdx, DateTime<Utc>)> = self
            .active
            .iter()
            .filter_map(|&d| {
                let s = &self.devices[d.index()];
                s.is_certain()
                    .then_some(s.certain_since.map(|t| (d, t)))
                    .flatten()
            })
            .collect();
        for (d, t) in certain {
            let (mut candidates, last) = match self.pre_trip.remove(&d) {
                Some(kept) if kept.trip == t && !kept.changed => {
                    // No point below was counted in or out since: the same evidence.
                    self.pre_trip.insert(d, kept);
                    continue;
                }
                Some(kept) if kept.trip == t => (kept.candidates, Some(kept.counted)),
                _ => (self.pre_trip_points(net, d, t), None),
            };
            // Points no longer dark since before the trip never will be again.
            candidates.retain(|c| {
                self.points
                    .get(c)
                    .is_some_and(|p| p.is_dark() && p.first_at.is_some_and(|f| f < t))
            });
            let counted = self.pre_trip_evidence(net, d, t, &candidates);
            if last.as_ref() != Some(&counted) {
                self.devices[d.index()].frozen = self.nested_before(net, d, t, &counted);
            }
            self.pre_trip.insert(
                d,
                PreTrip {
                    trip: t,
                    candidates,
                    counted,
                    changed: false,
                },
            );
        }
    }

    /// The points [`Scored::nested_before`] may count for device `d` tripped at `trip`
    /// (a superset from now on, see `pre_trip`), in index order.
    fn pre_trip_points(
        &self,
        net: &Network,
        d: DeviceIdx,
        trip: DateTime<Utc>,
    ) -> Vec<CustomerIdx> {
        let mut out: Vec<CustomerIdx> = self
            .points
            .iter()
            .filter(|(_, p)| p.is_dark() && p.first_at.is_some_and(|f| f < trip))
            .filter(|(_, p)| p.base.is_some_and(|b| net.is_at_or_above(d, b)))
            .map(|(c, _)| *c)
            .collect();
        out.sort();
        out
    }

    /// The evidence below `d` from before `trip` that [`Scored::nested_before`] counts:
    /// of `candidates`, the points dark since before the trip and counted now (not
    /// waiting out a restoration's grace).
    fn pre_trip_evidence(
        &self,
        net: &Network,
        d: DeviceIdx,
        trip: DateTime<Utc>,
        candidates: &[CustomerIdx],
    ) -> Vec<PreTripPoint> {
        candidates
            .iter()
            .filter_map(|&c| {
                let p = self.points.get(&c)?;
                let first_at = p.first_at.filter(|f| *f < trip)?;
                let base = p.base.filter(|b| net.is_at_or_above(d, *b))?;
                (p.is_dark() && p.counted && !p.after_restoration).then_some(PreTripPoint {
                    c,
                    base,
                    calls: p.calls,
                    ami_off: p.ami_off,
                    first_at,
                })
            })
            .collect()
    }

    /// A device closed again: the calls below it are answered; last gasps below wait
    /// for their meters' "power back" and count again after the grace if none comes.
    /// Outages nested below it that were known before it opened keep their evidence.
    fn restore_below(&mut self, net: &Network, d: DeviceIdx, at: DateTime<Utc>) {
        let frozen = std::mem::take(&mut self.devices[d.index()].frozen);
        self.devices[d.index()].certain_since = None;
        self.pre_trip.remove(&d);
        let mut below: Vec<CustomerIdx> = self
            .points_at_or_below(d)
            .into_iter()
            .filter(|c| {
                self.points.get(c).is_some_and(|p| {
                    // A meter already silent after an earlier restoration keeps its own
                    // clock.
                    p.is_dark()
                        && !p.after_restoration
                        && p.base.is_some_and(|b| net.is_at_or_above(d, b))
                        && !frozen.iter().any(|f| f.covers(Site::Point(*c), net))
                })
            })
            .collect();
        below.sort();
        below.dedup();
        let grace = at + Duration::minutes(GRACE_MIN);
        for c in below {
            self.revise_point(net, c, at, |p| {
                p.pending_until = Some(grace);
                p.after_restoration = true;
            });
        }
    }

    /// Every point kept whose base is `d` or a device below it (and a few others:
    /// callers check the base), in no particular order. Counted points are on their
    /// base's `direct` list, and every device with evidence is on its parent's `kids`
    /// list, so a walk down `kids` from `d` finds them; the others are `waiting`.
    fn points_at_or_below(&mut self, d: DeviceIdx) -> Vec<CustomerIdx> {
        let points = &self.points;
        let waiting = self.waiting.get_or_insert_with(|| {
            points
                .iter()
                .filter(|(_, p)| !p.counted)
                .map(|(c, _)| *c)
                .collect()
        });
        let mut out: Vec<CustomerIdx> = waiting.iter().copied().collect();
        let mut stack = vec![d];
        while let Some(x) = stack.pop() {
            let s = &self.devices[x.index()];
            out.extend_from_slice(&s.direct);
            stack.extend_from_slice(&s.kids);
        }
        out
    }

    /// The grace after a restoration is over for these points. A customer without a
    /// smart meter cannot say power is back, so its calls were answered by the
    /// restoration. A meter that gasped and stayed silent is most likely still dark
    /// (only about one "power back" in five is lost): weak evidence ([`SILENT_WEIGHT`])
    /// that, together with its neighbours' silence, shows a nested outage, and that a
    /// neighbour's "power back" outweighs. Alone it makes no outage.
    fn end_grace(&mut self, net: &Network, at: DateTime<Utc>, points: Vec<CustomerIdx>) {
        for c in points {
            let Some(p) = self.points.get(&c) else {
                continue;
            };
            // Silence speaks from the end of the grace, for as long as the "power back"
            // messages around it that can outweigh it are remembered.
            let silent_from = p.pending_until.unwrap_or(at);
            let (window, _) = self.memory();
            if p.ami_off && at - silent_from <= window {
                // Dark since its gasp: any "power back" after that speaks against an
                // outage above it. Its customers' calls were answered by the restoration.
                self.revise_point(net, c, at, |p| {
                    p.pending_until = None;
                    p.calls = 0;
                    p.last_at = Some(silent_from);
                });
            } else {
                self.revise_point(net, c, at, |p| {
                    p.calls = 0;
                    p.ami_off = false;
                    p.first_at = None;
                    p.pending_until = None;
                    p.after_restoration = false;
                });
            }
        }
    }

    /// How long dark evidence counts unexplained (the physics' window), and how long a
    /// "power back" is remembered: longer, since it speaks against an outage above the
    /// meter for as long as the dark evidence it contradicts can count.
    fn memory(&self) -> (Duration, Duration) {
        let window = Duration::minutes(self.physics.evidence_window_min);
        (window, window + Duration::minutes(GRACE_MIN * 2))
    }

    /// When a point's evidence next needs a look: its grace ends, it grows too old, or
    /// its "power back" is forgotten.
    fn next_due(&self, p: &PointEvidence) -> Option<i64> {
        // In Unix seconds: adding whole minutes to a time adds to its seconds.
        let (window, lit_memory) = self.memory();
        let (window, lit_memory) = (window.num_seconds(), lit_memory.num_seconds());
        [
            p.pending_until
                .filter(|_| !p.counted)
                .map(|u| u.timestamp()),
            p.last_at
                .filter(|_| p.is_dark())
                .map(|l| l.timestamp() + window + 1),
            p.lit_at
                .filter(|_| !p.is_dark())
                .map(|l| l.timestamp() + lit_memory + 1),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The calls-and-gasps part of V(d) for the given counters, `elapsed` seconds
    /// ([`elapsed_s`]) after the earliest of their evidence (none: no evidence).
    fn evidence_value(
        &self,
        net: &Network,
        d: DeviceIdx,
        calls: u32,
        ami_off: u32,
        elapsed: Option<i64>,
    ) -> f64 {
        let Some(elapsed) = elapsed else { return 0.0 };
        let view = net.device(d);
        let mut v = 0.0;
        let t = self.terms.at(&self.physics, elapsed);
        let n = view.customers_below().max(u64::from(calls)) as f64;
        let k = f64::from(calls);
        // Calls: Beta-binomial around the call law (the real call rate of a storm is
        // uncertain), against noise at rate ε. ln B(k + a, n − k + b) − ln B(a, b), term
        // by term: the `a` side is a rising factorial over the few calls (no ln Γ of a
        // small argument), the others two ln Γ of customer counts (Stirling's branch).
        v += ln_rising(t.a, calls, t.ln_gamma_a) + (ln_gamma(n - k + t.b) - t.ln_gamma_b)
            - (ln_gamma(n + t.a + t.b) - t.ln_gamma_ab)
            - k * t.ln_eps
            - (n - k) * t.ln_not_eps;
        // Last gasps, with one gasp rate for the whole network: the meters of a larger
        // device that stayed silent count against it. Where no meter gasped, nothing is
        // said (the area may have no smart meters at all). A meter is a service point:
        // one that stands for a hundred customers still sends one last gasp.
        let g = f64::from(ami_off);
        if g > 0.0 {
            let gn = f64::from(view.points_below()).max(g);
            let (ln_gasp_odds, ln_no_gasp) = self.terms.gasp(&self.physics);
            v += g * ln_gasp_odds + (gn - g) * ln_no_gasp;
        }
        v
    }

    /// The outages below a certainly-open device `d` that its own evidence from before
    /// `trip` (when `d` opened) shows: what was already out when the breaker tripped
    /// stays out, nested, when it closes. The same model, on the evidence that cannot
    /// be the trip's own.
    ///
    ///
    /// `pre` is that evidence, in index order: see [`Scored::pre_trip_evidence`].
    fn nested_before(
        &mut self,
        net: &Network,
        d: DeviceIdx,
        trip: DateTime<Utc>,
        pre: &[PreTripPoint],
    ) -> Vec<Site> {
        // Per device, in a table kept between calls (a breaker's pre-trip evidence is
        // worked out again every minute something in it changes).
        let mut tally = std::mem::take(&mut self.tally);
        tally.resize_with(net.device_count(), Tally::default);
        let mut used: Vec<DeviceIdx> = Vec::new();
        let mut top_points: Vec<CustomerIdx> = Vec::new();
        let mut entry = |tally: &mut Vec<Tally>, x: DeviceIdx| {
            let t = &mut tally[x.index()];
            if !t.used {
                t.used = true;
                used.push(x);
            }
        };
        for p in pre {
            let base = p.base;
            if base == d {
                top_points.push(p.c);
                continue;
            }
            entry(&mut tally, base);
            tally[base.index()].direct.push(p.c);
            let mut child: Option<DeviceIdx> = None;
            for x in net.chain_from(Some(base)) {
                if x == d {
                    break;
                }
                entry(&mut tally, x);
                let t = &mut tally[x.index()];
                t.calls += p.calls;
                t.ami_off += u32::from(p.ami_off);
                t.pieces += p.calls + u32::from(p.ami_off);
                t.earliest = Some(t.earliest.map_or(p.first_at, |a| a.min(p.first_at)));
                if let Some(k) = child {
                    if !t.kids.contains(&k) {
                        t.kids.push(k);
                    }
                }
                child = Some(x);
            }
        }
        // Bottom-up: best(x) = max(0, V(x), Σ best(kids)), evaluated when `d` opened.
        let mut order = used;
        order.sort_by_key(|x| std::cmp::Reverse((net.device(*x).depth(), *x)));
        for x in &order {
            let t = &tally[x.index()];
            let kind_ok = net.device(*x).kind() != DeviceKind::Breaker;
            let value = if kind_ok && t.pieces >= 2 {
                let elapsed = t
                    .earliest
                    .map(|first| elapsed_s(first.timestamp(), trip.timestamp()));
                self.evidence_value(net, *x, t.calls, t.ami_off, elapsed) - self.physics.outage_cost
            } else {
                f64::NEG_INFINITY
            };
            // The same sum over children as `rescore`'s, in the order their evidence
            // began.
            let mut kids: Vec<(i64, DeviceIdx, f64)> = t
                .kids
                .iter()
                .map(|k| {
                    let kt = &tally[k.index()];
                    let began = kt.earliest.map_or(i64::MAX, |e| e.timestamp());
                    (began, *k, kt.best)
                })
                .collect();
            kids.sort_unstable_by_key(|&(began, k, _)| (began, k));
            let sum = sum_children(kids.into_iter().map(|(began, _, best)| (began, best)));
            let t = &mut tally[x.index()];
            t.open = value > 0.0 && value > sum + 1e-9;
            t.best = value.max(sum).max(0.0);
        }
        // Top-down from the devices right below `d`.
        let mut out: Vec<Site> = top_points.into_iter().map(Site::Point).collect();
        let mut stack: Vec<DeviceIdx> = order
            .iter()
            .copied()
            .filter(|x| net.device(*x).parent().map(|p| p.idx()) == Some(d))
            .collect();
        stack.sort();
        while let Some(x) = stack.pop() {
            let t = &tally[x.index()];
            if t.open {
                out.push(Site::Device(x));
                continue;
            }
            out.extend(t.direct.iter().map(|c| Site::Point(*c)));
            stack.extend(t.kids.iter().copied());
        }
        out.sort();
        for x in order {
            tally[x.index()].clear();
        }
        self.tally = tally;
        out
    }

    /// V(d), `elapsed` seconds after the earliest fresh evidence below, which came at
    /// `earliest` (Unix seconds; both worked out once by [`Scored::rescore`]).
    fn value(
        &self,
        net: &Network,
        d: DeviceIdx,
        elapsed: Option<i64>,
        earliest: Option<i64>,
    ) -> f64 {
        let s = &self.devices[d.index()];
        let view = net.device(d);
        if s.scada_open == Some(false) && !s.confirmed {
            return IMPOSSIBLE;
        }
        let certain = s.is_certain();
        // SCADA usually watches breakers: one SCADA has not reported open is most
        // likely closed (one it reported closed was ruled out above).
        let unwatched = if !certain && view.kind() == DeviceKind::Breaker {
            self.physics.unwatched_breaker_cost
        } else {
            0.0
        };
        // Two stories, the likelier one counts. Opened with the fresh evidence (calls,
        // last gasps): every "power back" since then speaks against it, and meters left
        // silent by an earlier restoration are another matter.
        let calls = self.evidence_value(net, d, s.calls, s.ami_off, elapsed);
        let mut v = calls + f64::from(s.lit_since(earliest)) * LIT_WEIGHT;
        if !certain && s.calls + s.ami_off < 2 {
            // One piece of evidence is one customer's problem.
            v = v.min(0.0);
        }
        // Or open since before the restoration that left meters below silent: then
        // every "power back" since that silence began speaks against it too.
        if s.silent > 0 {
            let since = s.dark_since().map(|t| t.timestamp());
            let silent = calls
                + f64::from(s.silent) * SILENT_WEIGHT
                + f64::from(s.lit_since(since)) * LIT_WEIGHT;
            v = v.max(silent);
        }
        if certain {
            v += CERTAIN;
        }
        v - self.physics.outage_cost - unwatched
    }

    fn rescore(&mut self, net: &Network, d: DeviceIdx, at: DateTime<Utc>) -> bool {
        let earliest = self.devices[d.index()].earliest.map(|t| t.timestamp());
        let elapsed = earliest.map(|first| elapsed_s(first, at.timestamp()));
        let value = self.value(net, d, elapsed, earliest);
        let noise = elapsed.map(|elapsed| {
            let t = self.terms.at(&self.physics, elapsed);
            (t.ln_eps, t.ln_not_eps)
        });
        // Only kids worth something add to the sum, in the order their evidence began
        // (see `hot`); a kid whose evidence began right after a sibling's pays for the
        // coincidence.
        let sum_kids = sum_children(
            self.devices[d.index()]
                .hot
                .iter()
                .map(|&(t, k)| (t, self.kid_best_for(net, noise, k))),
        );
        let s = &mut self.devices[d.index()];
        // One piece of evidence is one customer's problem (its drop, its meter, its own
        // breaker): a device needs two, or SCADA, or a dispatcher.
        let certain = s.is_certain();
        let value = if certain || s.calls + s.ami_off + s.silent >= 2 {
            value
        } else {
            value.min(0.0)
        };
        let was_open = s.open;
        let was_positive = s.best > 0.0;
        s.value = value;
        s.sum_kids = sum_kids;
        s.noise = noise;
        // A device SCADA or a dispatcher shows open is open, however well faults below
        // would explain its calls: everything below it is dark. Otherwise a tie goes to
        // the devices below: the smaller explanation (the oracle's choice too).
        s.open = certain || (value > 0.0 && value > sum_kids + 1e-9);
        s.best = value.max(sum_kids).max(0.0);
        let positive = s.best > 0.0;
        let linked = s.has_evidence();
        let changed = was_open != s.open || was_positive != positive;
        let open = s.open;
        if was_positive != positive && linked {
            if let Some(parent) = net.device(d).parent() {
                self.set_hot(parent.idx(), d, positive);
            }
        }
        if open || positive {
            self.mark_active(d);
        }
        changed
    }

    /// What the devices below `kid` are worth to its parent: `kid`'s best, with its
    /// calls weighed against the parent's noise `wide` (`(ln ε, ln(1−ε))` over the
    /// parent's window of evidence) rather than the noise it was scored with.
    ///
    /// Each device weighs its calls against the chance that customers with power called
    /// over its own evidence's time (a short window makes a burst of calls telling). A
    /// parent and the faults below it must be weighed against the same "all closed":
    /// otherwise faults below would be favoured just because their evidence is younger,
    /// and one fault whose calls trickle in over an hour would split into many.
    fn kid_best_for(&self, net: &Network, wide: Option<(f64, f64)>, kid: DeviceIdx) -> f64 {
        let k = &self.devices[kid.index()];
        if k.best <= 0.0 || k.calls == 0 {
            return k.best.max(0.0);
        }
        let (Some(own), Some(wide)) = (k.noise, wide) else {
            return k.best;
        };
        if wide.0 <= own.0 {
            // The parent's window is no longer than the kid's.
            return k.best;
        }
        let calls = f64::from(k.calls);
        let quiet = (net.device(kid).customers_below() as f64 - calls).max(0.0);
        (k.best - calls * (wide.0 - own.0) - quiet * (wide.1 - own.1)).max(0.0)
    }

    /// Re-score the chain from `base` up; the highest device whose decision changed.
    fn rescore_chain(
        &mut self,
        net: &Network,
        base: DeviceIdx,
        at: DateTime<Utc>,
    ) -> Option<DeviceIdx> {
        let mut top = None;
        for d in net.chain_from(Some(base)) {
            if self.rescore(net, d, at) {
                top = Some(d);
            }
        }
        top
    }

    /// Re-score every device with evidence (deepest first) and forget old evidence.
    fn refresh(
        &mut self,
        net: &Network,
        at: DateTime<Utc>,
        touched: Option<CustomerIdx>,
    ) -> BeliefDelta {
        // Evidence whose wait is over counts again; evidence too old and unexplained goes.
        let (window, lit_memory) = self.memory();
        let mut changes: Vec<(CustomerIdx, u8)> = Vec::new();
        let mut graced: Vec<CustomerIdx> = Vec::new();
        // Only the points whose time has come are looked at (a heap of due times).
        let now = at.timestamp();
        let mut due = self.due.take_until(now);
        due.sort();
        due.dedup();
        let mut later: Vec<(i64, CustomerIdx)> = Vec::new();
        for c in due {
            let Some(p) = self.points.get(&c) else {
                continue;
            };
            if let Some(u) = p.pending_until.filter(|_| !p.counted) {
                // Waiting out a restoration's grace: its age is judged after it.
                if u <= at {
                    graced.push(c);
                } else {
                    later.push((u.timestamp(), c));
                }
            } else if p.is_dark() && p.last_at.is_some_and(|l| at - l > window) {
                if p.after_restoration || !self.is_explained(net, c) {
                    changes.push((c, 1));
                } else {
                    // Explained evidence stays while its outage does; look again later.
                    later.push((now + window.num_seconds(), c));
                }
            } else if !p.is_dark() && p.lit_at.is_some_and(|l| at - l > lit_memory) {
                changes.push((c, 2));
            } else if let Some(t) = self.next_due(p) {
                later.push((t, c));
            }
        }
        for (t, c) in later {
            self.due.push(t, c);
        }
        graced.sort();
        self.end_grace(net, at, graced);
        changes.sort();
        for (c, what) in changes {
            match what {
                1 => self.revise_point(net, c, at, |p| {
                    p.calls = 0;
                    p.ami_off = false;
                    p.first_at = None;
                }),
                _ => self.revise_point(net, c, at, |p| p.lit_at = None),
            }
        }
        self.refreeze(net);
        self.rescore_all(net, at);
        self.full_extract(net, touched)
    }

    /// Re-score every device that has (or had) evidence, deepest first.
    fn rescore_all(&mut self, net: &Network, at: DateTime<Utc>) {
        self.ensure_derived();
        let mut with_evidence = std::mem::take(&mut self.active);
        with_evidence.retain(|d| {
            let keep = self.devices[d.index()].is_active();
            self.in_active[d.index()] = keep;
            keep
        });
        with_evidence.sort_by_key(|d| std::cmp::Reverse((net.device(*d).depth(), *d)));
        for &d in &with_evidence {
            self.rescore(net, d, at);
        }
        // Re-scoring marked nothing new: each device it looked at is on the list.
        debug_assert!(self.active.iter().all(|d| with_evidence.contains(d)));
        self.active = with_evidence;
    }

    /// Put `d` on the list [`Scored::rescore_all`] looks at.
    fn mark_active(&mut self, d: DeviceIdx) {
        self.ensure_derived();
        if !self.in_active[d.index()] {
            self.in_active[d.index()] = true;
            self.active.push(d);
        }
    }

    /// The belief from scratch, into `out`.
    fn extract_all(&self, net: &Network, out: &mut BTreeSet<Site>) {
        for h in net.feeder_heads() {
            self.visit(h.idx(), out);
        }
        for c in &self.orphans {
            if self.points.get(c).is_some_and(|p| p.is_dark() && p.counted) {
                out.insert(Site::Point(*c));
            }
        }
    }

    fn is_explained(&self, net: &Network, c: CustomerIdx) -> bool {
        self.covering(net, c).is_some()
    }

    /// Recompute the whole belief and diff it against the current one.
    fn full_extract(&mut self, net: &Network, touched: Option<CustomerIdx>) -> BeliefDelta {
        let mut new = BTreeSet::new();
        self.extract_all(net, &mut new);
        let old = std::mem::replace(&mut self.open, new.clone());
        self.diff(net, &old, &new, touched)
    }

    fn visit(&self, d: DeviceIdx, out: &mut BTreeSet<Site>) {
        let s = &self.devices[d.index()];
        if s.open {
            out.insert(Site::Device(d));
            if s.is_certain() {
                // Outages known below it before it opened stay (nested). Evidence
                // after it opened cannot tell them apart from it, so they stay as
                // they were.
                out.extend(s.frozen.iter().copied());
                self.visit_certain_below(d, out);
            }
            return;
        }
        if s.dark_direct > 0 {
            for c in &s.direct {
                if self
                    .points
                    .get(c)
                    .is_some_and(|p| p.counted && is_dark_direct(p))
                {
                    out.insert(Site::Point(*c));
                }
            }
        }
        for k in &s.kids {
            self.visit(*k, out);
        }
    }

    /// The devices below `d` that SCADA or a dispatcher shows open, with the outages
    /// nested below them: a recloser open under a tripped breaker must be closed too
    /// when the breaker is, and the crews need to know it now, not once the breaker's
    /// customers are back.
    fn visit_certain_below(&self, d: DeviceIdx, out: &mut BTreeSet<Site>) {
        for k in &self.devices[d.index()].kids {
            let s = &self.devices[k.index()];
            if s.is_certain() {
                out.insert(Site::Device(*k));
                out.extend(s.frozen.iter().copied());
            }
            self.visit_certain_below(*k, out);
        }
    }

    /// Whether a device above `d` is believed open.
    fn open_above(&self, net: &Network, d: DeviceIdx) -> bool {
        net.chain_from(net.device(d).parent().map(|p| p.idx()))
            .any(|a| self.devices[a.index()].open)
    }

    /// Re-extract the belief below `top` (the highest device whose decision changed).
    fn reextract(
        &mut self,
        net: &Network,
        top: Option<DeviceIdx>,
        touched: Option<CustomerIdx>,
    ) -> BeliefDelta {
        let Some(top) = top else {
            // No decision changed: the open set is the same, but a point without a
            // device above may have come or gone, and the covering site's evidence changed.
            if let Some(c) = touched {
                let p = self.points.get(&c);
                // The same test as `visit`'s: a meter silent after a restoration is no
                // outage of its own.
                let dark = p.is_some_and(|p| p.is_dark() && p.counted && !p.after_restoration);
                let site = Site::Point(c);
                let covered_by_device = net
                    .chain_of_customer(c)
                    .any(|d| self.open.contains(&Site::Device(d)));
                if !covered_by_device {
                    let mut delta = BeliefDelta::default();
                    match (dark, self.open.contains(&site)) {
                        (true, false) => {
                            self.open.insert(site);
                            delta.added.push(site);
                        }
                        (false, true) => {
                            self.open.remove(&site);
                            let why = if p.is_some_and(|p| p.lit_at.is_some())
                                || self.restored_now.contains(&site)
                            {
                                Removal::Restored
                            } else {
                                Removal::Withdrawn
                            };
                            delta.removed.push((site, why));
                        }
                        (true, true) => delta.touched.push(site),
                        (false, false) => {}
                    }
                    return delta;
                }
                return self.touch(net, c);
            }
            return BeliefDelta::default();
        };
        // Does an open device above `top` already cover everything below it?
        let covered_above = self.open_above(net, top);
        if covered_above {
            // What is below an open device does not change with it.
            return touched.map(|c| self.touch(net, c)).unwrap_or_default();
        }
        let old_below: BTreeSet<Site> = self
            .open
            .iter()
            .copied()
            .filter(|s| Site::Device(top).covers(*s, net))
            .collect();
        let mut new_below = BTreeSet::new();
        self.visit(top, &mut new_below);
        for s in &old_below {
            self.open.remove(s);
        }
        self.open.extend(new_below.iter().copied());
        self.diff(net, &old_below, &new_below, touched)
    }

    /// The open site that explains a point: the deepest one covering it (the point
    /// itself, else the first open device up its chain, nearest first).
    fn covering(&self, net: &Network, c: CustomerIdx) -> Option<Site> {
        let site = Site::Point(c);
        if self.open.contains(&site) {
            return Some(site);
        }
        net.chain_of_customer(c)
            .map(Site::Device)
            .find(|s| self.open.contains(s))
    }

    /// The delta for a touched point when the open set did not change.
    fn touch(&self, net: &Network, c: CustomerIdx) -> BeliefDelta {
        let covering = self.covering(net, c);
        BeliefDelta {
            touched: covering.into_iter().collect(),
            ..BeliefDelta::default()
        }
    }

    /// Diff the old and new open sets of one part of the network, naming why removed
    /// sites went.
    fn diff(
        &self,
        net: &Network,
        old: &BTreeSet<Site>,
        new: &BTreeSet<Site>,
        touched: Option<CustomerIdx>,
    ) -> BeliefDelta {
        let mut delta = BeliefDelta::default();
        for s in old.difference(new) {
            delta.removed.push((*s, self.removal_reason(net, *s)));
        }
        delta.added.extend(new.difference(old).copied());
        if let Some(c) = touched {
            if let Some(cov) = self.covering(net, c) {
                if old.contains(&cov) {
                    delta.touched.push(cov);
                }
            }
        }
        delta
    }

    fn removal_reason(&self, net: &Network, s: Site) -> Removal {
        if self.restored_now.iter().any(|r| r.covers(s, net)) {
            return Removal::Restored;
        }
        match s {
            Site::Device(d) => {
                let st = &self.devices[d.index()];
                // A meter that said power back before this outage's evidence began
                // speaks of an earlier one.
                if st.lit_since(st.dark_since().map(|t| t.timestamp())) > 0
                    || st.scada_open == Some(false)
                {
                    Removal::Restored
                } else {
                    Removal::Withdrawn
                }
            }
            Site::Point(c) => {
                if self.points.get(&c).is_some_and(|p| p.lit_at.is_some()) {
                    Removal::Restored
                } else {
                    Removal::Withdrawn
                }
            }
        }
    }

    /// The analyzer's view of `d` and the devices above it, one line each (counters,
    /// score, children's best, decision): for tracing a miss (`bench inference --verbose`).
    pub fn describe_chain(&self, net: &Network, d: DeviceIdx) -> Vec<String> {
        net.chain_from(Some(d))
            .map(|x| {
                let s = &self.devices[x.index()];
                format!(
                    "{} ({} below): calls {} gasps {} silent {} lit {} value {:.2} kids {:.2} open {}",
                    net.device(x).id(),
                    net.device(x).customers_below(),
                    s.calls,
                    s.ami_off,
                    s.silent,
                    s.lit,
                    s.value,
                    s.sum_kids,
                    s.open
                )
            })
            .collect()
    }

    /// What an open site explains (without the alternatives: see [`Scored::alternatives`]).
    pub fn explain(&self, net: &Network, site: Site) -> Option<Explanation> {
        self.explain_with(net, site, false)
    }

    /// The other explanations considered for an open site, with their scores.
    pub fn alternatives(&self, net: &Network, site: Site) -> Vec<(Site, f64)> {
        self.explain_with(net, site, true)
            .map(|e| e.alternatives)
            .unwrap_or_default()
    }

    fn explain_with(
        &self,
        net: &Network,
        site: Site,
        with_alternatives: bool,
    ) -> Option<Explanation> {
        if !self.open.contains(&site) {
            return None;
        }
        Some(match site {
            Site::Device(d) => {
                let s = &self.devices[d.index()];
                let mut alternatives = Vec::new();
                if !with_alternatives {
                    // Asked for the counts only.
                } else if let Some(p) = net.device(d).parent() {
                    alternatives.push((
                        Site::Device(p.idx()),
                        round3(self.devices[p.idx().index()].value),
                    ));
                }
                // The best few devices below.
                if with_alternatives {
                    let mut kids: Vec<(Site, f64)> = s
                        .kids
                        .iter()
                        .map(|k| (Site::Device(*k), round3(self.devices[k.index()].value)))
                        .collect();
                    kids.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                    kids.truncate(ALTERNATIVES_SHOWN);
                    alternatives.extend(kids);
                }
                let margin = s.value - s.sum_kids.max(0.0);
                let rule = if s.scada_open == Some(true) {
                    "SCADA shows the device open".into()
                } else if s.confirmed {
                    "confirmed by a dispatcher".into()
                } else {
                    let view = net.device(d);
                    Rule::Score {
                        calls: s.calls,
                        ami_off: s.ami_off,
                        customers: view.customers_below(),
                        points: (u64::from(view.points_below()) != view.customers_below())
                            .then_some(view.points_below()),
                        value: s.value,
                        margin,
                    }
                };
                Explanation {
                    calls: s.calls,
                    ami_off: s.ami_off,
                    scada_open: s.scada_open == Some(true),
                    first_evidence_at: s.earliest,
                    rule,
                    score: round3(s.value),
                    confidence: round3(sigmoid(margin.min(s.value))),
                    alternatives,
                }
            }
            Site::Point(c) => {
                let p = self.points.get(&c)?;
                Explanation {
                    calls: p.calls,
                    ami_off: u32::from(p.ami_off),
                    scada_open: false,
                    first_evidence_at: p.first_at,
                    rule: "a single customer's outage: no device above explains this customer's evidence better".into(),
                    score: 0.0,
                    confidence: if p.ami_off { 0.9 } else { 0.5 },
                    alternatives: net
                        .device_above_customer(c)
                        .filter(|_| with_alternatives)
                        .map(|d| vec![(Site::Device(d), round3(self.devices[d.index()].value))])
                        .unwrap_or_default(),
                }
            }
        })
    }
}

/// The sum over a device's children of what each is worth, given in the order their
/// dark evidence began (Unix seconds, `i64::MAX` for none): a child whose evidence began
/// within [`COINCIDENT_S`] of the one before pays [`COINCIDENT_COST`] (see the module
/// docs).
fn sum_children(kids: impl Iterator<Item = (i64, f64)>) -> f64 {
    let mut sum = 0.0;
    let mut last: Option<i64> = None;
    for (began, worth) in kids {
        let coincident = last.is_some_and(|l| began.saturating_sub(l) <= COINCIDENT_S);
        sum += if coincident {
            (worth - COINCIDENT_COST).max(0.0)
        } else {
            worth
        };
        if began != i64::MAX {
            last = Some(began);
        }
    }
    sum
}

/// Whether a point counted on its device's `direct` list is a single customer's
/// outage there (see `DeviceState::dark_direct`).
fn is_dark_direct(p: &PointEvidence) -> bool {
    p.is_dark() && !p.after_restoration
}

/// Seconds a fault whose first evidence came at `first` has run by `at` (both Unix
/// seconds), counting the time it usually runs before that evidence ([`LEAD`]). In
/// whole seconds rather than a `chrono` difference: the score is re-worked for every
/// device with evidence every minute.
fn elapsed_s(first: i64, at: i64) -> i64 {
    at - first + LEAD * 60
}

/// The earlier of two times, either of which may be missing.
fn earliest_of(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Scores leave the engine rounded, so streams compare byte for byte across machines.
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_due_queue_gives_what_is_due_to_the_second_and_keeps_the_rest() {
        let mut q = DueQueue::default();
        let c = |i| CustomerIdx(i);
        // 600 is the start of minute 10.
        for (at, i) in [(659, 1), (600, 2), (540, 3), (661, 4), (630, 5), (630, 6)] {
            q.push(at, c(i));
        }
        let mut got = q.take_until(630);
        got.sort();
        // Everything of earlier minutes, and of this minute up to its 30th second.
        assert_eq!(got, vec![c(2), c(3), c(5), c(6)]);
        assert!(q.take_until(630).is_empty(), "taken once");
        let mut got = q.take_until(700);
        got.sort();
        assert_eq!(got, vec![c(1), c(4)]);
        assert!(q.minutes.is_empty(), "nothing is kept for minutes taken");
        // Pushed already due, it is taken at the next look; one due before the first
        // minute waiting is not kept back by it.
        q.push(650, c(7));
        assert_eq!(q.take_until(700), vec![c(7)]);
        q.push(2000, c(8));
        q.push(800, c(9));
        assert_eq!(q.take_until(800), vec![c(9)]);
        assert_eq!(q.take_until(2000), vec![c(8)]);
        // Through a snapshot: the same entries, due at the same times.
        for (at, i) in [(4000, 1), (3900, 2), (4100, 3)] {
            q.push(at, c(i));
        }
        let kept = serde_json::to_string(&q).unwrap();
        assert_eq!(
            kept,
            r#"{"minutes":{"65":[[3900,2]],"66":[[4000,1]],"68":[[4100,3]]}}"#
        );
        let mut back: DueQueue = serde_json::from_str(&kept).unwrap();
        assert_eq!(back.take_until(4000), vec![c(2), c(1)]);
        assert_eq!(back.take_until(9000), vec![c(3)]);
    }

    #[test]
    fn the_due_queue_costs_its_entries_not_the_time_they_span() {
        // See: issue 19. Year 1 and year 9999 beside 2026: three entries, three lists.
        let c = |i| CustomerIdx(i);
        let (year_1, year_2026, year_9999) = (-62_135_596_800, 1_783_994_400, 253_402_300_799);
        let mut q = DueQueue::default();
        q.push(year_2026, c(1));
        q.push(year_9999, c(2));
        q.push(year_1, c(3));
        assert_eq!(q.minutes.len(), 3);
        assert_eq!(q.take_until(year_2026), vec![c(3), c(1)]);
        assert_eq!(q.take_until(year_9999), vec![c(2)]);
        assert!(q.minutes.is_empty());
    }
}
