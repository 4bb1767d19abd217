//! The engine's output messages, typed (CONTRACT section 4). Each carries the whole
//! object as it stands when the event that made it was applied; the JSON of a message
//! is written once, where it is stored or sent ([`Output::push_json`]). The edges route
//! and filter on the types ([`Message::outage`], [`Message::order`], [`Message::crew`]),
//! never on the text.

use chrono::{DateTime, Utc};

use super::callbacks::CallbackItem;
use super::outage::Outage;
use super::planned::Notice;
use crate::dispatch::{CrewView, Order};
use crate::events::push_time;

/// What one output message says.
#[derive(Debug, Clone)]
pub enum Message {
    /// `outage.created`: an outage is believed for the first time.
    OutageCreated(Box<Outage>),
    /// `outage.updated`: its device, evidence, order, crew or times changed.
    OutageUpdated(Box<Outage>),
    /// `outage.restored`: power is back.
    OutageRestored(Box<Outage>),
    /// `outage.cancelled`: withdrawn (merged into another, or explained otherwise).
    OutageCancelled(Box<Outage>),
    /// `order.created`: a work order for an outage.
    OrderCreated(Box<Order>),
    /// `order.updated`: its state, crew, ETA or escalation changed.
    OrderUpdated(Box<Order>),
    /// `crew.updated`: a crew's position, status or order changed.
    CrewUpdated(Box<CrewView>),
    /// `notice.created`: planned work announced.
    NoticeCreated(Box<Notice>),
    /// `notice.updated`: planned work changed, began or ended.
    NoticeUpdated(Box<Notice>),
    /// `notice.cancelled`: planned work called off.
    NoticeCancelled(Box<Notice>),
    /// `callback.listed`: a customer to call back after a restoration.
    CallbackListed(Box<CallbackItem>),
    /// `callback.updated`: a callback's answer.
    CallbackUpdated(Box<CallbackItem>),
    /// `callbacks.closed`: an outage's callbacks closed, answered or not.
    CallbacksClosed(CallbacksClosed),
    /// `event.set_aside`: a stored event was not applied, and why.
    EventSetAside(SetAside),
}

/// An outage's callbacks closed (`callbacks.closed`). The fields in name order, as
/// this message has always been written.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CallbacksClosed {
    /// Of them, answered.
    pub answered: usize,
    /// How many there were.
    pub callbacks: usize,
    /// When they closed.
    #[serde(serialize_with = "crate::events::serialize_time")]
    pub closed_at: DateTime<Utc>,
    /// When they were listed.
    #[serde(serialize_with = "crate::events::serialize_time")]
    pub listed_at: DateTime<Utc>,
    /// The outage (`OUT-n`).
    pub outage: String,
    /// Of them, never answered.
    pub unanswered: usize,
}

/// A stored event the engine did not apply (`event.set_aside`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SetAside {
    /// Its seq in the log (or the file), where known.
    pub seq: Option<i64>,
    /// Its type, when its text could be read.
    #[serde(rename = "type")]
    pub kind: Option<&'static str>,
    /// Its time, when its text could be read.
    #[serde(serialize_with = "crate::events::serialize_opt_time")]
    pub at: Option<DateTime<Utc>>,
    /// Why it was set aside.
    pub reason: String,
}

impl Message {
    /// The message's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::OutageCreated(_) => "outage.created",
            Message::OutageUpdated(_) => "outage.updated",
            Message::OutageRestored(_) => "outage.restored",
            Message::OutageCancelled(_) => "outage.cancelled",
            Message::OrderCreated(_) => "order.created",
            Message::OrderUpdated(_) => "order.updated",
            Message::CrewUpdated(_) => "crew.updated",
            Message::NoticeCreated(_) => "notice.created",
            Message::NoticeUpdated(_) => "notice.updated",
            Message::NoticeCancelled(_) => "notice.cancelled",
            Message::CallbackListed(_) => "callback.listed",
            Message::CallbackUpdated(_) => "callback.updated",
            Message::CallbacksClosed(_) => "callbacks.closed",
            Message::EventSetAside(_) => "event.set_aside",
        }
    }

    /// The outage an `outage.*` message is about.
    pub fn outage(&self) -> Option<&Outage> {
        match self {
            Message::OutageCreated(o)
            | Message::OutageUpdated(o)
            | Message::OutageRestored(o)
            | Message::OutageCancelled(o) => Some(o),
            _ => None,
        }
    }

    /// The order an `order.*` message is about.
    pub fn order(&self) -> Option<&Order> {
        match self {
            Message::OrderCreated(o) | Message::OrderUpdated(o) => Some(o),
            _ => None,
        }
    }

    /// The crew a message concerns: the crew of a `crew.updated`, the crew on an
    /// order, outage or callback (what a crew's own stream is filtered on).
    pub fn crew(&self) -> Option<&str> {
        match self {
            Message::CrewUpdated(c) => Some(&c.id),
            _ => self
                .outage()
                .and_then(|o| o.crew.as_deref())
                .or_else(|| self.order().and_then(|o| o.crew())),
        }
    }

    /// The whole object as JSON text (the message's `data`).
    pub fn data_json(&self) -> String {
        match self {
            Message::OutageCreated(o)
            | Message::OutageUpdated(o)
            | Message::OutageRestored(o)
            | Message::OutageCancelled(o) => o.to_json(),
            Message::OrderCreated(o) | Message::OrderUpdated(o) => o.to_json(),
            Message::CrewUpdated(c) => c.to_json(),
            Message::NoticeCreated(n) | Message::NoticeUpdated(n) | Message::NoticeCancelled(n) => {
                n.to_json()
            }
            Message::CallbackListed(c) | Message::CallbackUpdated(c) => c.to_json(),
            Message::CallbacksClosed(c) => serde_json::to_string(c).unwrap_or_default(),
            Message::EventSetAside(s) => serde_json::to_string(s).unwrap_or_default(),
        }
    }

    /// Append [`Message::data_json`]'s text to `out`, written straight into it where the
    /// object's writer can (outages and callbacks, most of a storm's messages).
    pub fn push_data_json(&self, out: &mut String) {
        match self {
            Message::OutageCreated(o)
            | Message::OutageUpdated(o)
            | Message::OutageRestored(o)
            | Message::OutageCancelled(o) => o.push_json(out),
            Message::CallbackListed(c) | Message::CallbackUpdated(c) => c.push_json(out),
            other => out.push_str(&other.data_json()),
        }
    }

    /// The same kind of message about `outage` as it now stands (an outage message the
    /// same event already produced is brought up to date, not repeated).
    pub(super) fn with_outage(&self, outage: &Outage) -> Message {
        let o = Box::new(outage.clone());
        match self {
            Message::OutageCreated(_) => Message::OutageCreated(o),
            Message::OutageRestored(_) => Message::OutageRestored(o),
            Message::OutageCancelled(_) => Message::OutageCancelled(o),
            _ => Message::OutageUpdated(o),
        }
    }
}

