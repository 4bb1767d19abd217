//! Minimum-cost assignment (the rectangular linear sum assignment problem).
//!
//! Shortest augmenting paths with dual potentials (Jonker–Volgenant, in the form of
//! Crouse, "On implementing 2D rectangular assignment algorithms", IEEE TAES 2016): one
//! Dijkstra-like search per row over reduced costs, `O(rows² · cols)` at worst, exact on
//! integer costs. Costs are `i64` so the result is the same on every machine.
//!
//! Pairs that must not be matched (a crew without the skill) carry [`FORBIDDEN`]; the
//! solver matches as many pairs as it can without them, because any forbidden pair costs
//! more than every allowed assignment together.

/// The cost of a pair that must not be matched.
pub const FORBIDDEN: i64 = 1 << 50;

/// A dense cost matrix, row-major.
#[derive(Debug, Clone)]
pub struct CostMatrix {
    rows: usize,
    cols: usize,
    cost: Vec<i64>,
}

impl CostMatrix {
    /// A `rows × cols` matrix filled by `f(row, col)`.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> i64) -> Self {
        let mut cost = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                cost.push(f(r, c).min(FORBIDDEN));
            }
        }
        Self { rows, cols, cost }
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The cost of one pair.
    pub fn get(&self, row: usize, col: usize) -> i64 {
        self.cost[row * self.cols + col]
    }

    fn transposed(&self) -> Self {
        Self::from_fn(self.cols, self.rows, |r, c| self.get(c, r))
    }
}

/// The cheapest matching: for each row, its column, or `None` where the row is left
/// out (more rows than columns) or only forbidden pairs were left for it.
pub fn solve(matrix: &CostMatrix) -> Vec<Option<usize>> {
    if matrix.rows == 0 || matrix.cols == 0 {
        return vec![None; matrix.rows];
    }
    let mut out = if matrix.rows <= matrix.cols {
        solve_wide(matrix)
    } else {
        // Solve the transpose (rows ≤ cols) and turn the answer round.
        let by_col = solve_wide(&matrix.transposed());
        let mut by_row = vec![None; matrix.rows];
        for (col, row) in by_col.iter().enumerate() {
            if let Some(row) = row {
                by_row[*row] = Some(col);
            }
        }
        by_row
    };
    for (row, col) in out.iter_mut().enumerate() {
        if col.is_some_and(|c| matrix.get(row, c) >= FORBIDDEN) {
            *col = None;
        }
    }
    out
}

/// `rows ≤ cols`: every row gets a column.
fn solve_wide(m: &CostMatrix) -> Vec<Option<usize>> {
    let (n, cols) = (m.rows, m.cols);
    const INF: i64 = i64::MAX / 4;
    let mut u = vec![0i64; n];
    let mut v = vec![0i64; cols];
    let mut col4row: Vec<usize> = vec![usize::MAX; n];
    let mut row4col: Vec<usize> = vec![usize::MAX; cols];
    let mut path = vec![usize::MAX; cols];
    let mut shortest = vec![INF; cols];
    let mut remaining: Vec<usize> = Vec::with_capacity(cols);
    let mut seen_row = vec![false; n];
    let mut seen_col = vec![false; cols];

    for start in 0..n {
        // Dijkstra over reduced costs from `start` to the nearest free column.
        shortest.fill(INF);
        seen_row.fill(false);
        seen_col.fill(false);
        remaining.clear();
        remaining.extend((0..cols).rev());
        let mut min_val = 0i64;
        let mut row = start;
        let sink = loop {
            seen_row[row] = true;
            let mut best = INF;
            let mut best_at = usize::MAX;
            let row_cost = &m.cost[row * cols..(row + 1) * cols];
            for (k, &col) in remaining.iter().enumerate() {
                let reduced = min_val + row_cost[col] - u[row] - v[col];
                if reduced < shortest[col] {
                    path[col] = row;
                    shortest[col] = reduced;
                }
                let s = shortest[col];
                if s < best || (s == best && row4col[col] == usize::MAX) {
                    best = s;
                    best_at = k;
                }
            }
            min_val = best;
            let col = remaining.swap_remove(best_at);
            seen_col[col] = true;
            if row4col[col] == usize::MAX {
                break col;
            }
            row = row4col[col];
        };
        // Update the potentials.
        u[start] += min_val;
        for r in 0..n {
            if seen_row[r] && r != start {
                u[r] += min_val - shortest[col4row[r]];
            }
        }
        for c in 0..cols {
            if seen_col[c] {
                v[c] -= min_val - shortest[c];
            }
        }
        // Augment along the path back to `start`.
        let mut col = sink;
        loop {
            let row = path[col];
            row4col[col] = row;
            std::mem::swap(&mut col4row[row], &mut col);
            if row == start {
                break;
            }
        }
    }
    col4row.into_iter().map(Some).collect()
}

/// The total cost of a matching.
pub fn total_cost(matrix: &CostMatrix, matching: &[Option<usize>]) -> i64 {
    matching
        .iter()
        .enumerate()
        .filter_map(|(r, c)| c.map(|c| matrix.get(r, c)))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every matching of the smaller side into the larger, by brute force.
    fn brute_force(m: &CostMatrix) -> i64 {
        fn go(m: &CostMatrix, row: usize, used: &mut Vec<bool>, acc: i64, best: &mut i64) {
            if row == m.rows() {
                *best = (*best).min(acc);
                return;
            }
            for c in 0..m.cols() {
                if !used[c] {
                    used[c] = true;
                    go(m, row + 1, used, acc + m.get(row, c), best);
                    used[c] = false;
                }
            }
        }
        let m = if m.rows() <= m.cols() {
            m.clone()
        } else {
            m.transposed()
        };
        let mut best = i64::MAX;
        go(&m, 0, &mut vec![false; m.cols()], 0, &mut best);
        best
    }

    #[test]
    fn the_textbook_example() {
        let c = [[4, 1, 3], [2, 0, 5], [3, 2, 2]];
        let m = CostMatrix::from_fn(3, 3, |r, k| c[r][k]);
        let s = solve(&m);
        assert_eq!(s, vec![Some(1), Some(0), Some(2)]);
        assert_eq!(total_cost(&m, &s), 5);
    }

    #[test]
    fn forbidden_pairs_are_left_out_not_forced() {
        // Row 1 may only take column 0, which row 0 also wants more cheaply.
        let m = CostMatrix::from_fn(2, 2, |r, c| match (r, c) {
            (0, 0) => 1,
            (0, 1) => 5,
            (1, 0) => 2,
            _ => FORBIDDEN,
        });
        assert_eq!(solve(&m), vec![Some(1), Some(0)]);
        let only_one = CostMatrix::from_fn(2, 2, |_, c| if c == 0 { 1 } else { FORBIDDEN });
        let s = solve(&only_one);
        assert_eq!(s.iter().flatten().count(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn matches_brute_force(rows in 1usize..6, cols in 1usize..6, seed in any::<u64>()) {
            let mut x = seed | 1;
            let m = CostMatrix::from_fn(rows, cols, |_, _| {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                (x % 1000) as i64 - 200
            });
            let s = solve(&m);
            // A proper matching of the smaller side …
            let used: Vec<usize> = s.iter().flatten().copied().collect();
            let mut dedup = used.clone();
            dedup.sort();
            dedup.dedup();
            prop_assert_eq!(used.len(), dedup.len());
            prop_assert_eq!(used.len(), rows.min(cols));
            // … at the lowest cost there is.
            prop_assert_eq!(total_cost(&m, &s), brute_force(&m));
        }
    }
}
