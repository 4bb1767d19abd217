//! Callbacks (回访): after an outage is restored, every customer who reported it is
//! called back; an agent records what the customer said as a `callback` event.
//!
//! One callback per (outage, service point), listed when the outage is restored.
//! `no_answer` keeps it pending (call again); `restored` and `still_out` settle it.
//! `still_out` reopens analysis for that customer: the engine links the callback and
//! the restored outage to the outage that now covers the customer (see
//! [`super::Engine`]), as `follow_up` here and `follows` / `follow_ups` on the outages.
//!
//! Pure; ordered maps only, so replay gives the same messages.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
/// The engine's side of callbacks: listing them when an outage is restored, recording
/// the answers, closing them when their time is up.
mod engine_side {
    use super::super::*;

    impl Engine {
        /// List a callback for every customer who reported outage `n`, now restored (once).
        pub(in crate::engine) fn list_callbacks(
            &mut self,
            n: u64,
            crew: Option<String>,
            clock: DateTime<Utc>,
            out: &mut Vec<Output>,
        ) {
            if self.callbacks.listed_for(n) {
                return;
            }
            let Some(o) = self.outages.get(&n) else {
                return;
            };
            let until = o.restored_at.unwrap_or(clock);
            // By service point, each with the reports it made about this outage.
            let mut reporters: Vec<(CustomerIdx, Vec<String>)> = Vec::new();
            match (o.kind, o.site) {
                (OutageKind::Device | OutageKind::Service, Some(site)) => {
                    let points = match site {
                        Site::Point(c) => vec![c],
                        Site::Device(d) => self.network.customers_below(d),
                    };
                    for c in points {
                        // Most customers below reported nothing in this outage's time: their
                        // latest report, before the outage began, passes them over before
                        // their reports are read.
                        let Some(latest) = self.latest_report_at.get(c.index()).copied().flatten()
                        else {
                            continue;
                        };
                        if latest < o.started_at {
                            continue;
                        }
                        let Some(reports) = self.report_ids_at.get(&c) else {
                            continue;
                        };
                        let made = reports.between(o.started_at, until);
                        if made.is_empty() {
                            continue;
                        }
                        // A customer inside another outage still active reported that one.
                        if self
                            .outage_of_customer(c)
                            .is_some_and(|other| other.number != n)
                        {
                            continue;
                        }
                        reporters.push((c, made.iter().map(|(id, _)| id.clone()).collect()));
                    }
                    // The subtree's walk gives each service point once, in no useful order.
                    reporters.sort_unstable_by_key(|(c, _)| *c);
                }
                _ => {
                    // A customer may have reported a failed meter more than once: one
                    // callback, with each report, in the order they came. Who reported is
                    // kept only for this (an outage's callbacks are listed once).
                    let mut by_point: BTreeMap<CustomerIdx, Vec<String>> = BTreeMap::new();
                    for (c, id) in self.direct_reporters.remove(&n).into_iter().flatten() {
                        by_point.entry(c).or_default().push(id);
                    }
                    reporters.extend(by_point);
                }
            }
            let crew = crew.or_else(|| o.crew.clone());
            let mut items = Vec::with_capacity(reporters.len());
            out.reserve(reporters.len());
            let closes_at = clock + self.callback_window();
            for (c, report_ids) in reporters {
                let sp = self.network.customer(c);
                let mut item = CallbackItem::listed(
                    n,
                    c,
                    sp.id.clone(),
                    sp.account.clone(),
                    report_ids,
                    crew.clone(),
                    clock,
                );
                item.closes_at = Some(closes_at);
                self.emit(out, clock, Message::CallbackListed(Box::new(item.clone())));
                items.push(item);
            }
            self.callbacks.list(n, items);
        }

