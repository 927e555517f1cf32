//! SCIM Users over the organisation's employees: resolve codes, enforce versions and keys, and
//! write in one transaction. Reading and rendering the documents is `domain::scim`.
//!
//! DELETE never removes a row: it makes the person a leaver (leave date today) and hides them
//! from SCIM (RFC 7644 §3.6 wants 404 afterwards), so workforce history and the figures built
//! on it survive an identity provider de-provisioning someone.

use chrono::{DateTime, NaiveDate, SubsecRound as _, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::domain::scim::{
    self, if_match_allows, read_user, render_user, Filter, ScimError, UserInput, UserRecord,
};
use crate::services::audit::{self, Actor};
use crate::services::structure::ensure_staff_types;
use crate::store::structure::{self as structure_store, OrgUnit};
use crate::store::workforce::{self as store, Employee, ScimKey};
use crate::store::{organisations, Conn, Database, StoreError};

impl From<StoreError> for ScimError {
    fn from(err: StoreError) -> Self {
        if err.is_not_found() {
            ScimError::not_found()
        } else if err.is_unique_violation() {
            ScimError::uniqueness("another User already has this userName or externalId")
        } else if let StoreError::Pool(_) = err {
            ScimError::new(503, None, "the database is unavailable")
        } else {
            tracing::error!(error = %err, "SCIM request failed");
            ScimError::new(
                500,
                None,
                "an unexpected error occurred; it has been logged",
            )
        }
    }
}

pub type ScimResult<T> = Result<T, ScimError>;

/// Now, to the microsecond PostgreSQL keeps: the version computed before a write must equal the
/// one computed from the stored row afterwards.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A rendered User and its version, for the ETag header.
pub struct UserDoc {
    pub id: String,
    pub body: Value,
    pub version: String,
}

/// The organisation's structure as SCIM names it: codes both ways.
pub struct Structure {
    organisation: String,
    units: Vec<OrgUnit>,
    staff_types: Vec<(String, String)>,
    ranks: Vec<(String, String)>,
}

impl Structure {
    fn load(conn: &mut Conn, org: &str) -> ScimResult<Self> {
        ensure_staff_types(conn, org)?;
        let organisation = organisations::find(conn, org)?.name;
        let units = structure_store::list_units(conn, org)?;
        let (_, staff_types, ranks) = store::structure_codes(conn, org)?;
        Ok(Structure {
            organisation,
            units,
            staff_types,
            ranks,
        })
    }

    /// Codes of units, staff types and ranks, for the Schemas' `canonicalValues`.
    pub fn codes(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        (
            sorted(self.units.iter().map(|u| u.code.clone()).collect()),
            sorted(self.staff_types.iter().map(|(c, _)| c.clone()).collect()),
            sorted(self.ranks.iter().map(|(c, _)| c.clone()).collect()),
        )
    }

    fn code_of(pairs: &[(String, String)], id: &str) -> String {
        pairs
            .iter()
            .find(|(_, i)| i == id)
            .map(|(c, _)| c.clone())
            .unwrap_or_default()
    }

    fn id_of(pairs: &[(String, String)], code: &str, attr: &str) -> ScimResult<String> {
        pairs
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, id)| id.clone())
            .ok_or_else(|| {
                ScimError::bad(
                    "invalidValue",
                    format!("`{attr}`: this organisation has no code `{code}`"),
                )
            })
    }

    fn record(&self, e: &Employee) -> UserRecord {
        let unit = self.units.iter().find(|u| u.id == e.org_unit_id);
        let division = unit
            .and_then(|u| u.parent_id.as_deref())
            .and_then(|p| self.units.iter().find(|u| u.id == p))
            .map(|u| u.code.clone());
        UserRecord {
            id: e.id.clone(),
            user_name: e.employee_number.clone(),
            external_id: e.external_subject.clone(),
            leave_date: e.leave_date.clone(),
            organization: self.organisation.clone(),
            department: unit.map(|u| u.code.clone()).unwrap_or_default(),
            division,
            staff_type: Self::code_of(&self.staff_types, &e.staff_type_id),
            rank: e.rank_id.as_deref().map(|r| Self::code_of(&self.ranks, r)),
            fte: e.fte,
            start_date: e.start_date.clone(),
            last_modified: e.updated_at.and_utc(),
        }
    }

    fn doc(&self, e: &Employee, base: &str) -> UserDoc {
        let record = self.record(e);
        UserDoc {
            id: e.id.clone(),
            body: render_user(&record, &format!("{base}/Users/{}", e.id)),
            version: record.version(),
        }
    }

    /// Builds the employee row a User body describes. `current` is the row being replaced
    /// (`None` on create): a required attribute the body leaves out is an error, never a guess.
    fn row(&self, org: &str, input: UserInput, current: Option<&Employee>) -> ScimResult<Employee> {
        let required = |attr: &str| ScimError::bad("invalidValue", format!("`{attr}` is required"));
        let unit_code = input.department.ok_or_else(|| required("department"))?;
        let unit_id = self
            .units
            .iter()
            .find(|u| u.code == unit_code)
            .map(|u| u.id.clone())
            .ok_or_else(|| {
                ScimError::bad(
                    "invalidValue",
                    format!("`department`: this organisation has no org unit `{unit_code}`"),
                )
            })?;
        let staff_type = input.staff_type.ok_or_else(|| required("staffType"))?;
        let staff_type_id = Self::id_of(&self.staff_types, &staff_type, "staffType")?;
        let rank_id = input
            .rank
            .map(|r| Self::id_of(&self.ranks, &r, "rank"))
            .transpose()?;
        let today = Utc::now().date_naive();
        // A person provisioned without a start date starts today: identity providers rarely
        // know it, and the bulk sync corrects it from HR.
        let start_date = input
            .start_date
            .unwrap_or_else(|| today.format("%Y-%m-%d").to_string());
        let leave_date = if input.active {
            None
        } else {
            current.and_then(|c| c.leave_date.clone()).or_else(|| {
                // Never a leave date before the start date (a future joiner disabled early).
                let start = NaiveDate::parse_from_str(&start_date, "%Y-%m-%d").unwrap_or(today);
                Some(today.max(start).format("%Y-%m-%d").to_string())
            })
        };
        Ok(Employee {
            id: current.map_or_else(|| Uuid::new_v4().to_string(), |c| c.id.clone()),
            organisation_id: org.to_owned(),
            employee_number: input.user_name,
            external_subject: input.external_id,
            org_unit_id: unit_id,
            staff_type_id,
            rank_id,
            fte: input.fte.unwrap_or(1.0),
            start_date,
            leave_date,
            updated_at: now().naive_utc(),
        })
    }
}

