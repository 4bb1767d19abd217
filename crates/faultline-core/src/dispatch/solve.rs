//! The assignment: the price of each crew for each waiting order, and the optimal
//! choice among them (see [`super::assign`] for the solver itself).

use chrono::{DateTime, Duration, Utc};

use super::*;

/// Price points per minute of travel: with scarce crews, driving is crew time.
pub(super) const TRAVEL_WEIGHT: f64 = 50.0;
/// Price points per doubling of the customers out.
pub(super) const CUSTOMER_WEIGHT: f64 = 1000.0;

/// Minutes assumed for a crew whose position is not known.
pub(super) const UNKNOWN_POSITION_MIN: f64 = 30.0;

impl Dispatch {
    /// The price of sending `crew` to `order` at `clock` (lower is better), or
    /// [`FORBIDDEN`]. In points: any assignment −1,000,000 (never leave a crew idle
    /// while an order waits); on site within target −200,000; power back within target
    /// −100,000; a wire down −50,000; each critical customer (up to 5) −20,000;
    /// customers out −1,000 × log2(1 + n); each minute of travel +50.
    pub fn pair_cost(&self, order: &Order, crew: &Crew, clock: DateTime<Utc>) -> i64 {
        if !crew.can(order.job.skill()) || order.declined_by.contains(&crew.id) {
            return FORBIDDEN;
        }
        let minutes = match crew.position {
            Some((lon, lat)) => self.options.travel.minutes(lon, lat, &order.place),
            None => UNKNOWN_POSITION_MIN,
        };
        let arrival = clock + Duration::seconds((minutes * 60.0) as i64);
        let repair = Duration::minutes(self.options.repair.minutes(order.job));
        let mut value = self.order_value(order);
        if arrival <= order.arrive_by {
            value += 200_000;
        }
        if arrival + repair <= order.restore_by {
            value += 100_000;
        }
        value -= (TRAVEL_WEIGHT * minutes) as i64;
        -value
    }

    /// The part of an order's value that does not depend on the crew.
    pub(super) fn order_value(&self, order: &Order) -> i64 {
        let mut value: i64 = 1_000_000;
        if order.job == JobKind::WireDown {
            value += 50_000;
        }
        value += 20_000 * i64::from(order.critical_customers_out.min(5));
        value += (CUSTOMER_WEIGHT * (1.0 + order.customers_out as f64).log2()) as i64;
        value
    }

