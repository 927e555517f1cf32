//! The generic input to disclosure control: cells, additive constraints, breakdown groups.

use serde::{Deserialize, Serialize};

use super::DisclosureError;

/// Index of a cell in a [`Problem`]. Ids are handed out in insertion order, and "ties by id"
/// in the suppression rule means this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CellId(pub usize);

/// One count that may be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// A stable label, used in errors and by callers to find the cell again.
    pub label: String,
    /// The true, non-negative count.
    pub count: u64,
}

/// `total = sum(parts)`: a relation between cells that holds for the true counts and that a
/// viewer of the published tables is assumed to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub total: CellId,
    pub parts: Vec<CellId>,
}

/// `parts` break down the group counted by `headcount` (a row of a table). When the group's
/// headcount is below the threshold the group is not broken down at all: every part is
/// suppressed, zeros included (see [`super::may_break_down`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakdownGroup {
    pub headcount: CellId,
    pub parts: Vec<CellId>,
}

/// A table family: every cell that a viewer may see, across every table they may combine, and
/// every additive relation between them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    cells: Vec<Cell>,
    constraints: Vec<Constraint>,
    groups: Vec<BreakdownGroup>,
}

impl Problem {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a cell with its true count; returns its id.
    pub fn add_cell(&mut self, label: impl Into<String>, count: u64) -> CellId {
        self.cells.push(Cell {
            label: label.into(),
            count,
        });
        CellId(self.cells.len() - 1)
    }

    /// Replace the true count of a cell (so a built family can be refilled).
    pub fn set_count(&mut self, id: CellId, count: u64) -> Result<(), DisclosureError> {
        self.check_id(id)?;
        self.cells[id.0].count = count;
        Ok(())
    }

    /// Add `total = sum(parts)`. `parts` must be non-empty, must not repeat a cell and must not
    /// contain `total`. Whether the true counts satisfy it is checked by [`Problem::validate`].
    pub fn add_constraint(
        &mut self,
        total: CellId,
        parts: Vec<CellId>,
    ) -> Result<(), DisclosureError> {
        self.check_members(total, &parts)?;
        self.constraints.push(Constraint { total, parts });
        Ok(())
    }

    /// Declare that `parts` break down the group counted by `headcount` (no sum is implied:
    /// add the constraint separately).
    pub fn add_breakdown_group(
        &mut self,
        headcount: CellId,
        parts: Vec<CellId>,
    ) -> Result<(), DisclosureError> {
        self.check_members(headcount, &parts)?;
        self.groups.push(BreakdownGroup { headcount, parts });
        Ok(())
    }

    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    pub fn cell(&self, id: CellId) -> Option<&Cell> {
        self.cells.get(id.0)
    }

    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    pub fn breakdown_groups(&self) -> &[BreakdownGroup] {
        &self.groups
    }

    /// Check that every constraint holds for the true counts.
    pub fn validate(&self) -> Result<(), DisclosureError> {
        for (index, c) in self.constraints.iter().enumerate() {
            let total = u128::from(self.cells[c.total.0].count);
            let sum: u128 = c
                .parts
                .iter()
                .map(|p| u128::from(self.cells[p.0].count))
                .sum();
            if total != sum {
                return Err(DisclosureError::InconsistentCounts {
                    constraint: index,
                    total_label: self.cells[c.total.0].label.clone(),
                    total,
                    sum_of_parts: sum,
                });
            }
        }
        Ok(())
    }

    fn check_id(&self, id: CellId) -> Result<(), DisclosureError> {
        if id.0 < self.cells.len() {
            Ok(())
        } else {
            Err(DisclosureError::UnknownCell(id.0))
        }
    }

    fn check_members(&self, total: CellId, parts: &[CellId]) -> Result<(), DisclosureError> {
        self.check_id(total)?;
        if parts.is_empty() {
            return Err(DisclosureError::MalformedConstraint("no parts"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for &p in parts {
            self.check_id(p)?;
            if p == total {
                return Err(DisclosureError::MalformedConstraint(
                    "the total is one of its own parts",
                ));
            }
            if !seen.insert(p) {
                return Err(DisclosureError::MalformedConstraint("a part is repeated"));
            }
        }
        Ok(())
    }
}
