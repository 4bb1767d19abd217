//! The objects dispatch keeps and shows: crews, work orders and what kind of job an
//! order is, with the JSON their messages and the API carry.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::*;

/// What kind of job an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum JobKind {
    /// A protective device (or transformer) open.
    Device(DeviceKind),
    /// One service point out.
    Service,
    /// A failed meter.
    Meter,
    /// A wire on the ground.
    WireDown,
}

impl JobKind {
    fn as_str(self) -> &'static str {
        match self {
            JobKind::Device(_) => "device",
            JobKind::Service => "service",
            JobKind::Meter => "meter",
            JobKind::WireDown => "wire_down",
        }
    }

    /// The skill a crew needs: `meter` for a meter, `line` for everything else.
    pub fn skill(self) -> &'static str {
        match self {
            JobKind::Meter => "meter",
            _ => "line",
        }
    }
}

/// What dispatch needs to know about an outage, as it now stands.
#[derive(Debug, Clone)]
pub struct OutageFacts<'a> {
    /// The outage's number (`OUT-<n>`).
    pub number: u64,
    /// What kind of job it makes.
    pub job: JobKind,
    /// The device (or service point) to go to.
    pub device: &'a str,
    /// Still out.
    pub active: bool,
    /// Ended because power is back (otherwise, when not active: cancelled or merged).
    pub restored: bool,
    /// For a merged outage, the outage that took it over.
    pub merged_into: Option<&'a str>,
    /// Where.
    pub lon: f64,
    /// Where.
    pub lat: f64,
    /// Whose targets apply.
    pub zone: ZoneKind,
    /// Customers out.
    pub customers_out: u64,
    /// Critical customers out.
    pub critical_customers_out: u32,
    /// When the outage was first known.
    pub started_at: DateTime<Utc>,
    /// Crew on site by.
    pub arrive_by: DateTime<Utc>,
    /// Power back by.
    pub restore_by: DateTime<Utc>,
}

/// A crew as dispatch knows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Crew {
    /// Its id.
    pub id: String,
    /// A name for people.
    pub name: Option<String>,
    /// What it can do.
    pub skills: Vec<String>,
    /// Last known position.
    pub position: Option<(f64, f64)>,
    /// On shift.
    pub on_shift: bool,
    /// The order it is on.
    pub order: Option<u64>,
    /// False after it let an assignment time out, until it is heard from again.
    pub responsive: bool,
}

impl Crew {
    /// Can it do a job needing `skill`? (A crew listing no skills is a general crew.)
    pub fn can(&self, skill: &str) -> bool {
        self.skills.is_empty() || self.skills.iter().any(|s| s == skill || s == "all")
    }
}

/// A crew as its messages and the API show it (see [`Dispatch::crew_view`]); the fields
/// in the order they are written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrewView {
    /// The crew's id.
    pub id: String,
    /// A name for people.
    pub name: Option<String>,
    /// What it can repair.
    pub skills: Vec<String>,
    /// Where it is, if known.
    pub lon: Option<f64>,
    /// Where it is, if known.
    pub lat: Option<f64>,
    /// On shift.
    pub on_shift: bool,
    /// `off_shift`, `available`, `assigned`, `en_route`, `on_site`, …
    pub status: &'static str,
    /// The order it is on (`WO-n`).
    pub order: Option<String>,
    /// That order's outage (`OUT-n`).
    pub outage: Option<String>,
    /// Where that order is.
    pub target_lon: Option<f64>,
    /// Where that order is.
    pub target_lat: Option<f64>,
    /// When it is expected there.
    #[serde(serialize_with = "events::serialize_opt_time")]
    pub eta: Option<DateTime<Utc>>,
}

impl CrewView {
    /// The view as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A work order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Order {
    /// The number in `WO-<n>`.
    pub number: u64,
    /// The outage's number.
    pub outage: u64,
    /// What kind of job.
    pub job: JobKind,
    /// Where to go: the device (or service point).
    pub device: String,
    /// Where to go.
    pub lon: f64,
    /// Where to go.
    pub lat: f64,
    /// The zone whose targets apply.
    pub zone: ZoneKind,
    pub(super) place: Place,
    /// Customers out.
    pub customers_out: u64,
    /// Critical customers out.
    pub critical_customers_out: u32,
    /// When the outage was first known (the targets count from here).
    pub started_at: DateTime<Utc>,
    /// Crew on site by.
    pub arrive_by: DateTime<Utc>,
    /// Power back by.
    pub restore_by: DateTime<Utc>,
    /// State, crew and history.
    pub life: Lifecycle,
    /// When the crew is expected on site.
    pub eta: Option<DateTime<Utc>>,
    /// When power is expected back.
    pub etr: Option<DateTime<Utc>>,
    /// 0 (on track) to 4 (a target missed).
    pub escalation: u8,
    /// Why the level is what it is.
    pub escalation_reason: String,
    /// A dispatcher chose the crew: the optimiser leaves it alone.
    pub pinned: bool,
    /// Crews that declined it, let it time out or could not restore it: not offered it
    /// again, until every crew able to do it is among them (see [`Dispatch::solve`]).
    pub declined_by: Vec<String>,
    pub(super) ack_due: Option<DateTime<Utc>>,
}

