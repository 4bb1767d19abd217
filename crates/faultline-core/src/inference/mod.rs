//! Trouble-call analysis: from reports, AMI messages and SCADA changes to the set of
//! devices believed open.
//!
//! # Two analyzers, one interface
//! - [`Scored`] is faultline's: every candidate device is scored by how well it explains
//!   *all* current evidence — the calls and last gasps expected from the customers it
//!   would darken (call-in rate × reporting-delay law) against the background rate of
//!   unrelated calls — and the set of open devices that explains the evidence best is
//!   kept, by an exact dynamic programme over the protective-device tree
//!   (see [`scored`]). It moves up, down, splits and merges as evidence arrives.
//! - [`Baseline`] is the classic OMS rule (what Oracle NMS, ArcFM Responder and PSI
//!   document): calls land on their transformer and roll up to the common upstream
//!   device once a count or share threshold below it is passed; a time gap starts a
//!   new outage; never predict at a device SCADA shows closed (see [`baseline`]).
//!
//! Both keep a belief: the open *sites* (a protective device, or one service point
//! for a single customer's outage) with the evidence each explains. After every
//! observation the analyzer says which sites appeared, disappeared (and why) or changed
//! ([`BeliefDelta`]); the engine turns that into outage objects.
//!
//! # Cost
//! An observation walks the chain of protective devices above its service point
//! (the feeder's depth), never the network. A periodic refresh (once per minute of
//! event time) re-scores the devices that have evidence, because the expected number
//! of calls grows with the time since the fault.
//!
//! Pure: no I/O, no clock (time comes in with each observation), deterministic.

pub mod baseline;
pub mod scored;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::network::{CustomerIdx, DeviceIdx, Network};

pub use baseline::Baseline;
pub use scored::Scored;

/// Where an outage is believed to be.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Site {
    /// A protective device (or transformer) believed open.
    Device(DeviceIdx),
    /// A single service point (its drop or meter) believed out.
    Point(CustomerIdx),
}

impl Site {
    /// Whether `self` is at or above `other` in the network (a device above a service
    /// point counts; a service point is above only itself).
    pub fn covers(self, other: Site, net: &Network) -> bool {
        match (self, other) {
            (Site::Device(a), Site::Device(b)) => net.is_at_or_above(a, b),
            (Site::Device(a), Site::Point(p)) => net.chain_of_customer(p).any(|d| d == a),
            (Site::Point(a), Site::Point(b)) => a == b,
            (Site::Point(_), Site::Device(_)) => false,
        }
    }

    /// Related: one covers the other.
    pub fn related(self, other: Site, net: &Network) -> bool {
        self.covers(other, net) || other.covers(self, net)
    }
}

/// One observation, already resolved to the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    /// A customer says the power is off (`no_power`, `partial_power`).
    Dark(CustomerIdx),
    /// A meter's last gasp.
    AmiOff(CustomerIdx),
    /// A customer called back after a restoration says the power is still out: a
    /// report that counts at once, even while a restoration's grace is running.
    StillOut(CustomerIdx),
    /// A meter says power is back.
    AmiOn(CustomerIdx),
    /// SCADA: the device opened.
    ScadaOpen(DeviceIdx),
    /// SCADA: the device closed.
    ScadaClosed(DeviceIdx),
    /// A crew restored this device: it is closed, and the calls below it are answered.
    Restored(Site),
    /// A dispatcher confirmed that this device is open.
    Confirmed(DeviceIdx),
    /// Time passed.
    Tick,
}

/// Why a site left the belief.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Removal {
    /// Power is back (AMI on, SCADA closed, a crew restored it).
    Restored,
    /// The evidence is better explained otherwise (moved, merged, split) or expired.
    Withdrawn,
}

/// What changed in the belief with one observation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BeliefDelta {
    /// Sites newly believed open.
    pub added: Vec<Site>,
    /// Sites no longer believed open, and why.
    pub removed: Vec<(Site, Removal)>,
    /// Sites still open whose evidence changed.
    pub touched: Vec<Site>,
}

impl BeliefDelta {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.touched.is_empty()
    }
}

/// The rule or score that placed an outage, put into words when the outage is written
/// out: an outage's numbers change with every report below it, and most of those
/// changes are never sent on their own (the minute's flush sends the last), so the
/// words are put together only for what is sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// In words already.
    Text(std::borrow::Cow<'static, str>),
    /// faultline's score of a device against the devices below it.
    Score {
        /// Customers calling from below the device.
        calls: u32,
        /// Last gasps from below the device.
        ami_off: u32,
        /// Customers below the device.
        customers: u64,
        /// Service points below, where they stand for more customers than one each
        /// (their meters are what the last gasps are counted among).
        points: Option<u32>,
        /// The log-likelihood ratio of "open here" against "all closed".
        value: f64,
        /// How much better that is than the devices below.
        margin: f64,
    },
}

impl Default for Rule {
    fn default() -> Self {
        Rule::Text("".into())
    }
}

