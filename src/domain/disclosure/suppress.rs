//! Primary and secondary (complementary) suppression over a generic [`Problem`].

use super::problem::{CellId, Problem};
use super::witness::{find_witness, System, MAX_NEW_PER_FIX};
use super::{may_break_down, DisclosureConfig, DisclosureError, Published, RulesApplied};

/// Why a cell is or is not published. INTERNAL: never publish this (telling a viewer that a
/// cell was suppressed as a complement tells them it is not small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellStatus {
    Published,
    /// Count in `1..min_cell` (or zero when zeros are suppressed).
    Primary,
    /// Part of a group whose headcount is too small to break down.
    SmallGroup,
    /// Suppressed so that no other suppressed cell can be worked out.
    Secondary,
}

impl CellStatus {
    pub fn is_suppressed(self) -> bool {
        self != CellStatus::Published
    }
}

/// The outcome of disclosure control on a [`Problem`].
#[derive(Debug, Clone)]
pub struct Protection {
    statuses: Vec<CellStatus>,
    values: Vec<Published>,
    /// For each suppressed cell, a change to the suppressed cells (sparse: cell, delta) that
    /// keeps every constraint and non-negativity and moves that cell.
    witnesses: Vec<Option<Vec<(usize, i8)>>>,
    rules: RulesApplied,
}

impl Protection {
    /// What may be shown for a cell (rounded if rounding is configured).
    pub fn published(&self, id: CellId) -> Published {
        self.values[id.0]
    }

    /// Published values, indexed by [`CellId`].
    pub fn values(&self) -> &[Published] {
        &self.values
    }

    /// Why a cell is (not) suppressed. For tests and internal logs only; never publish.
    pub fn status(&self, id: CellId) -> CellStatus {
        self.statuses[id.0]
    }

    /// The rules applied and how many cells each suppressed; safe to publish.
    pub fn rules(&self) -> &RulesApplied {
        &self.rules
    }

    /// For a suppressed cell: the certificate that it can vary (see the module docs): sparse
    /// `(cell, delta)` pairs. `None` for published cells.
    pub fn witness(&self, id: CellId) -> Option<Vec<(CellId, i64)>> {
        self.witnesses[id.0]
            .as_ref()
            .map(|w| w.iter().map(|&(c, d)| (CellId(c), i64::from(d))).collect())
    }
}

/// Apply primary suppression, the small-group rule, secondary suppression until every
/// suppressed cell carries a witness, then rounding. See the module docs of
/// [`super`] for the exact rule and guarantee.
pub fn protect_problem(
    problem: &Problem,
    config: &DisclosureConfig,
) -> Result<Protection, DisclosureError> {
    problem.validate()?;
    let counts: Vec<u64> = problem.cells().iter().map(|c| c.count).collect();
    let n = counts.len();
    let system = System::new(problem);

    let mut statuses: Vec<CellStatus> = counts
        .iter()
        .map(|&c| {
            if (c > 0 && c < config.min_cell) || (c == 0 && config.suppress_zeros) {
                CellStatus::Primary
            } else {
                CellStatus::Published
            }
        })
        .collect();
    for group in problem.breakdown_groups() {
        if !may_break_down(counts[group.headcount.0], config) {
            for part in &group.parts {
                if statuses[part.0] == CellStatus::Published {
                    statuses[part.0] = CellStatus::SmallGroup;
                }
            }
        }
    }

    let mut witnesses: Vec<Option<Vec<(usize, i8)>>> = vec![None; n];
    // Each round finishes, or suppresses one more cell, or gives one more cell a witness.
    for _ in 0..=2 * n {
        let Some(exposed) = first_exposed(&system, &statuses, &counts, &mut witnesses)? else {
            let values = statuses
                .iter()
                .zip(&counts)
                .map(|(s, &c)| match s {
                    CellStatus::Published => Published::Count(round_to(c, config.round_to)),
                    _ => Published::Suppressed,
                })
                .collect();
            let count = |s: CellStatus| statuses.iter().filter(|&&x| x == s).count();
            let rules = RulesApplied {
                min_cell: config.min_cell,
                suppress_zeros: config.suppress_zeros,
                round_to: config.round_to,
                rate_decimals: config.rate_decimals,
                primary_suppressions: count(CellStatus::Primary),
                small_group_suppressions: count(CellStatus::SmallGroup),
                secondary_suppressions: count(CellStatus::Secondary),
            };
            return Ok(Protection {
                statuses,
                values,
                witnesses,
                rules,
            });
        };
        // Cheapest fix first: a witness for the exposed cell that may also move up to
        // `max_new` published cells, which are then suppressed (iterative deepening, so the
        // fewest new suppressions the search can find). Fallback: one greedy complement.
        let is_suppressed: Vec<bool> = statuses.iter().map(|s| s.is_suppressed()).collect();
        let extended = (1..=MAX_NEW_PER_FIX)
            .find_map(|max_new| find_witness(&system, &is_suppressed, &counts, exposed, max_new));
        match extended {
            Some(delta) => {
                for &(c, _) in &delta {
                    if statuses[c] == CellStatus::Published {
                        statuses[c] = CellStatus::Secondary;
                    }
                    if witnesses[c].is_none() {
                        witnesses[c] = Some(delta.clone());
                    }
                }
            }
            None => {
                let complement = choose_complement(&system, &statuses, &counts, exposed)
                    .ok_or_else(|| DisclosureError::Unprotectable {
                        label: problem.cells()[exposed].label.clone(),
                    })?;
                statuses[complement] = CellStatus::Secondary;
            }
        }
    }
    unreachable!("every round makes progress or returns")
}