async fn run<T: Send + 'static>(
    db: &Database,
    work: impl FnOnce(&mut Conn) -> ScimResult<T> + Send + 'static,
) -> ScimResult<T> {
    db.run(move |c| Ok(work(c))).await?
}

/// The organisation's structure codes (for the Schemas endpoint).
pub async fn structure(db: &Database, org: Uuid) -> ScimResult<Structure> {
    run(db, move |c| Structure::load(c, &org.to_string())).await
}

/// A ListResponse page. `start_index` is 1-based as SCIM counts.
pub async fn list(
    db: &Database,
    org: Uuid,
    filter: Option<Filter>,
    start_index: i64,
    count: i64,
    base: String,
) -> ScimResult<Value> {
    let start_index = start_index.max(1);
    let count = count.clamp(0, scim::MAX_RESULTS);
    run(db, move |c| {
        let org = org.to_string();
        c.transaction(|c| {
            let structure = Structure::load(c, &org)?;
            let key = match &filter {
                None => ScimKey::All,
                Some(Filter(clauses)) => ScimKey::Matching(clauses),
            };
            let (total, rows) = store::scim_page(c, &org, key, start_index - 1, count)?;
            let resources: Vec<Value> = rows.iter().map(|e| structure.doc(e, &base).body).collect();
            Ok(json!({
                "schemas": [scim::LIST],
                "totalResults": total,
                "startIndex": start_index,
                "itemsPerPage": resources.len(),
                "Resources": resources,
            }))
        })
    })
    .await
}

pub async fn get(db: &Database, org: Uuid, id: String, base: String) -> ScimResult<UserDoc> {
    run(db, move |c| {
        let org = org.to_string();
        let structure = Structure::load(c, &org)?;
        let row = store::find_scim_visible(c, &org, &id)?;
        Ok(structure.doc(&row, &base))
    })
    .await
}

fn check_subject(c: &mut Conn, org: &str, row: &Employee) -> ScimResult<()> {
    if let Some(subject) = &row.external_subject {
        if store::subject_holder(c, org, subject, &row.id)? {
            return Err(ScimError::uniqueness(
                "another User already has this externalId",
            ));
        }
    }
    Ok(())
}

/// Who provisions: the organisation they act for and who the audit trail names.
pub struct Provisioner {
    pub org: Uuid,
    pub actor: Actor,
}

/// POST: a new employee, or a person SCIM deleted before coming back (their row is revived,
/// so one person keeps one record).
pub async fn create(
    db: &Database,
    sealer: std::sync::Arc<crate::crypto::Sealer>,
    who: Provisioner,
    body: Value,
    base: String,
) -> ScimResult<UserDoc> {
    let input = read_user(&body)?;
    run(db, move |c| {
        let Provisioner { org, actor } = who;
        let org = org.to_string();
        c.transaction(|c| {
            let structure = Structure::load(c, &org)?;
            let existing = store::find_by_number(c, &org, &input.user_name)?;
            let row = match &existing {
                Some((_, None)) => {
                    return Err(ScimError::uniqueness(format!(
                        "a User with userName `{}` already exists",
                        input.user_name
                    )))
                }
                Some((previous, Some(_))) => {
                    let mut row = structure.row(&org, input, None)?;
                    row.id = previous.id.clone();
                    row
                }
                None => structure.row(&org, input, None)?,
            };
            check_subject(c, &org, &row)?;
            if existing.is_some() {
                store::write_employee(c, &row, None)?;
            } else {
                store::insert_employee(c, &row)?;
            }
            // A joiner (or a revived leaver) now counts in the tallies.
            let before = existing.as_ref().map(|(previous, _)| previous);
            super::tallies::follow_person(c, &sealer, before, &row)?;
            audit_write(c, &actor, "scim.user.create", &row)?;
            if before.is_some_and(|b| b.external_subject != row.external_subject) {
                audit_link(c, &actor, &row)?;
            }
            Ok(structure.doc(&row, &base))
        })
    })
    .await
}