impl From<&'static str> for Rule {
    fn from(text: &'static str) -> Self {
        Rule::Text(text.into())
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Text(text) => f.write_str(text),
            Rule::Score {
                calls,
                ami_off,
                customers,
                points,
                value,
                margin,
            } => {
                write!(
                    f,
                    "best explanation of {calls} call(s) and {ami_off} last gasp(s) among {customers} customers"
                )?;
                if let Some(points) = points {
                    write!(f, " ({points} service points)")?;
                }
                write!(
                    f,
                    " below (log-likelihood ratio {value:.1}, {margin:.1} better than the devices below)"
                )
            }
        }
    }
}

/// A snapshot keeps the words.
impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Rule::Text(String::deserialize(d)?.into()))
    }
}

/// What one open site explains and why it was placed there.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Explanation {
    /// Customers calling from below the site (counting each customer once).
    pub calls: u32,
    /// Last gasps from below the site.
    pub ami_off: u32,
    /// SCADA shows the device open.
    pub scada_open: bool,
    /// Earliest evidence time.
    pub first_evidence_at: Option<DateTime<Utc>>,
    /// The rule or score that placed it.
    pub rule: Rule,
    /// Log-likelihood ratio of "open here" against "all closed" (faultline), or the
    /// rule's count (baseline).
    pub score: f64,
    /// Probability-like confidence in 0..1.
    pub confidence: f64,
    /// Other explanations considered, with their scores.
    pub alternatives: Vec<(Site, f64)>,
}

/// The parameters of the call-in physics. Defaults are those of published storm
/// studies (8–12 % of dark customers call; calls spread over tens of minutes).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Physics {
    /// Share of dark customers who eventually call.
    pub call_rate: f64,
    /// Median delay from the fault to a customer's call, minutes.
    pub call_delay_median_min: f64,
    /// Log-normal shape of the call delay.
    pub call_delay_sigma: f64,
    /// Unrelated calls per customer per hour (a customer's own breaker, a flicker).
    pub noise_per_customer_hour: f64,
    /// Probability that a dark customer's last gasp arrives (smart-meter share × delivery
    /// rate). One value for the whole network: a device whose meters gasped far less
    /// often than that is less likely than a smaller one that explains the gasps.
    pub ami_gasp_rate: f64,
    /// Probability of a spurious last gasp from a meter that has power.
    pub ami_false_rate: f64,
    /// How sure the call-in law is: the call probability is taken as Beta-distributed
    /// around the law's value with this concentration (10: a storm whose customers
    /// call half or twice as often as the law says is still well explained).
    pub call_rate_concentration: f64,
    /// Log prior cost of one more outage (log of prior odds against a fault there).
    pub outage_cost: f64,
    /// Extra log prior cost of a breaker open that SCADA never reported. Feeder
    /// breakers are usually watched, and a watched one reports its trip within
    /// seconds; but a feeder head may have no SCADA (an imported network's first line
    /// out of the substation acts as its breaker), and then only the calls and last
    /// gasps tell. Large enough that a breaker is named only when it explains the
    /// evidence clearly better than the devices below it.
    pub unwatched_breaker_cost: f64,
    /// Unexplained evidence is forgotten after this long (minutes).
    pub evidence_window_min: i64,
}

impl Default for Physics {
    fn default() -> Self {
        Self {
            call_rate: 0.10,
            call_delay_median_min: 12.0,
            call_delay_sigma: 0.9,
            noise_per_customer_hour: 2.0e-4,
            ami_gasp_rate: 0.2,
            ami_false_rate: 1.0e-5,
            call_rate_concentration: 10.0,
            outage_cost: 5.0,
            unwatched_breaker_cost: 30.0,
            evidence_window_min: 180,
        }
    }
}

impl Physics {
    /// Probability that a customer of a fault `elapsed` ago has called by now.
    pub fn call_probability(&self, elapsed: Duration) -> f64 {
        self.call_rate
            * lognormal_cdf(
                elapsed.num_seconds() as f64 / 60.0,
                self.call_delay_median_min,
                self.call_delay_sigma,
            )
    }
}

/// CDF of a log-normal law with the given median and shape, at `x` (same unit).
pub fn lognormal_cdf(x: f64, median: f64, sigma: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let z = (x / median).ln() / sigma;
    0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
}

