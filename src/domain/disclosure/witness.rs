//! Witnesses: the certificate that a suppressed cell can vary.
//!
//! A witness for cell i is an integer change `d` (entries -1, 0, +1) with `d[i] != 0` that
//! keeps every constraint balanced (`A d = 0`) and every count non-negative
//! (`count + d >= 0`). Then `count` and `count + d` are two non-negative integer tables that
//! agree on everything published, so cell i cannot be worked out. The search here is a
//! depth-first search with constraint propagation: pick the unbalanced constraint with the
//! fewest free cells, try each free cell in turn to rebalance it, backtrack. It may also move
//! a bounded number of published cells (which the caller then suppresses): that is how the
//! cheapest complementary suppressions are found.

use std::collections::BTreeSet;

use super::problem::Problem;

/// The constraints as sparse signed rows: `+1 * total - 1 * part... = 0`.
pub(super) struct System {
    pub(super) rows: Vec<Vec<(usize, i64)>>,
    pub(super) by_cell: Vec<Vec<(usize, i64)>>,
}

impl System {
    pub(super) fn new(problem: &Problem) -> Self {
        let mut by_cell = vec![Vec::new(); problem.cells().len()];
        let rows: Vec<Vec<(usize, i64)>> = problem
            .constraints()
            .iter()
            .map(|c| {
                std::iter::once((c.total.0, 1))
                    .chain(c.parts.iter().map(|p| (p.0, -1)))
                    .collect()
            })
            .collect();
        for (r, row) in rows.iter().enumerate() {
            for &(cell, coef) in row {
                by_cell[cell].push((r, coef));
            }
        }
        Self { rows, by_cell }
    }
}

/// Search budget per witness; past it the cell is treated as exposed (more suppression, never
/// less protection). Most witnesses are found in a few dozen nodes; a search that runs long is
/// usually proving there is none, and every such proof is repeated at each deepening level.
/// Measured on the race family of a 10k force (1,254 small cells, release, `benches/stats.rs`):
/// 20,000 nodes took 58 s and suppressed 1,456 more cells; 5,000 took 41 s (1,534); 2,000 took
/// 9.2 s (1,341); 500 took 6.8 s (1,840). Decision 0011.
const WITNESS_NODE_BUDGET: usize = 2_000;

/// Most published cells one fix may suppress before falling back to a single greedy pick.
pub(super) const MAX_NEW_PER_FIX: usize = 6;

/// Look for a change `delta` (entries -1, 0, +1) with `delta[target] != 0`, every constraint
/// still balanced, and `count + delta >= 0`, non-zero only on suppressed cells and on at most
/// `max_new` published ones. Depth-first search with constraint propagation, trying
/// suppressed cells first, then published ones by (zero last, count, id); the result is
/// verified before use.
pub(super) fn find_witness(
    system: &System,
    suppressed: &[bool],
    counts: &[u64],
    target: usize,
    max_new: usize,
) -> Option<Vec<(usize, i8)>> {
    let mut signs = vec![1i8];
    if counts[target] >= 1 {
        signs.push(-1);
    }
    for sign in signs {
        let mut search = Search::new(system, suppressed, counts, max_new);
        search.assign(target, sign);
        if search.dfs() {
            let delta: Vec<(usize, i8)> = search
                .delta
                .iter()
                .enumerate()
                .filter(|(_, d)| **d != 0)
                .map(|(c, &d)| (c, d))
                .collect();
            let new = delta.iter().filter(|(c, _)| !suppressed[*c]).count();
            if new <= max_new && verify_witness(system, counts, &delta, target) {
                return Some(delta);
            }
        }
    }
    None
}

fn verify_witness(system: &System, counts: &[u64], delta: &[(usize, i8)], target: usize) -> bool {
    let mut full = vec![0i64; counts.len()];
    for &(c, d) in delta {
        if (counts[c] as i128 + i128::from(d)) < 0 {
            return false;
        }
        full[c] = i64::from(d);
    }
    full[target] != 0
        && system
            .rows
            .iter()
            .all(|row| row.iter().map(|&(c, coef)| coef * full[c]).sum::<i64>() == 0)
}