        /// Close the callbacks whose time has come ([`Engine::callback_window`] after they
        /// were listed): one `callbacks.closed` message per outage, with how many were
        /// answered.
        pub(in crate::engine) fn close_callbacks(
            &mut self,
            clock: DateTime<Utc>,
            out: &mut Vec<Output>,
        ) {
            for (n, items) in self.callbacks.close_due(clock) {
                let unanswered = items.iter().filter(|item| item.is_pending()).count();
                let closed = CallbacksClosed {
                    outage: outage::outage_name(n),
                    listed_at: items[0].listed_at,
                    closed_at: clock,
                    callbacks: items.len(),
                    answered: items.len() - unanswered,
                    unanswered,
                };
                self.emit(out, clock, Message::CallbacksClosed(closed));
            }
        }

        /// Record a callback's outcome (`c`: its service point); "still out" reopens analysis
        /// for the customer.
        pub(in crate::engine) fn record_callback(
            &mut self,
            cb: &crate::events::Callback,
            c: Option<CustomerIdx>,
            clock: DateTime<Utc>,
            out: &mut Vec<Output>,
        ) {
            let n = outage::parse_outage_name(&cb.outage);
            if self
                .callbacks
                .check(n, c, &cb.outage, &cb.customer, cb.outcome)
                .is_err()
            {
                self.rejected += 1;
                return;
            }
            let (Some(n), Some(c)) = (n, c) else {
                return;
            };
            let settled = self
                .callbacks
                .get(n, c)
                .is_some_and(|item| !item.is_pending());
            if settled {
                // The same answer again: nothing changes.
                return;
            }
            let follow_up = if cb.outcome == CallbackOutcome::StillOut {
                self.reopen_for(c, n, clock, out)
            } else {
                None
            };
            if let Some(item) = self.callbacks.get_mut(n, c) {
                item.attempts += 1;
                item.outcome = Some(cb.outcome);
                item.outcome_at = Some(clock);
                item.agent = cb.agent.clone();
                item.note = cb.note.clone();
                item.follow_up = follow_up;
                let message = Message::CallbackUpdated(Box::new(item.clone()));
                self.emit(out, clock, message);
            }
        }

        /// A customer of restored outage `first` is still out: the active outage that covers
        /// them (an existing one, or a new one from analysing the answer as fresh evidence),
        /// linked to `first`.
        pub(in crate::engine) fn reopen_for(
            &mut self,
            c: CustomerIdx,
            first: u64,
            clock: DateTime<Utc>,
            out: &mut Vec<Output>,
        ) -> Option<u64> {
            let existing = self.outage_of_customer(c).map(|o| o.number);
            let found = match existing {
                Some(m) => m,
                None => {
                    self.observe(clock, clock, Observation::StillOut(c), out);
                    self.outage_of_customer(c).map(|o| o.number)?
                }
            };
            if found == first {
                return Some(found);
            }
            if let Some(o) = self.outages.get_mut(&first) {
                if !o.follow_ups.contains(&found) {
                    o.follow_ups.push(found);
                }
            }
            if let Some(o) = self.outages.get_mut(&found) {
                if o.follows.is_none() {
                    o.follows = Some(first);
                }
            }
            for id in [first, found] {
                let Some(o) = self.outages.get(&id) else {
                    continue;
                };
                if let Some(m) = out.iter_mut().rev().find(|m| m.outage() == Some(id)) {
                    m.message = m.message.with_outage(o);
                } else if o.announced {
                    let message = Message::OutageUpdated(Box::new(o.clone()));
                    self.emit(out, clock, message);
                }
            }
            Some(found)
        }
    }
}

#[cfg(test)]
use serde::Serialize;

use super::outage::{
    needs_escape, outage_name, push_opt_outage, push_opt_str, push_opt_time, push_serde, push_text,
    push_u64,
};
use crate::events::CallbackOutcome;
#[cfg(test)]
use crate::events::{serialize_opt_time, serialize_time};
use crate::network::CustomerIdx;

