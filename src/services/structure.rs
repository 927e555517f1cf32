//! Organisation structure: the org-unit tree, staff types (seeded with the six national ones)
//! and ranks or grades. Codes are what HR files reference, so they are checked here once.

use chrono::Utc;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, AppResult, FieldError};
use crate::services::audit::{self, Actor};
use crate::store::structure::{self, OrgUnit, Rank, StaffType};
use crate::store::{Conn, Database, StoreError, StoreResult};

/// The national staff types every force starts with.
pub const NATIONAL_STAFF_TYPES: [(&str, &str); 6] = [
    ("police_officer", "Police officer"),
    ("police_staff", "Police staff"),
    ("pcso", "Police community support officer"),
    ("special_constable", "Special constable"),
    ("police_support_volunteer", "Police support volunteer"),
    ("designated_officer", "Designated officer"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Force,
    CommandArea,
    Department,
    Team,
}

impl UnitKind {
    fn as_str(self) -> &'static str {
        match self {
            UnitKind::Force => "force",
            UnitKind::CommandArea => "command_area",
            UnitKind::Department => "department",
            UnitKind::Team => "team",
        }
    }

    fn parse(s: &str) -> UnitKind {
        match s {
            "force" => UnitKind::Force,
            "command_area" => UnitKind::CommandArea,
            "department" => UnitKind::Department,
            _ => UnitKind::Team,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgUnitView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffTypeView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RankView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// Seniority order, lowest first.
    pub order: i64,
    pub staff_type_id: Option<Uuid>,
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap_or_default()
}

/// Records a structure change in the caller's transaction: what kind, which row, who.
fn audit_change(
    conn: &mut Conn,
    actor: &Actor,
    action: &str,
    kind: &str,
    id: &str,
) -> AppResult<()> {
    audit::append(conn, actor.event(action, Some(format!("{kind}:{id}"))))?;
    Ok(())
}

impl From<OrgUnit> for OrgUnitView {
    fn from(u: OrgUnit) -> Self {
        OrgUnitView {
            id: uuid(&u.id),
            kind: UnitKind::parse(&u.kind),
            parent_id: u.parent_id.as_deref().map(uuid),
            code: u.code,
            name: u.name,
        }
    }
}

impl From<StaffType> for StaffTypeView {
    fn from(t: StaffType) -> Self {
        StaffTypeView {
            id: uuid(&t.id),
            code: t.code,
            name: t.name,
        }
    }
}

impl From<Rank> for RankView {
    fn from(r: Rank) -> Self {
        RankView {
            id: uuid(&r.id),
            order: r.sort_order,
            staff_type_id: r.staff_type_id.as_deref().map(uuid),
            code: r.code,
            name: r.name,
        }
    }
}

/// Distinguishes an absent field (leave alone) from an explicit `null` (clear it).
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrgUnit {
    /// Stable code HR files reference: 1 to 40 of A-Z, a-z, 0-9, `-`, `_`, `.`.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,40}$")]
    pub code: String,
    /// 1 to 200 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: String,
    pub kind: UnitKind,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgUnitChanges {
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,40}$")]
    pub code: Option<String>,
    /// 1 to 200 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: Option<String>,
    pub kind: Option<UnitKind>,
    /// `null` makes the unit a root; absent leaves the parent alone.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub parent_id: Option<Option<Uuid>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffType {
    /// Stable code HR files reference: 1 to 40 of A-Z, a-z, 0-9, `-`, `_`, `.`.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,40}$")]
    pub code: String,
    /// 1 to 200 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffTypeChanges {
    /// 1 to 200 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRank {
    /// Stable code HR files reference: 1 to 40 of A-Z, a-z, 0-9, `-`, `_`, `.`.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,40}$")]
    pub code: String,
    /// 1 to 200 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: String,
    pub order: i64,
    pub staff_type_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RankChanges {
    /// 1 to 200 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: Option<String>,
    pub order: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub staff_type_id: Option<Option<Uuid>>,
}

/// A structure code: what HR files reference, so short, stable and plain.
fn check_code(code: &str, problems: &mut Vec<FieldError>) {
    let ok = (1..=40).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        problems.push(FieldError::new(
            "code",
            "invalid_code",
            "1 to 40 characters of A-Z, a-z, 0-9, '-', '_' and '.'",
        ));
    }
}

/// The names' documented `pattern` says "not blank" as at least one character outside the
/// Unicode `White_Space` set that `str::trim` removes (spelled out: `\s` differs between
/// regex engines).
fn check_name(name: &str, problems: &mut Vec<FieldError>) {
    // Characters, not bytes: the document's `maxLength` counts characters (JSON Schema), so a
    // 200-letter Welsh name must fit.
    if name.trim().is_empty() || name.chars().count() > 200 {
        problems.push(FieldError::new(
            "name",
            "invalid_length",
            "1 to 200 characters",
        ));
    }
}

fn done(problems: Vec<FieldError>) -> AppResult<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(problems))
    }
}