struct Search<'a> {
    system: &'a System,
    suppressed: &'a [bool],
    counts: &'a [u64],
    max_new: usize,
    new: usize,
    delta: Vec<i8>,
    assigned: Vec<bool>,
    imbalance: Vec<i64>,
    /// Unassigned suppressed / published cells per constraint.
    free_suppressed: Vec<usize>,
    free_published: Vec<usize>,
    unbalanced: BTreeSet<usize>,
    nodes: usize,
}

impl<'a> Search<'a> {
    fn new(system: &'a System, suppressed: &'a [bool], counts: &'a [u64], max_new: usize) -> Self {
        let count = |want: bool| {
            system
                .rows
                .iter()
                .map(|row| row.iter().filter(|&&(c, _)| suppressed[c] == want).count())
                .collect()
        };
        Self {
            system,
            suppressed,
            counts,
            max_new,
            new: 0,
            delta: vec![0; counts.len()],
            assigned: vec![false; counts.len()],
            imbalance: vec![0; system.rows.len()],
            free_suppressed: count(true),
            free_published: count(false),
            unbalanced: BTreeSet::new(),
            nodes: 0,
        }
    }

    fn set(&mut self, cell: usize, value: i8, assign: bool) {
        let sign: i64 = if assign { 1 } else { -1 };
        self.assigned[cell] = assign;
        self.delta[cell] = if assign { value } else { 0 };
        if !self.suppressed[cell] && value != 0 {
            if assign {
                self.new += 1;
            } else {
                self.new -= 1;
            }
        }
        for &(r, coef) in &self.system.by_cell[cell] {
            let free = if self.suppressed[cell] {
                &mut self.free_suppressed[r]
            } else {
                &mut self.free_published[r]
            };
            if assign {
                *free -= 1;
            } else {
                *free += 1;
            }
            self.imbalance[r] += sign * coef * i64::from(value);
            if self.imbalance[r] == 0 {
                self.unbalanced.remove(&r);
            } else {
                self.unbalanced.insert(r);
            }
        }
    }

    fn assign(&mut self, cell: usize, value: i8) {
        self.set(cell, value, true);
    }

    fn unassign(&mut self, cell: usize) {
        let value = self.delta[cell];
        self.set(cell, value, false);
    }

    fn free(&self, r: usize) -> usize {
        self.free_suppressed[r]
            + if self.new < self.max_new {
                self.free_published[r]
            } else {
                0
            }
    }

    /// Extend the assignment until every constraint balances (true, assignment kept) or
    /// give up (false, assignment restored).
    fn dfs(&mut self) -> bool {
        self.nodes += 1;
        if self.nodes > WITNESS_NODE_BUDGET {
            return false;
        }
        let Some(r) = self
            .unbalanced
            .iter()
            .copied()
            .min_by_key(|&r| (self.free(r), r))
        else {
            return true;
        };
        if self.free(r) == 0 {
            return false;
        }
        let need = -self.imbalance[r].signum();
        let mut candidates: Vec<(usize, i64)> = self.system.rows[r]
            .iter()
            .copied()
            .filter(|&(c, _)| !self.assigned[c] && (self.suppressed[c] || self.new < self.max_new))
            .collect();
        let counts = self.counts;
        let suppressed = self.suppressed;
        candidates.sort_by_key(|&(c, _)| (!suppressed[c], counts[c] == 0, counts[c], c));
        let mut zeroed = Vec::new();
        let mut found = false;
        for (cell, coef) in candidates {
            if self.assigned[cell] {
                continue;
            }
            let value = (need * coef.signum()) as i8;
            let fits = value > 0 || self.counts[cell] >= 1;
            if fits && (self.suppressed[cell] || self.new < self.max_new) {
                self.assign(cell, value);
                if self.dfs() {
                    found = true;
                    break;
                }
                self.unassign(cell);
            }
            if self.nodes > WITNESS_NODE_BUDGET {
                break;
            }
            // Not moving this cell from here on in this branch.
            self.assign(cell, 0);
            zeroed.push(cell);
        }
        if !found {
            for cell in zeroed.into_iter().rev() {
                self.unassign(cell);
            }
        }
        found
    }
}
