//! Keeping the sealed tallies in step, and reading them back for figures.
//!
//! Every change runs inside the caller's transaction (a declaration written, a consent
//! withdrawn, a workforce sync applied), so a tally never disagrees with what it counts.

use std::collections::BTreeMap;

use chrono::Utc;

use crate::crypto::{Sealed, Sealer};
use crate::domain::tally::{self as tally, CellCounts, Counted, TallyShape};
use crate::error::{AppError, AppResult};
use crate::store::tallies::{self, TallyRow};
use crate::store::{workforce, Conn};

/// Where a person counts: org unit, staff type and rank (if any).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CellKey {
    pub org_unit: String,
    pub staff_type: String,
    pub rank: Option<String>,
}

impl CellKey {
    fn encode(&self) -> String {
        format!(
            "{}|{}|{}",
            self.org_unit,
            self.staff_type,
            self.rank.as_deref().unwrap_or("-")
        )
    }

    fn decode(cell: &str) -> Option<Self> {
        let mut parts = cell.split('|');
        let (unit, staff_type, rank) = (parts.next()?, parts.next()?, parts.next()?);
        Some(CellKey {
            org_unit: unit.to_owned(),
            staff_type: staff_type.to_owned(),
            rank: (rank != "-").then(|| rank.to_owned()),
        })
    }
}

/// Binds a sealed row to its organisation and cell, so rows cannot be swapped.
pub(crate) fn context(org: &str, cell: &str) -> Vec<u8> {
    format!("tally:{org}:{cell}").into_bytes()
}

fn open(sealer: &Sealer, row: &TallyRow) -> AppResult<CellCounts> {
    let sealed = Sealed {
        key_id: row.key_id.clone(),
        blob: row.sealed.clone(),
    };
    let plain = sealer
        .open(&sealed, &context(&row.organisation_id, &row.cell))
        .map_err(AppError::internal)?;
    tally::decode(&plain).ok_or_else(|| AppError::internal("a tally row does not decode"))
}

/// What every tally of the organisation is encoded over: its current catalogue (nothing
/// before it has one).
pub fn shape(conn: &mut Conn, org: &str) -> AppResult<TallyShape> {
    match crate::store::catalogue::current_published_id(conn, org)? {
        Some(id) => Ok(TallyShape::of(&*super::published::version(conn, org, &id)?)),
        None => Ok(TallyShape::default()),
    }
}

fn seal(
    sealer: &Sealer,
    org: &str,
    cell: &str,
    counts: &CellCounts,
    shape: &TallyShape,
    version: i64,
) -> AppResult<TallyRow> {
    // Dense over the catalogue, so the ciphertext's length says nothing about the counts.
    let plain = tally::encode(counts, shape);
    let sealed = sealer
        .seal(&plain, &context(org, cell))
        .map_err(AppError::internal)?;
    Ok(TallyRow {
        organisation_id: org.to_owned(),
        cell: cell.to_owned(),
        key_id: sealed.key_id,
        sealed: sealed.blob,
        version,
        updated_at: Utc::now().naive_utc(),
    })
}

/// Applies `change` to one cell's counts under the row lock. A change that would make a count
/// negative is a bug upstream; it aborts the caller's transaction rather than publish a lie.
pub fn update_cell(
    conn: &mut Conn,
    sealer: &Sealer,
    org: &str,
    cell: &CellKey,
    change: impl FnOnce(&mut CellCounts) -> Result<(), crate::domain::tally::TallyError>,
) -> AppResult<()> {
    let key = cell.encode();
    let existing = tallies::find_for_update(conn, org, &key)?;
    let (mut counts, version) = match &existing {
        Some(row) => (open(sealer, row)?, row.version),
        None => (CellCounts::default(), 0),
    };
    change(&mut counts).map_err(AppError::internal)?;
    let shape = shape(conn, org)?;
    tallies::upsert(
        conn,
        &seal(sealer, org, &key, &counts, &shape, version + 1)?,
    )?;
    Ok(())
}

/// Every cell of an organisation, opened.
pub fn load_org(
    conn: &mut Conn,
    sealer: &Sealer,
    org: &str,
) -> AppResult<Vec<(CellKey, CellCounts)>> {
    tallies::list_org(conn, org)?
        .iter()
        .map(|row| {
            let key = CellKey::decode(&row.cell)
                .ok_or_else(|| AppError::internal("malformed tally cell"))?;
            Ok((key, open(sealer, row)?))
        })
        .collect()
}

/// Recounts an organisation's tallies from its workforce in post and each person's counted
/// answers (`groups_of(employee_id)`), replacing what was there. Used after a workforce sync,
/// where many people may join, leave or move at once, and by tests as the reference.
pub fn rebuild(
    conn: &mut Conn,
    sealer: &Sealer,
    org: &str,
    mut groups_of: impl FnMut(&mut Conn, &str) -> AppResult<Counted>,
) -> AppResult<usize> {
    let today = Utc::now().date_naive().to_string();
    tallies::set_counted_on(conn, org, &today)?;
    tallies::lock_org(conn, org)?;
    let people = workforce::in_post_cells(conn, org, &today)?;
    let mut cells: BTreeMap<CellKey, CellCounts> = BTreeMap::new();
    for (employee, org_unit, staff_type, rank) in people {
        let groups = groups_of(conn, &employee)?;
        cells
            .entry(CellKey {
                org_unit,
                staff_type,
                rank,
            })
            .or_default()
            .join(&groups)
            .map_err(AppError::internal)?;
    }
    replace_org(conn, sealer, org, &cells)
}

