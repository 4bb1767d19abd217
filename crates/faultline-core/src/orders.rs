//! Work orders: the state machine and its audit trail.
//!
//! An order is the job of getting one outage fixed. Its states:
//!
//! ```text
//!   created ──► assigned ──► acknowledged ──► en_route ──► on_site ──► restored ──► closed
//!      ▲           │  ▲            │               │            │
//!      │           ▼  │            ▼               ▼            ▼
//!      │        declined ◄─────────┴───────────────┘     cannot_restore
//!      │           (waiting again, for another crew)         (waiting again)
//!   any state before `restored` ──► cancelled (its outage was merged or withdrawn)
//!   any state before `closed`   ──► closed    (power came back)
//! ```
//!
//! `created`, `declined` and `cannot_restore` are the *waiting* states: the order needs
//! a crew. A crew may skip steps forward (`on_site` straight from `assigned`) but never
//! go back. Every change is a [`Step`] in the order's history: the state, when, who
//! (`faultline`, `dispatcher` or the crew's id) and why. Nothing here knows the network
//! or the clock: callers pass the time in.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Where an order stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Waiting for its first crew.
    Created,
    /// A crew is named; it has not answered yet.
    Assigned,
    /// The crew took it.
    Acknowledged,
    /// The crew is driving there.
    EnRoute,
    /// The crew is there.
    OnSite,
    /// The crew says power is back.
    Restored,
    /// Done: power is back and the order is off the board.
    Closed,
    /// The crew refused it, or did not answer in time: waiting for another crew.
    Declined,
    /// The crew on site cannot restore it: waiting for another crew.
    CannotRestore,
    /// Its outage went away (merged into another, or withdrawn) before it was restored.
    Cancelled,
}

impl OrderState {
    /// Every state, for tests and documentation.
    pub const ALL: [OrderState; 10] = [
        Self::Created,
        Self::Assigned,
        Self::Acknowledged,
        Self::EnRoute,
        Self::OnSite,
        Self::Restored,
        Self::Closed,
        Self::Declined,
        Self::CannotRestore,
        Self::Cancelled,
    ];

    /// The name in JSON and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Assigned => "assigned",
            Self::Acknowledged => "acknowledged",
            Self::EnRoute => "en_route",
            Self::OnSite => "on_site",
            Self::Restored => "restored",
            Self::Closed => "closed",
            Self::Declined => "declined",
            Self::CannotRestore => "cannot_restore",
            Self::Cancelled => "cancelled",
        }
    }

    /// The order needs a crew.
    pub fn is_waiting(self) -> bool {
        matches!(self, Self::Created | Self::Declined | Self::CannotRestore)
    }

    /// A crew is on it (from assignment until it reports restored or gives it up).
    pub fn holds_crew(self) -> bool {
        matches!(
            self,
            Self::Assigned | Self::Acknowledged | Self::EnRoute | Self::OnSite
        )
    }

    /// Nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Closed | Self::Cancelled)
    }

    /// How far along the way to the site a crew is (for "never go back").
    fn progress(self) -> u8 {
        match self {
            Self::Assigned => 1,
            Self::Acknowledged => 2,
            Self::EnRoute => 3,
            Self::OnSite => 4,
            _ => 0,
        }
    }

    /// May an order go from `self` to `to`?
    pub fn can_go(self, to: OrderState) -> bool {
        use OrderState::*;
        if self.is_final() {
            return false;
        }
        match to {
            Created => false,
            // A dispatcher may send another crew to an order not yet on site.
            Assigned => self.is_waiting() || (self.holds_crew() && self != OnSite),
            Acknowledged | EnRoute | OnSite => self.holds_crew() && self.progress() < to.progress(),
            Declined => matches!(self, Assigned | Acknowledged | EnRoute),
            Restored | CannotRestore => self == OnSite,
            Closed => true,
            Cancelled => self != Restored,
        }
    }
}

/// One change in an order's history.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Step {
    /// The state entered.
    pub state: OrderState,
    /// When (the event's time).
    #[serde(serialize_with = "crate::events::serialize_time")]
    pub at: DateTime<Utc>,
    /// Who: `faultline`, `dispatcher`, or the crew's id.
    pub by: String,
    /// Why, for people.
    pub why: String,
    /// The crew the order is with after this step, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crew: Option<String>,
}

/// An illegal change, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// A work order's life: its state, its crew and its history.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lifecycle {
    state: OrderState,
    crew: Option<String>,
    history: Vec<Step>,
}

impl Lifecycle {
    /// A new order, created at `at` by `by`.
    pub fn new(at: DateTime<Utc>, by: &str, why: impl Into<String>) -> Self {
        Self {
            state: OrderState::Created,
            crew: None,
            history: vec![Step {
                state: OrderState::Created,
                at,
                by: by.to_owned(),
                why: why.into(),
                crew: None,
            }],
        }
    }

    /// The state now.
    pub fn state(&self) -> OrderState {
        self.state
    }

    /// The crew on it now.
    pub fn crew(&self) -> Option<&str> {
        self.crew.as_deref()
    }