/// One customer to call back about one restored outage.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CallbackItem {
    /// The restored outage's number.
    pub outage: u64,
    /// The service point.
    pub customer: CustomerIdx,
    /// The service point's id (not in a snapshot: the network has it).
    #[serde(skip)]
    pub customer_id: String,
    /// The customer's account, where the network gives one (not in a snapshot either).
    #[serde(skip)]
    pub account: Option<String>,
    /// The reports the customer made about the outage.
    pub report_ids: Vec<String>,
    /// The crew that restored the outage (a crew token sees only its own).
    pub crew: Option<String>,
    /// When the outage was restored (and the callback listed).
    pub listed_at: DateTime<Utc>,
    /// When it closes, answered or not (see [`CallbackBook`]).
    #[serde(default)]
    pub closes_at: Option<DateTime<Utc>>,
    /// The last outcome recorded.
    pub outcome: Option<CallbackOutcome>,
    /// When it was recorded.
    pub outcome_at: Option<DateTime<Utc>>,
    /// Calls made so far.
    pub attempts: u32,
    /// The agent of the last call.
    pub agent: Option<String>,
    /// The agent's note on the last call.
    pub note: Option<String>,
    /// For `still_out`: the outage that now covers the customer.
    pub follow_up: Option<u64>,
}

impl CallbackItem {
    /// A callback just listed for customer `customer` (its id and account as the
    /// network gives them) of restored outage `outage`: not called yet.
    pub fn listed(
        outage: u64,
        customer: CustomerIdx,
        customer_id: String,
        account: Option<String>,
        report_ids: Vec<String>,
        crew: Option<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            outage,
            customer,
            customer_id,
            account,
            report_ids,
            crew,
            listed_at: at,
            closes_at: None,
            outcome: None,
            outcome_at: None,
            attempts: 0,
            agent: None,
            note: None,
            follow_up: None,
        }
    }

    /// Waiting for a settled answer (never called, or nobody answered).
    pub fn is_pending(&self) -> bool {
        matches!(self.outcome, None | Some(CallbackOutcome::NoAnswer))
    }

    /// The object as the stream and the API carry it, as JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        self.push_json(&mut out);
        out
    }

    /// Append [`Self::to_json`]'s text to `out` (the stream's writer reuses one buffer).
    pub fn push_json(&self, out: &mut String) {
        // Written by hand as serde's derive writes it (`to_json_serde`, in the tests): a
        // restoration lists one callback per reporting customer at once.
        // Sized for the whole object (its fixed text is some 250 bytes; the service
        // point's id is written twice), so a just-listed callback is written without
        // growing; one with an outcome may grow once.
        let text_len = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let capacity = 256
            + 2 * self.customer_id.len()
            + self.report_ids.iter().map(|id| id.len() + 3).sum::<usize>()
            + text_len(&self.account)
            + text_len(&self.crew)
            + text_len(&self.agent)
            + text_len(&self.note);
        out.reserve(capacity);
        if needs_escape(&self.customer_id) {
            out.push_str("{\"id\":");
            push_text(out, &self.id());
        } else {
            out.push_str("{\"id\":\"OUT-");
            push_u64(out, self.outage);
            out.push('/');
            out.push_str(&self.customer_id);
            out.push('"');
        }
        out.push_str(",\"outage\":\"OUT-");
        push_u64(out, self.outage);
        out.push_str("\",\"customer\":");
        push_text(out, &self.customer_id);
        out.push_str(",\"account\":");
        push_opt_str(out, self.account.as_deref());
        out.push_str(",\"report_ids\":[");
        for (i, id) in self.report_ids.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_text(out, id);
        }
        out.push_str("],\"crew\":");
        push_opt_str(out, self.crew.as_deref());
        out.push_str(if self.is_pending() {
            ",\"status\":\"pending\",\"listed_at\":"
        } else {
            ",\"status\":\"done\",\"listed_at\":"
        });
        push_opt_time(out, Some(self.listed_at));
        out.push_str(",\"closes_at\":");
        push_opt_time(out, self.closes_at);
        out.push_str(",\"outcome\":");
        push_serde(out, &self.outcome);
        out.push_str(",\"outcome_at\":");
        push_opt_time(out, self.outcome_at);
        out.push_str(",\"attempts\":");
        push_u64(out, self.attempts.into());
        out.push_str(",\"agent\":");
        push_opt_str(out, self.agent.as_deref());
        out.push_str(",\"note\":");
        push_opt_str(out, self.note.as_deref());
        out.push_str(",\"follow_up\":");
        push_opt_outage(out, self.follow_up);
        out.push('}');
    }

    /// [`CallbackItem::to_json`] through serde's derive: the reference the hand-written
    /// writer is checked against.
    #[cfg(test)]
    fn to_json_serde(&self) -> String {
        #[derive(Serialize)]
        struct Json<'a> {
            id: String,
            outage: String,
            customer: &'a str,
            account: Option<&'a str>,
            report_ids: &'a [String],
            crew: Option<&'a str>,
            status: &'static str,
            #[serde(serialize_with = "serialize_time")]
            listed_at: DateTime<Utc>,
            #[serde(serialize_with = "serialize_opt_time")]
            closes_at: Option<DateTime<Utc>>,
            outcome: Option<CallbackOutcome>,
            #[serde(serialize_with = "serialize_opt_time")]
            outcome_at: Option<DateTime<Utc>>,
            attempts: u32,
            agent: Option<&'a str>,
            note: Option<&'a str>,
            follow_up: Option<String>,
        }
        let json = Json {
            id: self.id(),
            outage: outage_name(self.outage),
            customer: &self.customer_id,
            account: self.account.as_deref(),
            report_ids: &self.report_ids,
            crew: self.crew.as_deref(),
            status: if self.is_pending() { "pending" } else { "done" },
            listed_at: self.listed_at,
            closes_at: self.closes_at,
            outcome: self.outcome,
            outcome_at: self.outcome_at,
            attempts: self.attempts,
            agent: self.agent.as_deref(),
            note: self.note.as_deref(),
            follow_up: self.follow_up.map(outage_name),
        };
        // A struct of plain fields always serializes.
        serde_json::to_string(&json).unwrap_or_default()
    }

    /// `OUT-5/C-1`: the outage and the service point.
    pub fn id(&self) -> String {
        format!("{}/{}", outage_name(self.outage), self.customer_id)
    }
}