    /// Every waiting order priced against every free crew: [`Self::pair_cost`] with
    /// everything that depends on one side only worked out once (the matrix of a large
    /// storm board has hundreds of thousands of pairs).
    pub(super) fn price_matrix(
        &self,
        waiting: &[&Order],
        free: &[&Crew],
        clock: DateTime<Utc>,
    ) -> CostMatrix {
        struct Row<'a> {
            order: &'a Order,
            value: i64,
            skill: &'static str,
            /// Latest arrival (seconds after `clock`) for each target.
            arrive_in: i64,
            restore_in: i64,
        }
        let rows: Vec<Row> = waiting
            .iter()
            .map(|o| Row {
                order: o,
                value: self.order_value(o),
                skill: o.job.skill(),
                arrive_in: (o.arrive_by - clock).num_seconds(),
                restore_in: (o.restore_by
                    - Duration::minutes(self.options.repair.minutes(o.job))
                    - clock)
                    .num_seconds(),
            })
            .collect();
        let travel = &self.options.travel;
        CostMatrix::from_fn(rows.len(), free.len(), |r, c| {
            let (row, crew) = (&rows[r], free[c]);
            if !crew.can(row.skill)
                || (!row.order.declined_by.is_empty() && row.order.declined_by.contains(&crew.id))
            {
                return FORBIDDEN;
            }
            let minutes = match crew.position {
                Some((lon, lat)) => travel.minutes(lon, lat, &row.order.place),
                None => UNKNOWN_POSITION_MIN,
            };
            let arrival = (minutes * 60.0) as i64;
            let mut value = row.value;
            if arrival <= row.arrive_in {
                value += 200_000;
            }
            if arrival <= row.restore_in {
                value += 100_000;
            }
            value -= (TRAVEL_WEIGHT * minutes) as i64;
            -value
        })
    }

    /// Solve the assignment again if anything it depends on changed (first lifting the
    /// exclusions of orders no crew is left to take).
    pub fn solve(&mut self, clock: DateTime<Utc>) {
        if !self.needs_solve {
            return;
        }
        self.needs_solve = false;
        if self.waiting.is_empty() {
            return;
        }
        self.lift_exhausted_exclusions();
        let free: Vec<&Crew> = self
            .crews
            .values()
            .filter(|c| c.on_shift && c.responsive && c.order.is_none())
            .collect();
        if free.is_empty() {
            return;
        }
        let waiting: Vec<&Order> = self
            .waiting
            .iter()
            .filter_map(|n| self.orders.get(n))
            .collect();
        let pairs: Vec<(u64, String, String)> = match self.options.policy {
            Policy::Optimal => {
                let matrix = self.price_matrix(&waiting, &free, clock);
                assign::solve(&matrix)
                    .into_iter()
                    .enumerate()
                    .filter_map(|(r, c)| {
                        let c = c?;
                        let o = waiting[r];
                        Some((
                            o.number,
                            free[c].id.clone(),
                            self.why(o, free[c], matrix.get(r, c)),
                        ))
                    })
                    .collect()
            }
            Policy::Greedy => {
                let mut taken = vec![false; free.len()];
                let mut pairs = Vec::new();
                for o in &waiting {
                    let best = free
                        .iter()
                        .enumerate()
                        .filter(|(i, c)| !taken[*i] && self.pair_cost(o, c, clock) < FORBIDDEN)
                        .map(|(i, c)| {
                            let d = c.position.map_or(f64::MAX, |(lon, lat)| {
                                self.options.travel.distance_m(lon, lat, &o.place)
                            });
                            (i, d)
                        })
                        .min_by(|a, b| a.1.total_cmp(&b.1));
                    if let Some((i, _)) = best {
                        taken[i] = true;
                        pairs.push((o.number, free[i].id.clone(), "nearest free crew".into()));
                    }
                }
                pairs
            }
        };
        for (n, crew, why) in pairs {
            self.give(n, &crew, clock, FAULTLINE, why);
        }
    }

    /// A waiting order that every crew on shift able to do it has declined, let time
    /// out or given up on would never be offered again: its exclusions are lifted, all
    /// but the latest crew's (the one that just gave it back), so it goes round again.
    /// Where that crew is the only one able to do it, the order waits for a dispatcher
    /// (or another crew coming on shift), its escalation rising with the clock.
    pub(super) fn lift_exhausted_exclusions(&mut self) {
        // Only a crew on shift can have exhausted an order's able crews: without one,
        // nothing below changes, and the waiting orders (all of them, in a log without
        // a roster) need no look.
        if !self.crews.values().any(|c| c.on_shift) {
            return;
        }
        for n in &self.waiting {
            let Some(o) = self.orders.get(n) else {
                continue;
            };
            let Some(latest) = o.declined_by.last() else {
                continue;
            };
            let skill = o.job.skill();
            let mut able = self
                .crews
                .values()
                .filter(|c| c.on_shift && c.can(skill))
                .peekable();
            let exhausted = able.peek().is_some() && able.all(|c| o.declined_by.contains(&c.id));
            let another = self
                .crews
                .values()
                .any(|c| c.on_shift && c.can(skill) && &c.id != latest);
            if exhausted && another {
                let latest = latest.clone();
                if let Some(o) = self.orders.get_mut(n) {
                    o.declined_by = vec![latest];
                }
            }
        }
    }

    /// Price every waiting order against every free crew, as [`Self::solve`] does
    /// (for benchmarks and tests: the solve without the solver).
    pub fn price_all(&self, clock: DateTime<Utc>) -> CostMatrix {
        let free: Vec<&Crew> = self.crews.values().filter(|c| c.order.is_none()).collect();
        let waiting: Vec<&Order> = self
            .waiting
            .iter()
            .filter_map(|n| self.orders.get(n))
            .collect();
        self.price_matrix(&waiting, &free, clock)
    }

    pub(super) fn why(&self, order: &Order, crew: &Crew, cost: i64) -> String {
        let minutes = crew.position.map_or(UNKNOWN_POSITION_MIN, |(lon, lat)| {
            self.options.travel.minutes(lon, lat, &order.place)
        });
        format!(
            "optimal assignment over {} waiting orders: {:.0} min away, {} customers out{} (cost {cost})",
            self.waiting.len(),
            minutes,
            order.customers_out,
            if order.critical_customers_out > 0 {
                format!(", {} critical", order.critical_customers_out)
            } else {
                String::new()
            }
        )
    }
}