impl Order {
    /// `WO-<n>`.
    pub fn id(&self) -> String {
        order_name(self.number)
    }

    /// The state now.
    pub fn state(&self) -> OrderState {
        self.life.state()
    }

    /// The crew on it now.
    pub fn crew(&self) -> Option<&str> {
        self.life.crew()
    }

    /// When it was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.life.history()[0].at
    }

    /// The object as the stream and the API carry it, as JSON text.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Json<'a> {
            id: String,
            outage: String,
            kind: &'static str,
            device: &'a str,
            lon: f64,
            lat: f64,
            zone: ZoneKind,
            skill: &'static str,
            state: OrderState,
            crew: Option<&'a str>,
            pinned: bool,
            customers_out: u64,
            critical_customers_out: u32,
            #[serde(serialize_with = "events::serialize_time")]
            created_at: DateTime<Utc>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            eta: Option<DateTime<Utc>>,
            #[serde(serialize_with = "events::serialize_time")]
            arrive_by: DateTime<Utc>,
            #[serde(serialize_with = "events::serialize_time")]
            restore_by: DateTime<Utc>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            etr: Option<DateTime<Utc>>,
            escalation: u8,
            escalation_reason: &'a str,
            #[serde(serialize_with = "events::serialize_opt_time")]
            assigned_at: Option<DateTime<Utc>>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            acknowledged_at: Option<DateTime<Utc>>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            en_route_at: Option<DateTime<Utc>>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            on_site_at: Option<DateTime<Utc>>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            restored_at: Option<DateTime<Utc>>,
            #[serde(serialize_with = "events::serialize_opt_time")]
            closed_at: Option<DateTime<Utc>>,
            history: &'a [Step],
        }
        let life = &self.life;
        let json = Json {
            id: self.id(),
            outage: crate::ids::outage_name(self.outage),
            kind: self.job.as_str(),
            device: &self.device,
            lon: self.lon,
            lat: self.lat,
            zone: self.zone,
            skill: self.job.skill(),
            state: self.state(),
            crew: self.crew(),
            pinned: self.pinned,
            customers_out: self.customers_out,
            critical_customers_out: self.critical_customers_out,
            created_at: self.created_at(),
            eta: self.eta,
            arrive_by: self.arrive_by,
            restore_by: self.restore_by,
            etr: self.etr,
            escalation: self.escalation,
            escalation_reason: &self.escalation_reason,
            assigned_at: life.last_time(OrderState::Assigned),
            acknowledged_at: life.last_time(OrderState::Acknowledged),
            en_route_at: life.last_time(OrderState::EnRoute),
            on_site_at: life.first_time(OrderState::OnSite),
            restored_at: life.first_time(OrderState::Restored),
            closed_at: life
                .first_time(OrderState::Closed)
                .or_else(|| life.first_time(OrderState::Cancelled)),
            history: life.history(),
        };
        serde_json::to_string(&json).unwrap_or_default()
    }
}

impl Dispatch {
    /// What a crew is doing: `off_shift`, `available`, `no_response`, or the state of
    /// its order (`assigned`, `acknowledged`, `en_route`, `on_site`).
    pub fn crew_status(&self, crew: &Crew) -> &'static str {
        if let Some(o) = crew.order.and_then(|n| self.orders.get(&n)) {
            return o.state().as_str();
        }
        if !crew.on_shift {
            "off_shift"
        } else if !crew.responsive {
            "no_response"
        } else {
            "available"
        }
    }

    /// A crew as its `crew.updated` message and `GET /api/v1/crews` show it: where it is,
    /// its status and the order it is on.
    pub fn crew_view(&self, crew: &Crew) -> CrewView {
        let order = crew.order.and_then(|n| self.orders.get(&n));
        CrewView {
            id: crew.id.clone(),
            name: crew.name.clone(),
            skills: crew.skills.clone(),
            lon: crew.position.map(|p| p.0),
            lat: crew.position.map(|p| p.1),
            on_shift: crew.on_shift,
            status: self.crew_status(crew),
            order: order.map(Order::id),
            outage: order.map(|o| crate::ids::outage_name(o.outage)),
            target_lon: order.map(|o| o.lon),
            target_lat: order.map(|o| o.lat),
            eta: order.and_then(|o| o.eta),
        }
    }

    /// [`Dispatch::crew_view`] as JSON text.
    pub fn crew_json(&self, crew: &Crew) -> String {
        self.crew_view(crew).to_json()
    }
}