/// The callbacks, by outage then service point.
///
/// An outage's callbacks are all listed at once, when it is restored (a storm's
/// restoration lists thousands): they are kept together, in one list by service point
/// per outage, rather than one map entry each (an entry of some 200 bytes put in on its
/// own, node splits and all, was 2.5 % of a replay).
///
/// Callbacks do not stay forever: [`CallbackBook::close_due`] takes those whose
/// `closes_at` has come out of the book (the engine sets it a set time after they were
/// listed), so a year of storms does not grow the engine, its
/// snapshots and every `status=all` answer without bound. What was said stays in the
/// log and in the stream's `callback.*` messages.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CallbackBook {
    /// Never an empty list. In a snapshot, as the map by (outage, service point) it
    /// stands for.
    #[serde(with = "by_outage_and_point")]
    items: BTreeMap<u64, Vec<CallbackItem>>,
    /// The outages of `items` whose callbacks close, in the order they close, with
    /// when (`closes_at`, Unix seconds). Derived from `items`, so not in a snapshot
    /// ([`CallbackBook::name_from`] puts it back).
    #[serde(skip)]
    by_closing: VecDeque<(i64, u64)>,
    /// Outages whose callbacks were closed, and when, for another callback window: they
    /// are not listed again, and a late answer is refused with the reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    closed: BTreeMap<u64, DateTime<Utc>>,
}

impl CallbackBook {
    /// Fill in what a snapshot leaves out because the network has it (the service
    /// point's id and account), and the order callbacks close in.
    pub(crate) fn name_from(&mut self, net: &crate::network::Network) {
        for item in self.items.values_mut().flatten() {
            let sp = net.customer(item.customer);
            item.customer_id = sp.id.clone();
            item.account = sp.account.clone();
        }
        let mut by_closing: Vec<(i64, u64)> = self
            .items
            .iter()
            .filter_map(|(n, items)| Some((items[0].closes_at?.timestamp(), *n)))
            .collect();
        by_closing.sort_unstable();
        self.by_closing = by_closing.into();
    }