fn conflict(what: &'static str) -> impl Fn(StoreError) -> AppError {
    move |e| {
        if e.is_unique_violation() {
            AppError::Conflict(format!("a {what} with this code already exists"))
        } else if e.is_not_found() {
            AppError::NotFound(format!("no such {what}"))
        } else {
            e.into()
        }
    }
}

/// Refuses a parent that is missing, in another organisation, or the unit itself or one of its
/// descendants (which would make the tree a cycle).
fn check_parent(conn: &mut Conn, org: &str, unit: Option<&str>, parent: &str) -> AppResult<()> {
    let not_found = || {
        AppError::Validation(vec![FieldError::new(
            "parent_id",
            "unknown_parent",
            "no org unit of this organisation has this id",
        )])
    };
    structure::find_unit(conn, org, parent).map_err(|e| {
        if e.is_not_found() {
            not_found()
        } else {
            e.into()
        }
    })?;
    let Some(unit) = unit else { return Ok(()) };
    // Walk up from the proposed parent; meeting the unit means it would become its own
    // ancestor. The walk is bounded so a corrupted tree cannot loop forever.
    let mut cursor = Some(parent.to_owned());
    for _ in 0..10_000 {
        match cursor {
            None => return Ok(()),
            Some(ref id) if id == unit => {
                return Err(AppError::Validation(vec![FieldError::new(
                    "parent_id",
                    "cycle",
                    "a unit cannot be moved under itself or one of its own descendants",
                )]))
            }
            Some(id) => cursor = structure::parent_of(conn, &id)?,
        }
    }
    Err(AppError::internal("org unit tree deeper than 10000"))
}

pub async fn list_units(db: &Database, org: Uuid) -> AppResult<Vec<OrgUnitView>> {
    let org = org.to_string();
    let units = db.run(move |c| structure::list_units(c, &org)).await?;
    Ok(units.into_iter().map(Into::into).collect())
}

pub async fn get_unit(db: &Database, org: Uuid, id: Uuid) -> AppResult<OrgUnitView> {
    let unit = db
        .run(move |c| structure::find_unit(c, &org.to_string(), &id.to_string()))
        .await
        .map_err(conflict("org unit"))?;
    Ok(unit.into())
}

pub async fn create_unit(
    db: &Database,
    org: Uuid,
    actor: Actor,
    new: NewOrgUnit,
) -> AppResult<OrgUnitView> {
    let mut problems = Vec::new();
    check_code(&new.code, &mut problems);
    check_name(&new.name, &mut problems);
    done(problems)?;
    let now = Utc::now().naive_utc();
    let unit = OrgUnit {
        id: Uuid::new_v4().to_string(),
        organisation_id: org.to_string(),
        code: new.code,
        name: new.name,
        kind: new.kind.as_str().to_owned(),
        parent_id: new.parent_id.map(|p| p.to_string()),
        created_at: now,
        updated_at: now,
    };
    let stored = unit.clone();
    db.run(move |c| {
        Ok(c.transaction_deciding(|c| -> AppResult<((), bool)> {
            if let Some(parent) = &stored.parent_id {
                check_parent(c, &stored.organisation_id, None, parent)?;
            }
            structure::insert_unit(c, &stored).map_err(conflict("org unit"))?;
            audit_change(c, &actor, "org_unit.create", "org_unit", &stored.id)?;
            Ok(((), true))
        }))
    })
    .await??;
    Ok(unit.into())
}

