//! Carrying every stored declaration of an organisation onto one published catalogue version
//! with a legacy (or version-to-version) mapping, in one transaction: answers opened, mapped,
//! re-validated, re-sealed against the target, a history entry per rewritten declaration, the
//! tallies moved by exactly what changed, and one audit event. Nobody's answers leave the
//! transaction: the caller gets counts only.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::Sealer;
use crate::domain::catalogue::{
    parse_catalogue, validate_mapping, validate_mapping_sources, validate_stored_answers,
    AnswerSet, Catalogue, Mapping, MappingReport,
};
use crate::domain::tally::{groups_of, Counted};
use crate::error::{AppError, AppResult, FieldError};
use crate::services::answer_keys::{declaration_context, history_context, Keys};
use crate::services::audit::{self, Actor};
use crate::services::catalogue::apply_mapping_to_all;
use crate::services::tallies::{self, CellKey};
use crate::store::catalogue as catalogues;
use crate::store::declarations::{self as repo, Declaration, HistoryRow};
use crate::store::{person_keys, workforce, Conn, Database};

/// `POST /v1/catalogue/migrations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrationRequest {
    /// What changes, keyed by the SOURCE characteristic code (anything not named is carried
    /// over as it is): `{"characteristics": {"ethnicity": {"to": "ethnic_group", "gateway":
    /// {"white_british": {"map_to": {"option": "white", "set_details": {"white_background":
    /// ["english_welsh_scottish_ni_british"]}}}, "not_known": "needs_reasking"}, "details":
    /// {"old_list": {"to": "new_list", "options": {"a": {"map_to": "b"}, "c": "drop"}}}}}}`.
    #[schema(value_type = Object)]
    pub mapping: Mapping,
    /// The published version to carry answers onto; the current version when absent.
    #[serde(default)]
    pub target_version: Option<Uuid>,
    /// Do everything, report, then roll back: nothing is stored.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a migration did (or, on a dry run, would do): counts only, never who.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MigrationReport {
    pub target_version_id: Uuid,
    pub dry_run: bool,
    /// Stored declarations examined (the whole organisation).
    pub declarations: u64,
    /// Re-sealed against the target version, with a history entry each.
    pub rewritten: u64,
    /// Already on the target version with nothing to map: not touched at all.
    pub left_alone: u64,
    /// Per SOURCE characteristic: `mapped`, `unchanged`, `needs_reasking` (removed, so the
    /// person is blank and will be asked again), `invalid_after_mapping`, and the same by old
    /// gateway option (`gateway_options`) and old `list.option` (`detail_options`).
    #[schema(value_type = Object)]
    pub mapping: MappingReport,
}

/// Runs the migration for `org`; see the module doc. A bad mapping or target is a 422 naming
/// every problem (fields under `mapping.` or `target_version`), and nothing is written.
pub async fn migrate(
    db: &Database,
    sealer: Arc<Sealer>,
    org: Uuid,
    actor: Actor,
    request: MigrationRequest,
) -> AppResult<MigrationReport> {
    let dry_run = request.dry_run;
    let event_actor = actor.clone();
    let report = db
        .run(move |conn| {
            Ok(
                conn.transaction_deciding(|conn| -> AppResult<(MigrationReport, bool)> {
                    let report = migrate_in(conn, &sealer, &org.to_string(), &request)?;
                    if !dry_run {
                        audit::append(conn, actor.event(ACTION, Some(subject(&report))))?;
                    }
                    Ok((report, !dry_run))
                }),
            )
        })
        .await??;
    if dry_run {
        // The dry run opened everyone's answers too; that read is audited, after the rollback.
        audit::record(
            db,
            event_actor.event(DRY_RUN_ACTION, Some(subject(&report))),
        )
        .await?;
    }
    Ok(report)
}

const ACTION: &str = "catalogue.migrate";
const DRY_RUN_ACTION: &str = "catalogue.migrate.dry_run";

fn subject(report: &MigrationReport) -> String {
    format!("catalogue_version:{}", report.target_version_id)
}

/// The organisation's published versions by id, parsed, and the current one's id.
fn published_versions(
    conn: &mut Conn,
    org: &str,
) -> AppResult<(BTreeMap<String, Catalogue>, String)> {
    let rows = catalogues::list_published(conn, org)?;
    let current = rows
        .iter()
        .max_by_key(|r| r.version_number)
        .map(|r| r.id.clone())
        .ok_or_else(|| AppError::NotFound("this organisation has no published catalogue".into()))?;
    let versions = rows
        .into_iter()
        .map(|row| {
            let document = parse_catalogue(&row.document)
                .map_err(|e| AppError::internal(format!("catalogue {} unreadable: {e}", row.id)))?;
            Ok((row.id, document))
        })
        .collect::<AppResult<_>>()?;
    Ok((versions, current))
}

/// Every problem with the request, each naming its field in the request body.
fn check_request(
    request: &MigrationRequest,
    versions: &BTreeMap<String, Catalogue>,
    current: &str,
) -> Result<String, Vec<FieldError>> {
    let mut problems: Vec<FieldError> = Vec::new();
    let in_mapping = |p| {
        let mut e = FieldError::from(p);
        e.field = format!("mapping.{}", e.field);
        e
    };
    let target = match request.target_version {
        None => Some(current.to_owned()),
        Some(id) if versions.contains_key(&id.to_string()) => Some(id.to_string()),
        Some(id) => {
            problems.push(FieldError::new(
                "target_version",
                "unknown_version",
                format!("{id} is not a published catalogue version of this organisation"),
            ));
            None
        }
    };
    if let Some(target) = target.as_ref().and_then(|id| versions.get(id)) {
        if let Err(found) = validate_mapping(&request.mapping, target) {
            problems.extend(found.into_iter().map(in_mapping));
        }
    }
    if let Err(found) = validate_mapping_sources(&request.mapping, versions.values()) {
        // A code in no version is also missing from the target: say so once.
        for problem in found.into_iter().map(in_mapping) {
            if !problems.iter().any(|p| p.field == problem.field) {
                problems.push(problem);
            }
        }
    }
    match target {
        Some(target) if problems.is_empty() => Ok(target),
        _ => Err(problems),
    }
}