/// Declarations read per page by [`recount`].
const RECOUNT_PAGE: i64 = 2000;

/// What [`rebuild`] with [`counted_groups`] computes, in a handful of set-based reads: the
/// headcount of every cell by one GROUP BY, then only the people in post who have declared,
/// a page at a time. A sync uses it: asking for each of 250k people's declaration in turn
/// was most of a national sync's time. The tests keep `rebuild` as the reference.
pub fn recount(conn: &mut Conn, sealer: &Sealer, org: &str) -> AppResult<usize> {
    recount_paged(conn, sealer, org, RECOUNT_PAGE)
}

/// [`recount`] reading `page` declarations at a time (tests page by one to cross boundaries).
pub fn recount_paged(conn: &mut Conn, sealer: &Sealer, org: &str, page: i64) -> AppResult<usize> {
    let today = Utc::now().date_naive().to_string();
    // First the organisation's tally record, then its cells (the order a leavers' pass takes
    // too): another recount or pass waits, writers that moved a cell have committed before the
    // reads below, and writers still to come wait for this one and apply their change to it.
    tallies::set_counted_on(conn, org, &today)?;
    tallies::lock_org(conn, org)?;
    let mut cells: BTreeMap<CellKey, CellCounts> =
        workforce::in_post_headcounts(conn, org, &today)?
            .into_iter()
            .map(|(org_unit, staff_type, rank, n)| {
                let key = CellKey {
                    org_unit,
                    staff_type,
                    rank,
                };
                let counts = CellCounts {
                    headcount: u64::try_from(n).unwrap_or(0),
                    ..CellCounts::default()
                };
                (key, counts)
            })
            .collect();
    let mut after = String::new();
    loop {
        let rows = crate::store::declarations::in_post_page(conn, org, &today, &after, page)?;
        let full = rows.len() as i64 == page;
        for (org_unit, staff_type, rank, row, key) in rows {
            let groups = super::counted::groups_of_row(conn, sealer, &row, key.as_ref())?;
            let key = CellKey {
                org_unit,
                staff_type,
                rank,
            };
            // The person is already in the headcount; only their answers are added.
            cells
                .get_mut(&key)
                .ok_or_else(|| AppError::internal("a declared person outside every cell"))?
                .replace(&Counted::blank(), &groups)
                .map_err(AppError::internal)?;
            after = row.employee_id;
        }
        if !full {
            break;
        }
    }
    replace_org(conn, sealer, org, &cells)
}

/// Replaces the organisation's sealed tallies with `cells`, each cell's version moving on
/// from the one it replaces.
fn replace_org(
    conn: &mut Conn,
    sealer: &Sealer,
    org: &str,
    cells: &BTreeMap<CellKey, CellCounts>,
) -> AppResult<usize> {
    let versions: BTreeMap<String, i64> = tallies::list_org(conn, org)?
        .into_iter()
        .map(|row| (row.cell, row.version))
        .collect();
    let shape = shape(conn, org)?;
    let rows = cells
        .iter()
        .map(|(cell, counts)| {
            let key = cell.encode();
            let version = versions.get(&key).copied().unwrap_or(0) + 1;
            seal(sealer, org, &key, counts, &shape, version)
        })
        .collect::<AppResult<Vec<_>>>()?;
    tallies::replace_org_rows(conn, org, &rows)?;
    Ok(cells.len())
}

/// What each person counts as in a recount: their stored declaration, opened and collapsed to
/// publication groups under the catalogue version it was answered against.
pub fn counted_groups(sealer: &Sealer) -> impl FnMut(&mut Conn, &str) -> AppResult<Counted> + '_ {
    move |conn, employee| super::counted::counted_groups(conn, sealer, employee)
}

/// The cell an employee counts in, if they are in post today (no leave date, or one still to
/// come): the same rule the recount uses.
pub fn counted_cell(employee: &workforce::Employee) -> Option<CellKey> {
    let today = Utc::now().date_naive().to_string();
    crate::domain::workforce::in_post_on(employee.leave_date.as_deref(), &today).then(|| CellKey {
        org_unit: employee.org_unit_id.clone(),
        staff_type: employee.staff_type_id.clone(),
        rank: employee.rank_id.clone(),
    })
}

/// One person joined, left or moved (`before` absent for a joiner, `after` for a leaver):
/// their counted answers move with them, in the caller's transaction.
pub fn follow_person(
    conn: &mut Conn,
    sealer: &Sealer,
    before: Option<&workforce::Employee>,
    after: &workforce::Employee,
) -> AppResult<()> {
    let from = before.and_then(counted_cell);
    let to = counted_cell(after);
    if from == to {
        return Ok(());
    }
    let groups = super::counted::counted_groups(conn, sealer, &after.id)?;
    // Leaving one cell and joining another commute, so they are applied in the order every
    // writer holding more than one tally row locks them (the cell's bytes, as `recount`
    // does): a move each way, or a move beside a recount, cannot each hold a row the other
    // waits for.
    let mut changes: Vec<(&CellKey, bool)> = from
        .iter()
        .map(|cell| (cell, false))
        .chain(to.iter().map(|cell| (cell, true)))
        .collect();
    changes.sort_by_key(|(cell, _)| cell.encode());
    for (cell, joining) in changes {
        update_cell(conn, sealer, &after.organisation_id, cell, |c| {
            if joining {
                c.join(&groups)
            } else {
                c.leave(&groups)
            }
        })?;
    }
    Ok(())
}