pub async fn update_unit(
    db: &Database,
    org: Uuid,
    actor: Actor,
    id: Uuid,
    changes: OrgUnitChanges,
) -> AppResult<OrgUnitView> {
    let mut problems = Vec::new();
    if let Some(code) = &changes.code {
        check_code(code, &mut problems);
    }
    if let Some(name) = &changes.name {
        check_name(name, &mut problems);
    }
    done(problems)?;
    let unit = db
        .run(move |c| {
            Ok(c.transaction_deciding(|c| -> AppResult<(OrgUnit, bool)> {
                let (org, id) = (org.to_string(), id.to_string());
                let mut unit = structure::find_unit(c, &org, &id).map_err(conflict("org unit"))?;
                if let Some(parent) = changes.parent_id {
                    let parent = parent.map(|p| p.to_string());
                    if let Some(p) = &parent {
                        check_parent(c, &org, Some(&id), p)?;
                    }
                    unit.parent_id = parent;
                }
                if let Some(code) = changes.code {
                    unit.code = code;
                }
                if let Some(name) = changes.name {
                    unit.name = name;
                }
                if let Some(kind) = changes.kind {
                    unit.kind = kind.as_str().to_owned();
                }
                unit.updated_at = Utc::now().naive_utc();
                structure::update_unit(c, &unit).map_err(conflict("org unit"))?;
                audit_change(c, &actor, "org_unit.update", "org_unit", &unit.id)?;
                Ok((unit, true))
            }))
        })
        .await??;
    Ok(unit.into())
}

/// Deletes a unit nobody depends on; a unit with child units or employees is refused (409),
/// because deleting it would orphan people whose figures roll up through it.
pub async fn delete_unit(db: &Database, org: Uuid, actor: Actor, id: Uuid) -> AppResult<()> {
    db.run(move |c| {
        Ok(c.transaction_deciding(|c| -> AppResult<((), bool)> {
            let id = id.to_string();
            structure::find_unit(c, &org.to_string(), &id).map_err(conflict("org unit"))?;
            let (children, people) = structure::unit_dependants(c, &id)?;
            if children > 0 || people > 0 {
                return Err(AppError::Conflict(format!(
                    "the unit still has {children} child unit(s) and {people} employee record(s); \
                     move them first"
                )));
            }
            structure::delete_unit(c, &id)?;
            audit_change(c, &actor, "org_unit.delete", "org_unit", &id)?;
            Ok(((), true))
        }))
    })
    .await?
}

/// Seeds the six national staff types the first time an organisation's staff types are used.
pub fn ensure_staff_types(conn: &mut Conn, org: &str) -> StoreResult<()> {
    if structure::count_staff_types(conn, org)? > 0 {
        return Ok(());
    }
    let now = Utc::now().naive_utc();
    let rows: Vec<StaffType> = NATIONAL_STAFF_TYPES
        .iter()
        .map(|(code, name)| StaffType {
            id: Uuid::new_v4().to_string(),
            organisation_id: org.to_owned(),
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            created_at: now,
        })
        .collect();
    match structure::insert_staff_types(conn, &rows) {
        // Two first uses at once: the other one seeded them.
        Err(e) if e.is_unique_violation() => Ok(()),
        other => other,
    }
}