/// Round to the nearest multiple of `base` (halves round up); no-op for `None`, 0 or 1.
pub(super) fn round_to(count: u64, base: Option<u64>) -> u64 {
    match base {
        Some(b) if b > 1 => {
            let r = count % b;
            if 2 * u128::from(r) >= u128::from(b) {
                (count - r).saturating_add(b)
            } else {
                count - r
            }
        }
        _ => count,
    }
}

/// The lowest-id suppressed cell that a viewer could pin down, or `None` when every suppressed
/// cell has a witness: the first suppressed cell whose witness search (which also records the
/// witnesses it finds) comes back empty.
fn first_exposed(
    system: &System,
    statuses: &[CellStatus],
    counts: &[u64],
    witnesses: &mut [Option<Vec<(usize, i8)>>],
) -> Result<Option<usize>, DisclosureError> {
    let suppressed: Vec<usize> = (0..counts.len())
        .filter(|&i| statuses[i].is_suppressed())
        .collect();
    if suppressed.iter().all(|&i| witnesses[i].is_some()) {
        return Ok(None);
    }
    let is_suppressed: Vec<bool> = statuses.iter().map(|s| s.is_suppressed()).collect();

    // A verified witness is the whole guarantee: it is a second feasible table in which the
    // cell differs, so neither linear recovery nor the zero-sum rule can pin that cell down.
    // Checking those separately (an exact elimination over every suppressed cell, each round)
    // cost tens of seconds on a 10k-person force with hundreds of small cells and found
    // nothing the witness search does not; the property tests still attack the output with
    // an independent linear solver and by brute force.
    for &cell in &suppressed {
        if witnesses[cell].is_some() {
            continue;
        }
        match find_witness(system, &is_suppressed, counts, cell, 0) {
            Some(delta) => {
                for &(c, _) in &delta {
                    if witnesses[c].is_none() {
                        witnesses[c] = Some(delta.clone());
                    }
                }
            }
            None => return Ok(Some(cell)),
        }
    }
    Ok(None)
}

/// The published cell to suppress next: the smallest non-zero published count in a
/// constraint containing the exposed cell (zeros last: a suppressed zero can only move up, so
/// it protects less), ties by id. Falls back to constraints touching any suppressed cell, then
/// to any published cell.
fn choose_complement(
    system: &System,
    statuses: &[CellStatus],
    counts: &[u64],
    exposed: usize,
) -> Option<usize> {
    let key = |c: &usize| (counts[*c] == 0, counts[*c], *c);
    let published = |cells: &mut dyn Iterator<Item = usize>| {
        cells
            .filter(|&c| statuses[c] == CellStatus::Published)
            .min_by_key(key)
    };
    let near = system.by_cell[exposed]
        .iter()
        .flat_map(|&(r, _)| system.rows[r].iter().map(|&(c, _)| c));
    if let Some(c) = published(&mut near.into_iter()) {
        return Some(c);
    }
    let touching = system
        .rows
        .iter()
        .filter(|row| row.iter().any(|&(c, _)| statuses[c].is_suppressed()))
        .flat_map(|row| row.iter().map(|&(c, _)| c));
    if let Some(c) = published(&mut touching.into_iter()) {
        return Some(c);
    }
    published(&mut (0..counts.len()))
}
