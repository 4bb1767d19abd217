//! The classic OMS prediction rule, kept as the baseline every figure is compared with.
//!
//! What the commercial outage-management systems document (Oracle NMS, ArcFM
//! Responder, PSI): each call lands on its transformer (its *unit*; a customer with no
//! transformer above it is its own unit); calls roll up the protective-device chain to
//! the highest device below which enough units have called — at least
//! [`MIN_UNITS`] units and at least [`SHARE`] of the units below it; two calls on one
//! transformer predict the transformer, one call predicts a single-customer outage;
//! a unit silent for [`GAP_MIN`] minutes starts over (a time gap is a new outage); a
//! device SCADA watches (a breaker) is predicted only when SCADA shows it open. AMI last
//! gasps count as calls; a meter's "power back", SCADA closed or a crew's restoration
//! restores the prediction above it. Predictions merge upwards; they never split.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::{BeliefDelta, Explanation, Observation, Removal, Site};
use crate::network::{CustomerIdx, DeviceIdx, DeviceKind, Network};

/// Fewest calling units below a device to predict it.
pub const MIN_UNITS: u32 = 2;
/// Least share of the units below a device that must call to predict it.
pub const SHARE: f64 = 0.25;
/// A unit whose last call is older than this starts a new outage.
pub const GAP_MIN: i64 = 60;

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct UnitCalls {
    points: Vec<CustomerIdx>,
    calls: u32,
    ami_off: u32,
    first_at: Option<DateTime<Utc>>,
    last_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Prediction {
    rule: std::borrow::Cow<'static, str>,
    since: DateTime<Utc>,
}

/// The classic analyzer: see the module docs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Baseline {
    units_below: Vec<u32>,
    calling_below: Vec<u32>,
    #[serde(with = "crate::network::as_pairs")]
    units: HashMap<Site, UnitCalls>,
    scada_open: Vec<bool>,
    #[serde(with = "crate::network::as_pairs")]
    open: BTreeMap<Site, Prediction>,
}

/// The unit a customer's call lands on.
fn unit_of(net: &Network, c: CustomerIdx) -> Site {
    net.transformer_of_customer(c)
        .map(Site::Device)
        .unwrap_or(Site::Point(c))
}

impl Baseline {
    /// A baseline with no calls yet.
    pub fn new(net: &Network) -> Self {
        let mut units_below = vec![0u32; net.device_count()];
        let mut seen = std::collections::HashSet::new();
        for c in net.customer_indices() {
            let unit = unit_of(net, c);
            if !seen.insert(unit) {
                continue;
            }
            let base = match unit {
                Site::Device(d) => Some(d),
                Site::Point(p) => net.device_above_customer(p),
            };
            for d in net.chain_from(base) {
                units_below[d.index()] += 1;
            }
        }
        Self {
            calling_below: vec![0; net.device_count()],
            units_below,
            units: HashMap::new(),
            scada_open: vec![false; net.device_count()],
            open: BTreeMap::new(),
        }
    }

    fn base_of(net: &Network, unit: Site) -> Option<DeviceIdx> {
        match unit {
            Site::Device(d) => Some(d),
            Site::Point(p) => net.device_above_customer(p),
        }
    }