    /// Every change so far, oldest first.
    pub fn history(&self) -> &[Step] {
        &self.history
    }

    /// When the order first entered `state`.
    pub fn first_time(&self, state: OrderState) -> Option<DateTime<Utc>> {
        self.history.iter().find(|s| s.state == state).map(|s| s.at)
    }

    /// When the order last entered `state`.
    pub fn last_time(&self, state: OrderState) -> Option<DateTime<Utc>> {
        self.history
            .iter()
            .rev()
            .find(|s| s.state == state)
            .map(|s| s.at)
    }

    /// Give the order to `crew` (a new assignment, or a dispatcher's reassignment).
    pub fn assign(
        &mut self,
        crew: &str,
        at: DateTime<Utc>,
        by: &str,
        why: impl Into<String>,
    ) -> Result<(), Refused> {
        self.go(OrderState::Assigned, Some(crew.to_owned()), at, by, why)
    }

    /// Move to `to`. The crew stays for states that hold one and is released otherwise.
    pub fn advance(
        &mut self,
        to: OrderState,
        at: DateTime<Utc>,
        by: &str,
        why: impl Into<String>,
    ) -> Result<(), Refused> {
        let crew = if to.holds_crew() || to == OrderState::Restored {
            self.crew.clone()
        } else {
            None
        };
        self.go(to, crew, at, by, why)
    }

    fn go(
        &mut self,
        to: OrderState,
        crew: Option<String>,
        at: DateTime<Utc>,
        by: &str,
        why: impl Into<String>,
    ) -> Result<(), Refused> {
        if !self.state.can_go(to) {
            return Err(Refused(format!(
                "an order that is {} cannot become {}",
                self.state.as_str(),
                to.as_str()
            )));
        }
        self.state = to;
        self.crew = crew.clone();
        self.history.push(Step {
            state: to,
            at,
            by: by.to_owned(),
            why: why.into(),
            crew,
        });
        Ok(())
    }
}

/// Is `path` a history an order could have had: it starts `created`, each step is a
/// legal change from the one before, and times never go back?
pub fn is_valid_path(path: &[Step]) -> bool {
    let Some(first) = path.first() else {
        return false;
    };
    if first.state != OrderState::Created {
        return false;
    }
    path.windows(2)
        .all(|w| w[0].state.can_go(w[1].state) && w[0].at <= w[1].at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderState::*;

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + min * 60, 0).unwrap()
    }

    #[test]
    fn the_usual_life_of_an_order_is_a_valid_path() {
        let mut o = Lifecycle::new(t(0), "faultline", "outage OUT-1");
        o.assign("CREW-1", t(1), "faultline", "nearest").unwrap();
        for (i, s) in [Acknowledged, EnRoute, OnSite, Restored, Closed]
            .into_iter()
            .enumerate()
        {
            o.advance(s, t(2 + i as i64), "CREW-1", "").unwrap();
        }
        assert!(is_valid_path(o.history()));
        assert_eq!(o.state(), Closed);
        assert_eq!(o.crew(), None);
        assert_eq!(o.first_time(OnSite), Some(t(4)));
    }

    #[test]
    fn a_crew_cannot_go_back_or_act_on_a_closed_order() {
        let mut o = Lifecycle::new(t(0), "faultline", "");
        o.assign("CREW-1", t(1), "faultline", "").unwrap();
        o.advance(OnSite, t(2), "CREW-1", "").unwrap();
        let err = o.advance(EnRoute, t(3), "CREW-1", "").unwrap_err();
        assert_eq!(err.0, "an order that is on_site cannot become en_route");
        assert!(o.advance(Declined, t(3), "CREW-1", "").is_err());
        o.advance(Restored, t(4), "CREW-1", "").unwrap();
        o.advance(Closed, t(5), "faultline", "").unwrap();
        for s in OrderState::ALL {
            assert!(!Closed.can_go(s), "closed -> {s:?}");
        }
        assert_eq!(o.history().len(), 5, "refused changes leave no trace");
    }

    #[test]
    fn a_declined_order_waits_for_another_crew() {
        let mut o = Lifecycle::new(t(0), "faultline", "");
        o.assign("CREW-1", t(1), "faultline", "").unwrap();
        o.advance(Declined, t(2), "CREW-1", "flat tyre").unwrap();
        assert!(o.state().is_waiting());
        assert_eq!(o.crew(), None);
        o.assign("CREW-2", t(3), "faultline", "").unwrap();
        assert_eq!(o.crew(), Some("CREW-2"));
        assert!(is_valid_path(o.history()));
    }

    #[test]
    fn a_path_with_an_illegal_step_or_time_going_back_is_invalid() {
        let step = |state, at| Step {
            state,
            at: t(at),
            by: "x".into(),
            why: String::new(),
            crew: None,
        };
        assert!(!is_valid_path(&[step(Created, 0), step(OnSite, 1)]));
        assert!(!is_valid_path(&[step(Created, 2), step(Closed, 1)]));
        assert!(!is_valid_path(&[step(Assigned, 0)]));
        assert!(is_valid_path(&[step(Created, 0), step(Closed, 1)]));
    }
}