/// What a message is about: what a filtered stream (a crew's own) selects on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct About {
    /// Outage, order, crew, or anything else.
    pub topic: Topic,
    /// The object's id (`OUT-n`, `WO-n`, the crew's id).
    pub id: Option<String>,
    /// The crew on it (an outage's or order's crew; a crew's own id).
    pub crew: Option<String>,
    /// An outage's order (`WO-n`).
    pub order: Option<String>,
}

/// What kind of object a message carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Topic {
    /// `outage.*`.
    Outage,
    /// `order.*`.
    Order,
    /// `crew.*`.
    Crew,
    /// Notices, callbacks, set-aside events.
    #[default]
    Other,
}

impl Message {
    /// What this message is about (see [`About`]).
    pub fn about(&self) -> About {
        match self {
            Message::OutageCreated(o)
            | Message::OutageUpdated(o)
            | Message::OutageRestored(o)
            | Message::OutageCancelled(o) => About {
                topic: Topic::Outage,
                id: Some(o.id()),
                crew: o.crew.clone(),
                order: o.order.clone(),
            },
            Message::OrderCreated(o) | Message::OrderUpdated(o) => About {
                topic: Topic::Order,
                id: Some(o.id()),
                crew: o.crew().map(str::to_owned),
                order: None,
            },
            Message::CrewUpdated(c) => About {
                topic: Topic::Crew,
                id: Some(c.id.clone()),
                crew: None,
                order: c.order.clone(),
            },
            _ => About::default(),
        }
    }
}

/// One output message with its place in the stream.
#[derive(Debug, Clone)]
pub struct Output {
    /// Gap-free position in the stream, from 1.
    pub seq: u64,
    /// The engine's clock when it was produced.
    pub at: DateTime<Utc>,
    /// What it says.
    pub message: Message,
}

/// Two messages are the same when they are written the same: the stream is the truth.
impl PartialEq for Output {
    fn eq(&self, other: &Self) -> bool {
        self.to_json() == other.to_json()
    }
}

impl Output {
    /// The message's `type` (`outage.created`, …).
    pub fn kind(&self) -> &'static str {
        self.message.kind()
    }

    /// For an `outage.*` message, the outage's number (see `Engine::outage`).
    pub fn outage(&self) -> Option<u64> {
        self.message.outage().map(|o| o.number)
    }

    /// For an `order.*` message, the order's number.
    pub fn order(&self) -> Option<u64> {
        self.message.order().map(|o| o.number)
    }

    /// The whole object as JSON text (the message's `data`).
    pub fn data_json(&self) -> String {
        self.message.data_json()
    }

    /// The message as one line of JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        self.push_json(&mut out);
        out
    }

    /// Append the message as [`Output::to_json`] writes it (a stream writer reuses one
    /// buffer for every message): `{"seq":…,"at":…,"type":…,"data":{…}}`.
    pub fn push_json(&self, out: &mut String) {
        use std::fmt::Write;
        // unwrap: writing to a String cannot fail.
        write!(out, r#"{{"seq":{},"at":""#, self.seq).unwrap();
        push_time(out, self.at);
        out.push_str(r#"","type":""#);
        out.push_str(self.kind());
        out.push_str(r#"","data":"#);
        self.message.push_data_json(out);
        out.push('}');
    }
}