fn check_version(
    structure: &Structure,
    current: &Employee,
    if_match: Option<&str>,
) -> ScimResult<()> {
    if let Some(header) = if_match {
        let version = structure.record(current).version();
        if !if_match_allows(header, &version) {
            return Err(ScimError::new(
                412,
                None,
                format!("the User has changed: its version is now {version}"),
            ));
        }
    }
    Ok(())
}

/// How a write changes a User's document before it is read back as input.
pub enum Change {
    Replace(Value),
    Patch(Value),
}

/// PUT or PATCH, guarded by `If-Match` when the client sends one.
pub async fn update(
    db: &Database,
    sealer: std::sync::Arc<crate::crypto::Sealer>,
    who: Provisioner,
    id: String,
    change: Change,
    if_match: Option<String>,
    base: String,
) -> ScimResult<UserDoc> {
    if let Change::Replace(body) = &change {
        // Refuse a characteristic before touching the database.
        scim::refuse_characteristics(body)?;
    }
    run(db, move |c| {
        let Provisioner { org, actor } = who;
        let org = org.to_string();
        c.transaction(|c| {
            let structure = Structure::load(c, &org)?;
            let current = store::find_scim_visible(c, &org, &id)?;
            check_version(&structure, &current, if_match.as_deref())?;
            let input = match change {
                Change::Replace(body) => read_user(&body)?,
                Change::Patch(patch) => {
                    let mut doc = structure.doc(&current, &base).body;
                    scim::apply_patch(&mut doc, &patch)?;
                    read_user(&doc)?
                }
            };
            let mut row = structure.row(&org, input, Some(&current))?;
            if row.employee_number != current.employee_number {
                if let Some((other, _)) = store::find_by_number(c, &org, &row.employee_number)? {
                    if other.id != current.id {
                        return Err(ScimError::uniqueness(format!(
                            "a User with userName `{}` already exists",
                            row.employee_number
                        )));
                    }
                }
            }
            check_subject(c, &org, &row)?;
            if unchanged(&row, &current) {
                // Keep the version when nothing changed, so a client's ETag stays valid.
                row.updated_at = current.updated_at;
            } else {
                store::write_employee(c, &row, None)?;
                // A move or a leave date moves what the person counts as.
                super::tallies::follow_person(c, &sealer, Some(&current), &row)?;
                audit_write(c, &actor, "scim.user.update", &row)?;
                if current.external_subject != row.external_subject {
                    audit_link(c, &actor, &row)?;
                }
            }
            Ok(structure.doc(&row, &base))
        })
    })
    .await
}

/// Records a written User in the same transaction: who, what, which employee; no field values.
fn audit_write(c: &mut Conn, actor: &Actor, action: &str, row: &Employee) -> ScimResult<()> {
    audit::append(c, actor.event(action, Some(format!("employee:{}", row.id))))?;
    Ok(())
}

/// The User's externalId (their sign-in) changed: an identity-link event (decision 0017).
fn audit_link(c: &mut Conn, actor: &Actor, row: &Employee) -> ScimResult<()> {
    audit::append(c, super::sync::link_event(actor, &row.id, "scim"))?;
    Ok(())
}

fn unchanged(a: &Employee, b: &Employee) -> bool {
    a.employee_number == b.employee_number
        && a.external_subject == b.external_subject
        && a.org_unit_id == b.org_unit_id
        && a.staff_type_id == b.staff_type_id
        && a.rank_id == b.rank_id
        && a.fte == b.fte
        && a.start_date == b.start_date
        && a.leave_date == b.leave_date
}

/// DELETE: the person becomes a leaver today (unless already one) and disappears from SCIM.
pub async fn delete(
    db: &Database,
    sealer: std::sync::Arc<crate::crypto::Sealer>,
    who: Provisioner,
    id: String,
    if_match: Option<String>,
) -> ScimResult<()> {
    run(db, move |c| {
        let Provisioner { org, actor } = who;
        let org = org.to_string();
        c.transaction(|c| {
            let structure = Structure::load(c, &org)?;
            let mut row = store::find_scim_visible(c, &org, &id)?;
            check_version(&structure, &row, if_match.as_deref())?;
            let before = row.clone();
            let now = now();
            if row.leave_date.is_none() {
                let today = now.date_naive().format("%Y-%m-%d").to_string();
                row.leave_date = Some(today.max(row.start_date.clone()));
            }
            row.updated_at = now.naive_utc();
            store::write_employee(c, &row, Some(now.naive_utc()))?;
            super::tallies::follow_person(c, &sealer, Some(&before), &row)?;
            audit_write(c, &actor, "scim.user.delete", &row)?;
            Ok(())
        })
    })
    .await
}