    /// Close the callbacks whose `closes_at` is `now` or earlier: they leave the book
    /// (answered or not) and are returned, by outage in the order they close.
    pub(crate) fn close_due(&mut self, now: DateTime<Utc>) -> Vec<(u64, Vec<CallbackItem>)> {
        let mut closed = Vec::new();
        while let Some(&(closes, n)) = self.by_closing.front() {
            if closes > now.timestamp() {
                break;
            }
            self.by_closing.pop_front();
            if let Some(items) = self.items.remove(&n) {
                closed.push((n, items));
            }
            self.closed.insert(n, now);
        }
        closed
    }

    /// Forget which outages' callbacks were closed before `t` (a late answer to one of
    /// them is then refused as one to an outage that never listed any).
    pub(crate) fn forget_closed_before(&mut self, t: DateTime<Utc>) {
        self.closed.retain(|_, closed| *closed >= t);
    }

    /// When the callbacks of outage `outage` were closed, if they were.
    pub fn closed_at(&self, outage: u64) -> Option<DateTime<Utc>> {
        self.closed.get(&outage).copied()
    }

    /// Every callback, by outage then service point.
    pub fn items(&self) -> impl Iterator<Item = &CallbackItem> {
        self.items.values().flatten()
    }

    /// Callbacks already listed for this outage (and maybe closed since).
    pub fn listed_for(&self, outage: u64) -> bool {
        self.items.contains_key(&outage) || self.closed.contains_key(&outage)
    }

    /// One callback.
    pub fn get(&self, outage: u64, c: CustomerIdx) -> Option<&CallbackItem> {
        let items = self.items.get(&outage)?;
        let place = items.binary_search_by_key(&c, |item| item.customer).ok()?;
        Some(&items[place])
    }

    pub(crate) fn get_mut(&mut self, outage: u64, c: CustomerIdx) -> Option<&mut CallbackItem> {
        let items = self.items.get_mut(&outage)?;
        let place = items.binary_search_by_key(&c, |item| item.customer).ok()?;
        Some(&mut items[place])
    }

    /// The callbacks of restored outage `outage`, by service point (each once), listed
    /// together; none may be listed for it yet.
    pub(crate) fn list(&mut self, outage: u64, items: Vec<CallbackItem>) {
        debug_assert!(
            !self.listed_for(outage),
            "an outage's callbacks are listed once"
        );
        debug_assert!(
            items.iter().all(|item| item.outage == outage)
                && items.windows(2).all(|w| w[0].customer < w[1].customer),
            "the outage's, by service point"
        );
        let Some(first) = items.first() else {
            return;
        };
        if let Some(closes) = first.closes_at.map(|t| t.timestamp()) {
            // Listed on the engine's clock, which never goes back, with one window.
            let place = self.by_closing.partition_point(|&(c, _)| c <= closes);
            self.by_closing.insert(place, (closes, outage));
        }
        self.items.insert(outage, items);
    }

    /// Could this outcome be recorded now? The same outcome again is accepted (and
    /// changes nothing once settled).
    pub fn check(
        &self,
        outage: Option<u64>,
        c: Option<CustomerIdx>,
        outage_id: &str,
        customer_id: &str,
        outcome: CallbackOutcome,
    ) -> Result<(), String> {
        if let Some(closed) = outage.and_then(|o| self.closed_at(o)) {
            return Err(format!(
                "the callbacks about outage {outage_id:?} were closed at {} (they stay listed for a set time after the restoration: serve's --callback-days)",
                crate::events::format_time(closed)
            ));
        }
        let item = outage
            .zip(c)
            .and_then(|(o, c)| self.get(o, c))
            .ok_or_else(|| {
                format!(
                    "no callback is listed for customer {customer_id:?} about outage {outage_id:?} (one is listed for each customer who reported an outage, once it is restored)"
                )
            })?;
        match item.outcome {
            Some(done) if done != CallbackOutcome::NoAnswer && done != outcome => Err(format!(
                "the callback to {customer_id} about {outage_id} is already settled as {}",
                serde_json::to_value(done)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )),
            _ => Ok(()),
        }
    }
}

/// Serde for [`CallbackBook`]'s lists: the `[[outage, service point], callback]` pairs
/// of the map by (outage, service point) the book once was, so snapshots read as before.
mod by_outage_and_point {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::CallbackItem;
    use crate::network::CustomerIdx;