/// Natural log of the gamma function for `x > 0`, written out so that every machine
/// computes the same value: from 10 up, Stirling's series to the `x⁻⁷` term (absolute
/// error below 1e-12; one logarithm and one division); below, Lanczos (g = 7, 9 terms:
/// relative error below 1e-13; two logarithms and eight divisions). The analyzer's
/// arguments are mostly customer counts, in the hundreds: Stirling's branch takes
/// most of them, at a third of the cost.
pub fn ln_gamma(x: f64) -> f64 {
    const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x >= 10.0 {
        // ln Γ(x) = (x − ½) ln x − x + ½ ln 2π + 1/12x − 1/360x³ + 1/1260x⁵ − 1/1680x⁷ …
        let r = 1.0 / x;
        let r2 = r * r;
        let series =
            r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 * (1.0 / 1680.0))));
        return (x - 0.5) * x.ln() - x + HALF_LN_2PI + series;
    }
    if x < 0.5 {
        // Reflection.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// `ln Γ(x + k) − ln Γ(x)` for `x > 0`, given `ln Γ(x)`: the log of the rising factorial
/// `x (x + 1) … (x + k − 1)`, one logarithm of a product for the small `k` of a device's
/// calls (the product stays far below `f64`'s range up to [`RISING_BY_PRODUCT`]).
pub fn ln_rising(x: f64, k: u32, ln_gamma_x: f64) -> f64 {
    if k == 0 {
        return 0.0;
    }
    if k > RISING_BY_PRODUCT {
        return ln_gamma(x + f64::from(k)) - ln_gamma_x;
    }
    let mut product = 1.0;
    for i in 0..k {
        product *= x + f64::from(i);
    }
    product.ln()
}

/// Up to this many factors, [`ln_rising`] multiplies: (x + 32)^32 < 1e60 for x < 40.
const RISING_BY_PRODUCT: u32 = 32;

/// Error function (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7): enough for a law
/// whose parameters are known to a few per cent.
fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    sign * y
}

/// An analyzer: faultline's or the baseline.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Analyzer {
    /// faultline's scored inference.
    Scored(Box<Scored>),
    /// The classic roll-up rule.
    Baseline(Box<Baseline>),
}

impl Analyzer {
    /// faultline's analyzer for this network.
    pub fn scored(net: &Network, physics: Physics) -> Self {
        Analyzer::Scored(Box::new(Scored::new(net, physics)))
    }

    /// The classic rule for this network.
    pub fn baseline(net: &Network) -> Self {
        Analyzer::Baseline(Box::new(Baseline::new(net)))
    }

    /// Take one observation at time `at`; return what changed.
    pub fn observe(&mut self, net: &Network, at: DateTime<Utc>, obs: Observation) -> BeliefDelta {
        match self {
            Analyzer::Scored(s) => s.observe(net, at, obs),
            Analyzer::Baseline(b) => b.observe(net, at, obs),
        }
    }

    /// What one open site explains (None when it is not open).
    pub fn explain(&self, net: &Network, site: Site) -> Option<Explanation> {
        match self {
            Analyzer::Scored(s) => s.explain(net, site),
            Analyzer::Baseline(b) => b.explain(net, site),
        }
    }

    /// Other explanations considered for an open site, with their scores.
    pub fn alternatives(&self, net: &Network, site: Site) -> Vec<(Site, f64)> {
        match self {
            Analyzer::Scored(s) => s.alternatives(net, site),
            Analyzer::Baseline(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_law_rises_to_the_call_rate() {
        let p = Physics::default();
        assert_eq!(p.call_probability(Duration::zero()), 0.0);
        let at_median = p.call_probability(Duration::minutes(12));
        assert!((at_median - 0.05).abs() < 1e-6, "{at_median}");
        assert!(p.call_probability(Duration::hours(10)) > 0.0999);
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!((ln_gamma(1.0)).abs() < 1e-12);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-10);
        assert!((ln_gamma(101.0) - 363.739_375_555_563_47).abs() < 1e-8);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-10);
    }

    #[test]
    fn ln_gamma_agrees_across_its_two_branches() {
        // ln n! = ln Γ(n + 1), summed exactly enough in f64 for these n.
        let ln_factorial = |n: u32| (2..=n).map(|k| f64::from(k).ln()).sum::<f64>();
        for n in [9, 10, 11, 20, 150, 1000] {
            let x = f64::from(n) + 1.0;
            let rel = (ln_gamma(x) - ln_factorial(n)).abs() / ln_factorial(n);
            assert!(rel < 1e-13, "ln Γ({x}): relative error {rel}");
        }
        // Either side of the switch at 10, at non-integers too.
        for x in [9.999_999, 10.0, 10.000_001, 12.5] {
            let below = ln_gamma(x - 1.0) + (x - 1.0).ln(); // Γ(x) = (x−1) Γ(x−1)
            assert!((ln_gamma(x) - below).abs() < 1e-11, "ln Γ({x})");
        }
    }

    #[test]
    fn ln_rising_is_the_difference_of_two_ln_gammas_on_both_branches() {
        for x in [0.01, 0.3, 0.999, 1.0, 7.5, 39.0] {
            for k in 0..=40u32 {
                let want = ln_gamma(x + f64::from(k)) - ln_gamma(x);
                let got = ln_rising(x, k, ln_gamma(x));
                assert!(
                    (got - want).abs() < 1e-10 * want.abs().max(1.0),
                    "x {x}, k {k}: {got} against {want}"
                );
            }
        }
    }

    #[test]
    fn erf_matches_known_values() {
        assert!((erf(0.5) - 0.520_499_877_8).abs() < 2e-7);
        assert!((erf(-1.0) + 0.842_700_792_9).abs() < 2e-7);
    }
}