    fn add_call(
        &mut self,
        net: &Network,
        c: CustomerIdx,
        at: DateTime<Utc>,
        ami: bool,
    ) -> BeliefDelta {
        let unit = unit_of(net, c);
        let mut delta = BeliefDelta::default();
        // A time gap: the unit's old calls belong to an outage that is over.
        let stale = self
            .units
            .get(&unit)
            .and_then(|u| u.last_at)
            .is_some_and(|l| at - l > Duration::minutes(GAP_MIN));
        if stale && !self.open.keys().any(|s| s.covers(unit, net)) {
            self.clear_unit(net, unit);
        }
        let first_call = !self.units.contains_key(&unit);
        let u = self.units.entry(unit).or_default();
        if !u.points.contains(&c) {
            u.points.push(c);
        }
        u.calls += 1;
        u.ami_off += u32::from(ami);
        u.first_at = Some(u.first_at.map_or(at, |f| f.min(at)));
        u.last_at = Some(at);
        let distinct = u.points.len() as u32;
        if first_call {
            for d in net.chain_from(Self::base_of(net, unit)) {
                self.calling_below[d.index()] += 1;
            }
        }
        // Already explained by a prediction?
        if let Some(cov) = self
            .open
            .keys()
            .find(|s| s.covers(Site::Point(c), net))
            .copied()
        {
            delta.touched.push(cov);
            return delta;
        }
        // Roll up: the highest qualifying device on the chain.
        let mut target: Option<(Site, &'static str)> = None;
        for d in net.chain_from(Self::base_of(net, unit)) {
            if net.device(d).kind() == DeviceKind::Breaker && !self.scada_open[d.index()] {
                continue;
            }
            let calling = self.calling_below[d.index()];
            let units = self.units_below[d.index()].max(1);
            if calling >= MIN_UNITS && f64::from(calling) >= SHARE * f64::from(units) {
                target = Some((Site::Device(d), "roll-up: enough transformers below called"));
            }
        }
        if target.is_none() {
            target = match unit {
                Site::Device(_) if distinct >= 2 || ami => {
                    Some((unit, "two calls on one transformer"))
                }
                _ => Some((Site::Point(c), "a single call: single-customer outage")),
            };
        }
        if let Some((site, rule)) = target {
            self.predict(net, site, rule, at, &mut delta);
        }
        delta
    }

    fn predict(
        &mut self,
        net: &Network,
        site: Site,
        rule: &'static str,
        at: DateTime<Utc>,
        delta: &mut BeliefDelta,
    ) {
        if self.open.contains_key(&site) {
            delta.touched.push(site);
            return;
        }
        let merged: Vec<Site> = self
            .open
            .keys()
            .copied()
            .filter(|s| site.covers(*s, net))
            .collect();
        for m in merged {
            self.open.remove(&m);
            delta.removed.push((m, Removal::Withdrawn));
        }
        self.open.insert(
            site,
            Prediction {
                rule: rule.into(),
                since: at,
            },
        );
        delta.added.push(site);
    }

    fn clear_unit(&mut self, net: &Network, unit: Site) {
        if self.units.remove(&unit).is_some() {
            for d in net.chain_from(Self::base_of(net, unit)) {
                self.calling_below[d.index()] -= 1;
            }
        }
    }

    /// Power is back at or below `site`: restore predictions it covers or that cover it.
    fn restore(&mut self, net: &Network, site: Site, delta: &mut BeliefDelta) {
        let hit: Vec<Site> = self
            .open
            .keys()
            .copied()
            .filter(|s| s.covers(site, net) || site.covers(*s, net))
            .collect();
        let mut cleared_scope = vec![site];
        for s in hit {
            self.open.remove(&s);
            delta.removed.push((s, Removal::Restored));
            cleared_scope.push(s);
        }
        let units: Vec<Site> = self
            .units
            .keys()
            .copied()
            .filter(|u| cleared_scope.iter().any(|s| s.covers(*u, net) || *s == *u))
            .collect();
        for u in units {
            self.clear_unit(net, u);
        }
    }

    /// Take one observation; see [`super::Analyzer::observe`].
    pub fn observe(&mut self, net: &Network, at: DateTime<Utc>, obs: Observation) -> BeliefDelta {
        let mut delta = BeliefDelta::default();
        match obs {
            Observation::Dark(c) | Observation::StillOut(c) => {
                return self.add_call(net, c, at, false)
            }
            Observation::AmiOff(c) => return self.add_call(net, c, at, true),
            Observation::AmiOn(c) => self.restore(net, Site::Point(c), &mut delta),
            Observation::ScadaOpen(d) | Observation::Confirmed(d) => {
                self.scada_open[d.index()] = true;
                self.predict(
                    net,
                    Site::Device(d),
                    "SCADA shows the device open",
                    at,
                    &mut delta,
                );
            }
            Observation::ScadaClosed(d) => {
                self.scada_open[d.index()] = false;
                self.restore(net, Site::Device(d), &mut delta);
            }
            Observation::Restored(site) => {
                if let Site::Device(d) = site {
                    self.scada_open[d.index()] = false;
                }
                self.restore(net, site, &mut delta);
            }
            Observation::Tick => {}
        }
        delta
    }

    /// What a prediction explains.
    pub fn explain(&self, net: &Network, site: Site) -> Option<Explanation> {
        let p = self.open.get(&site)?;
        let (mut calls, mut ami, mut first) = (0, 0, None::<DateTime<Utc>>);
        for (u, c) in &self.units {
            if site.covers(*u, net)
                || *u == site
                || matches!((site, *u), (Site::Point(a), Site::Device(_)) if c.points.contains(&a))
            {
                calls += c.calls;
                ami += c.ami_off;
                first = match (first, c.first_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        let score = match site {
            Site::Device(d) => f64::from(self.calling_below[d.index()]),
            Site::Point(_) => 1.0,
        };
        Some(Explanation {
            calls,
            ami_off: ami,
            scada_open: matches!(site, Site::Device(d) if self.scada_open[d.index()]),
            first_evidence_at: first.or(Some(p.since)),
            rule: super::Rule::Text(p.rule.clone()),
            score,
            confidence: 0.5,
            alternatives: Vec::new(),
        })
    }
}