    pub(super) fn serialize<S: Serializer>(
        items: &BTreeMap<u64, Vec<CallbackItem>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            items
                .values()
                .flatten()
                .map(|item| ((item.outage, item.customer), item)),
        )
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<u64, Vec<CallbackItem>>, D::Error> {
        // In key order, as they were written.
        let pairs = Vec::<((u64, CustomerIdx), CallbackItem)>::deserialize(d)?;
        let mut items: BTreeMap<u64, Vec<CallbackItem>> = BTreeMap::new();
        for ((outage, _), item) in pairs {
            items.entry(outage).or_default().push(item);
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A book's snapshot is the `[[outage, service point], callback]` pairs, in key
    /// order (what it was when the book was one map by key), and reads back whole.
    #[test]
    fn a_book_snapshots_as_pairs_by_outage_and_point() {
        let at = DateTime::from_timestamp(1_783_994_400, 0).unwrap();
        let item = |outage, c| {
            CallbackItem::listed(
                outage,
                CustomerIdx(c),
                format!("C-{c}"),
                None,
                vec![format!("R-{outage}-{c}")],
                None,
                at,
            )
        };
        let mut book = CallbackBook::default();
        book.list(9, vec![item(9, 1), item(9, 4)]);
        book.list(2, vec![item(2, 3)]);
        book.list(5, Vec::new());
        assert!(book.listed_for(9) && book.listed_for(2) && !book.listed_for(5));
        let keys = |book: &CallbackBook| -> Vec<(u64, CustomerIdx)> {
            book.items().map(|i| (i.outage, i.customer)).collect()
        };
        let expected = vec![
            (2, CustomerIdx(3)),
            (9, CustomerIdx(1)),
            (9, CustomerIdx(4)),
        ];
        assert_eq!(keys(&book), expected);
        assert_eq!(
            book.get(9, CustomerIdx(4)).map(|i| i.customer),
            Some(CustomerIdx(4))
        );
        assert!(book.get(9, CustomerIdx(3)).is_none() && book.get(5, CustomerIdx(3)).is_none());

        #[derive(Serialize)]
        struct AsMap<'a> {
            items: Vec<((u64, CustomerIdx), &'a CallbackItem)>,
        }
        let as_map = AsMap {
            items: book.items().map(|i| ((i.outage, i.customer), i)).collect(),
        };
        let text = serde_json::to_string(&book).unwrap();
        assert_eq!(text, serde_json::to_string(&as_map).unwrap());
        let read: CallbackBook = serde_json::from_str(&text).unwrap();
        assert_eq!(keys(&read), expected);
        assert_eq!(serde_json::to_string(&read).unwrap(), text);
    }

    /// The hand-written JSON is serde's, byte for byte, whatever the fields hold.
    #[test]
    fn to_json_is_serdes() {
        let at = DateTime::from_timestamp(1_783_994_400, 0).unwrap();
        let mut item = CallbackItem::listed(
            12,
            CustomerIdx(3),
            "UCBT:0124eabefd".into(),
            None,
            Vec::new(),
            None,
            at,
        );
        assert_eq!(item.to_json(), item.to_json_serde());
        item.customer_id = "meter \"7\"\\b\u{2}".into();
        item.account = Some("acc/1 ü".into());
        item.report_ids = vec!["R-1".into(), "R\n2".into()];
        item.crew = Some("crew\t1".into());
        item.listed_at = at + chrono::Duration::milliseconds(250);
        item.closes_at = Some(at + chrono::Duration::days(7));
        item.outcome = Some(CallbackOutcome::StillOut);
        item.outcome_at = Some(at);
        item.attempts = u32::MAX;
        item.agent = Some("agent".into());
        item.note = Some("said \"still dark\"".into());
        item.follow_up = Some(40);
        assert_eq!(item.to_json(), item.to_json_serde());
        item.outcome = Some(CallbackOutcome::NoAnswer);
        item.report_ids.truncate(1);
        assert_eq!(item.to_json(), item.to_json_serde());
    }
}
