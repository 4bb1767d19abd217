//! Report bookkeeping: which report ids each service point has made and when, so that
//! an outage lists the reports made since it began, a report sent twice counts once,
//! and what no outage or callback needs any more is forgotten.

use super::*;

impl Engine {
    /// Forget what is kept of reports made before the callback window
    /// ([`Targets::callback_days`]): every id kept to count a report sent twice once,
    /// and each service point's report ids, unless the point is in an active outage that
    /// began before the window (its callbacks will list them). Once a day of event time
    /// (a look at every service point that reported): over a year, a busy network's
    /// customers report again and again, and the engine kept every report's id. And the
    /// callbacks closed before the window are forgotten.
    pub(super) fn forget_old_reports(&mut self, clock: DateTime<Utc>) {
        let horizon = clock - self.callback_window();
        self.callbacks.forget_closed_before(horizon);
        self.reports_seen
            .retain(|_, seen| *seen >= horizon.timestamp());
        let mut report_ids_at = std::mem::take(&mut self.report_ids_at);
        report_ids_at.retain(|c, reports| {
            if reports.0.first().is_none_or(|(_, made)| *made >= horizon) {
                return true;
            }
            let keep_from = self
                .outage_of_customer(c)
                .map_or(horizon, |o| o.started_at.min(horizon));
            reports.forget_before(keep_from);
            let kept = !reports.0.is_empty();
            if !kept {
                if let Some(l) = self.latest_report_at.get_mut(c.index()) {
                    *l = None;
                }
            }
            kept
        });
        self.report_ids_at = report_ids_at;
    }

    /// List the report being applied on the outage it joined (while the list is short).
    pub(super) fn note_report(&mut self, id: u64, site: Site) {
        let Some((c, rid)) = &self.last_report else {
            return;
        };
        if !site.covers(Site::Point(*c), &self.network) {
            return;
        }
        if let Some(o) = self.outages.get_mut(&id) {
            if o.report_ids.len() < REPORT_IDS_SHOWN && !o.report_ids.contains(rid) {
                o.report_ids.push(rid.clone());
            }
        }
    }

    /// The first few report ids an outage at `site` that began at `since` explains (on
    /// creation or a move): reports made since then, never those of an earlier outage
    /// on the same customers.
    pub(super) fn report_ids_below(&self, site: Site, since: DateTime<Utc>) -> Vec<String> {
        let first_reports = |points: &mut dyn Iterator<Item = CustomerIdx>| {
            points
                // Most service points below a device last reported long before, if ever.
                .filter(|c| {
                    self.latest_report_at
                        .get(c.index())
                        .copied()
                        .flatten()
                        .is_some_and(|latest| latest >= since)
                })
                .filter_map(|c| self.report_ids_at.get(&c))
                .flat_map(|reports| reports.between(since, DateTime::<Utc>::MAX_UTC))
                .take(REPORT_IDS_SHOWN)
                .map(|(id, _)| id.clone())
                .collect()
        };
        match site {
            Site::Point(c) => first_reports(&mut std::iter::once(c)),
            // The subtree is walked only until the list is full.
            Site::Device(d) => first_reports(&mut self.network.customers_below_lazily(d)),
        }
    }
}

/// Keep the engine's `latest_report_at` up to date with a report of `c`'s at `at`.
pub(super) fn note_report_time(
    latest: &mut Vec<Option<DateTime<Utc>>>,
    c: CustomerIdx,
    at: DateTime<Utc>,
) {
    if latest.len() <= c.index() {
        latest.resize(c.index() + 1, None);
    }
    latest[c.index()] = latest[c.index()].max(Some(at));
}

/// One service point's reports (their ids and times), oldest first.
///
/// A customer of a busy network reports again and again over weeks, and a restoration
/// looks at the reports of every customer below it: the ones it explains are the
/// latest few, found by reading from the end (binary search would read a cold list at
/// random, which costs more than the few entries read here).
///
/// In a snapshot, the list as it stands; read back, it is put in time order again (an
/// engine that kept the list in arrival order may have written it).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub(super) struct PointReports(Vec<(String, DateTime<Utc>)>);