pub async fn list_staff_types(db: &Database, org: Uuid) -> AppResult<Vec<StaffTypeView>> {
    let org = org.to_string();
    let rows = db
        .run(move |c| {
            ensure_staff_types(c, &org)?;
            structure::list_staff_types(c, &org)
        })
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn get_staff_type(db: &Database, org: Uuid, id: Uuid) -> AppResult<StaffTypeView> {
    let row = db
        .run(move |c| structure::find_staff_type(c, &org.to_string(), &id.to_string()))
        .await
        .map_err(conflict("staff type"))?;
    Ok(row.into())
}

pub async fn create_staff_type(
    db: &Database,
    org: Uuid,
    actor: Actor,
    new: NewStaffType,
) -> AppResult<StaffTypeView> {
    let mut problems = Vec::new();
    check_code(&new.code, &mut problems);
    check_name(&new.name, &mut problems);
    done(problems)?;
    let row = StaffType {
        id: Uuid::new_v4().to_string(),
        organisation_id: org.to_string(),
        code: new.code,
        name: new.name,
        created_at: Utc::now().naive_utc(),
    };
    let stored = row.clone();
    db.run(move |c| {
        ensure_staff_types(c, &stored.organisation_id)?;
        Ok(c.transaction(|c| -> AppResult<()> {
            structure::insert_staff_types(c, std::slice::from_ref(&stored))
                .map_err(conflict("staff type"))?;
            audit_change(c, &actor, "staff_type.create", "staff_type", &stored.id)
        }))
    })
    .await
    .map_err(conflict("staff type"))??;
    Ok(row.into())
}

pub async fn update_staff_type(
    db: &Database,
    org: Uuid,
    actor: Actor,
    id: Uuid,
    changes: StaffTypeChanges,
) -> AppResult<StaffTypeView> {
    let mut problems = Vec::new();
    if let Some(name) = &changes.name {
        check_name(name, &mut problems);
    }
    done(problems)?;
    let row = db
        .run(move |c| {
            Ok(c.transaction(|c| -> AppResult<StaffType> {
                let mut row = structure::find_staff_type(c, &org.to_string(), &id.to_string())
                    .map_err(conflict("staff type"))?;
                if let Some(name) = changes.name {
                    row.name = name;
                }
                structure::update_staff_type(c, &row).map_err(conflict("staff type"))?;
                audit_change(c, &actor, "staff_type.update", "staff_type", &row.id)?;
                Ok(row)
            }))
        })
        .await??;
    Ok(row.into())
}

pub async fn list_ranks(db: &Database, org: Uuid) -> AppResult<Vec<RankView>> {
    let org = org.to_string();
    let rows = db.run(move |c| structure::list_ranks(c, &org)).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn get_rank(db: &Database, org: Uuid, id: Uuid) -> AppResult<RankView> {
    let row = db
        .run(move |c| structure::find_rank(c, &org.to_string(), &id.to_string()))
        .await
        .map_err(conflict("rank"))?;
    Ok(row.into())
}

fn check_staff_type(conn: &mut Conn, org: &str, id: &str) -> AppResult<()> {
    structure::find_staff_type(conn, org, id).map_err(|e| {
        if e.is_not_found() {
            AppError::Validation(vec![FieldError::new(
                "staff_type_id",
                "unknown_staff_type",
                "no staff type of this organisation has this id",
            )])
        } else {
            e.into()
        }
    })?;
    Ok(())
}

pub async fn create_rank(
    db: &Database,
    org: Uuid,
    actor: Actor,
    new: NewRank,
) -> AppResult<RankView> {
    let mut problems = Vec::new();
    check_code(&new.code, &mut problems);
    check_name(&new.name, &mut problems);
    done(problems)?;
    let row = Rank {
        id: Uuid::new_v4().to_string(),
        organisation_id: org.to_string(),
        code: new.code,
        name: new.name,
        sort_order: new.order,
        staff_type_id: new.staff_type_id.map(|s| s.to_string()),
        created_at: Utc::now().naive_utc(),
    };
    let stored = row.clone();
    db.run(move |c| {
        Ok(c.transaction(|c| -> AppResult<()> {
            if let Some(st) = &stored.staff_type_id {
                check_staff_type(c, &stored.organisation_id, st)?;
            }
            structure::insert_rank(c, &stored).map_err(conflict("rank"))?;
            audit_change(c, &actor, "rank.create", "rank", &stored.id)
        }))
    })
    .await??;
    Ok(row.into())
}

pub async fn update_rank(
    db: &Database,
    org: Uuid,
    actor: Actor,
    id: Uuid,
    changes: RankChanges,
) -> AppResult<RankView> {
    let mut problems = Vec::new();
    if let Some(name) = &changes.name {
        check_name(name, &mut problems);
    }
    done(problems)?;
    let row = db
        .run(move |c| {
            Ok(c.transaction(|c| -> AppResult<Rank> {
                let org = org.to_string();
                let mut row =
                    structure::find_rank(c, &org, &id.to_string()).map_err(conflict("rank"))?;
                if let Some(name) = changes.name {
                    row.name = name;
                }
                if let Some(order) = changes.order {
                    row.sort_order = order;
                }
                if let Some(st) = changes.staff_type_id {
                    let st = st.map(|s| s.to_string());
                    if let Some(s) = &st {
                        check_staff_type(c, &org, s)?;
                    }
                    row.staff_type_id = st;
                }
                structure::update_rank(c, &row)?;
                audit_change(c, &actor, "rank.update", "rank", &row.id)?;
                Ok(row)
            }))
        })
        .await??;
    Ok(row.into())
}