/// One declaration as it was, opened.
struct Opened {
    row: Declaration,
    answers: AnswerSet,
}

fn migrate_in(
    conn: &mut Conn,
    sealer: &Sealer,
    org: &str,
    request: &MigrationRequest,
) -> AppResult<MigrationReport> {
    let (versions, current) = published_versions(conn, org)?;
    let target_id = check_request(request, &versions, &current).map_err(AppError::Validation)?;
    let target = &versions[&target_id];
    // Employees before declarations: the order every other writer takes them in.
    let today = Utc::now().date_naive().to_string();
    let people = workforce::in_post_cells_locked(conn, org, &today)?;
    let rows = repo::for_org_locked(conn, org)?;
    // Each person's answers open, and are sealed again, under their own key: one read for
    // the organisation's keys rather than one per person.
    let mut sealed_keys: HashMap<String, person_keys::PersonKeyRow> =
        person_keys::for_org(conn, org)?
            .into_iter()
            .map(|row| (row.employee_id.clone(), row))
            .collect();
    let mut keys: HashMap<String, Keys<'_>> = HashMap::with_capacity(rows.len());
    let opened = rows
        .into_iter()
        .map(|row| {
            let person = Keys::opened(sealer, sealed_keys.remove(&row.employee_id).as_ref())?;
            let answers = person.open_row(&row)?;
            keys.insert(row.employee_id.clone(), person);
            let mapped_from = answers.clone();
            Ok((Opened { row, answers }, mapped_from))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let (mapped, report) =
        apply_mapping_to_all(&request.mapping, target, opened).map_err(AppError::Validation)?;

    let cells: HashMap<String, CellKey> = people
        .into_iter()
        .map(|(employee, org_unit, staff_type, rank)| {
            (
                employee,
                CellKey {
                    org_unit,
                    staff_type,
                    rank,
                },
            )
        })
        .collect();
    let mut moves: BTreeMap<CellKey, Vec<(Counted, Counted)>> = BTreeMap::new();
    let secret = super::noise::secret(conn, sealer, org)?;
    let now = Utc::now().naive_utc();
    let (mut rewritten, mut left_alone) = (0, 0);
    let total = mapped.len() as u64;
    for (was, answers) in mapped {
        let row = &was.row;
        if row.catalogue_version_id == target_id && answers == was.answers {
            left_alone += 1;
            continue;
        }
        // The mapping keeps only answers valid under the target; checking the whole set again
        // means a fault there can never store something the target would refuse.
        validate_stored_answers(target, &answers).map_err(|problems| {
            AppError::internal(format!(
                "a mapped declaration is invalid under the target: {} problem(s)",
                problems.len()
            ))
        })?;
        let source = versions.get(&row.catalogue_version_id).ok_or_else(|| {
            AppError::internal("a declaration names an unpublished catalogue version")
        })?;
        let version = row.version + 1;
        let person = keys
            .get_mut(&row.employee_id)
            .ok_or_else(|| AppError::internal("a migrated declaration lost its key"))?;
        // A row from before per-person keys gets its owner's key now.
        person.ensure(conn, org, &row.employee_id)?;
        let sealed = person.seal(&answers, &declaration_context(&row.employee_id))?;
        let updated = Declaration {
            catalogue_version_id: target_id.clone(),
            key_id: sealed.key_id,
            sealed: sealed.blob,
            version,
            // Nobody reviewed anything: the review clock stays where the person left it.
            last_reviewed_at: row.last_reviewed_at,
            updated_at: now,
            ..row.clone()
        };
        if repo::update_if_version(conn, &updated, row.version)? != 1 {
            return Err(AppError::internal(
                "a locked declaration changed during the migration",
            ));
        }
        let history = person.seal(&answers, &history_context(&row.employee_id, version))?;
        repo::append_history(
            conn,
            &HistoryRow {
                id: Uuid::new_v4().to_string(),
                employee_id: row.employee_id.clone(),
                seq: version,
                key_id: history.key_id,
                sealed: history.blob,
                changed_at: now,
            },
        )?;
        if let Some(cell) = cells.get(&row.employee_id) {
            let before = Counted::new(&secret, &row.employee_id, groups_of(source, &was.answers));
            let after = Counted::new(&secret, &row.employee_id, groups_of(target, &answers));
            if before != after {
                moves.entry(cell.clone()).or_default().push((before, after));
            }
        }
        rewritten += 1;
    }
    // One sealed update per cell, however many people in it moved.
    for (cell, changes) in moves {
        tallies::update_cell(conn, sealer, org, &cell, |counts| {
            changes
                .iter()
                .try_for_each(|(before, after)| counts.replace(before, after))
        })?;
    }
    Ok(MigrationReport {
        target_version_id: Uuid::parse_str(&target_id).map_err(AppError::internal)?,
        dry_run: request.dry_run,
        declarations: total,
        rewritten,
        left_alone,
        mapping: report,
    })
}