impl PointReports {
    /// Add a report made at `at`, after those made before it or at the same time. Events
    /// mostly come in time order: then this is a push.
    pub(super) fn insert(&mut self, id: String, at: DateTime<Utc>) {
        let place = self
            .0
            .iter()
            .rposition(|(_, made)| *made <= at)
            .map_or(0, |last_before| last_before + 1);
        self.0.insert(place, (id, at));
    }

    /// The reports made from `from` to `until` (both included), oldest first.
    pub(super) fn between(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> &[(String, DateTime<Utc>)] {
        let end = self
            .0
            .iter()
            .rposition(|(_, made)| *made <= until)
            .map_or(0, |last_in| last_in + 1);
        let start = self.0[..end]
            .iter()
            .rposition(|(_, made)| *made < from)
            .map_or(0, |last_before| last_before + 1);
        &self.0[start..end]
    }

    /// Forget the reports made before `t`.
    pub(super) fn forget_before(&mut self, t: DateTime<Utc>) {
        let old = self.0.partition_point(|(_, made)| *made < t);
        self.0.drain(..old);
    }

    /// When the latest report was made.
    pub(super) fn latest(&self) -> Option<DateTime<Utc>> {
        self.0.last().map(|(_, made)| *made)
    }
}

impl<'de> serde::Deserialize<'de> for PointReports {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut reports = Vec::<(String, DateTime<Utc>)>::deserialize(d)?;
        // Stable: reports made at the same time keep the order they came in.
        reports.sort_by_key(|(_, made)| *made);
        Ok(Self(reports))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_783_994_400 + 60 * minute, 0).unwrap()
    }

    pub(super) fn ids(reports: &[(String, DateTime<Utc>)]) -> Vec<&str> {
        reports.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// Reports stay in time order whatever order they come in (equal times in the order
    /// they came), and a window is every report in it, both ends included.
    #[test]
    pub(super) fn point_reports_keep_time_order_and_find_a_window() {
        let mut reports = PointReports::default();
        for (id, minute) in [("a", 10), ("b", 20), ("c", 30), ("late", 15), ("c2", 30)] {
            reports.insert(id.into(), at(minute));
        }
        assert_eq!(ids(&reports.0), ["a", "late", "b", "c", "c2"]);
        assert_eq!(reports.latest(), Some(at(30)));
        assert_eq!(
            ids(reports.between(at(15), at(30))),
            ["late", "b", "c", "c2"]
        );
        assert_eq!(ids(reports.between(at(11), at(29))), ["late", "b"]);
        assert_eq!(ids(reports.between(at(0), at(10))), ["a"]);
        assert!(reports.between(at(31), at(40)).is_empty());
        assert!(reports.between(at(0), at(9)).is_empty());
        assert!(reports.between(at(16), at(19)).is_empty());
        assert!(PointReports::default().between(at(0), at(40)).is_empty());
    }

    /// A snapshot keeps the list as it is; one written in arrival order reads back in
    /// time order.
    #[test]
    pub(super) fn point_reports_read_back_in_time_order() {
        let mut reports = PointReports::default();
        reports.insert("a".into(), at(10));
        reports.insert("b".into(), at(20));
        let text = serde_json::to_string(&reports).unwrap();
        assert_eq!(
            text,
            serde_json::to_string(&vec![("a", at(10)), ("b", at(20))]).unwrap()
        );
        let arrival_order =
            serde_json::to_string(&vec![("b", at(20)), ("a", at(10)), ("a2", at(10))]).unwrap();
        let read: PointReports = serde_json::from_str(&arrival_order).unwrap();
        assert_eq!(ids(&read.0), ["a", "a2", "b"]);
    }
}
