//! Each organisation's question catalogue: its published versions, its one draft, and the
//! rules that span the store and the domain (validation before any write, immutability of
//! published versions, one transaction per change). See docs/decisions/0003.

use chrono::{NaiveDateTime, Utc};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::catalogue::{
    self, check_successor, diff, validate_catalogue, AnswerSet, Catalogue, CatalogueChange,
    FieldProblem, Mapping, MappingReport,
};
use crate::error::{AppError, AppResult, FieldError};
use crate::store::catalogue::{self as repo, CatalogueVersion, DRAFT, PUBLISHED};
use crate::store::{Conn, Database, StoreError};

/// Whether a version may still change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    /// Being edited by the organisation's catalogue editors; never shown to staff.
    Draft,
    /// Immutable. The published version with the highest number is the current one.
    Published,
}

/// A catalogue version without its document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogueVersionSummary {
    pub id: Uuid,
    /// 1, 2, 3... per organisation; version 1 is the national catalogue.
    pub version_number: i64,
    /// The document's own `version` label, e.g. `national-2025.1`.
    pub label: String,
    pub status: VersionStatus,
    /// The strong entity tag of the document (also sent as the `ETag` header).
    pub etag: String,
    #[serde(serialize_with = "crate::services::timestamps::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::services::timestamps::utc_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published_at: Option<NaiveDateTime>,
}

/// A catalogue version with its document: what a front end renders its form from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogueVersionView {
    pub id: Uuid,
    pub version_number: i64,
    pub label: String,
    pub status: VersionStatus,
    pub etag: String,
    #[serde(serialize_with = "crate::services::timestamps::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::services::timestamps::utc_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published_at: Option<NaiveDateTime>,
    pub document: Catalogue,
}

impl CatalogueVersionView {
    pub fn summary(&self) -> CatalogueVersionSummary {
        CatalogueVersionSummary {
            id: self.id,
            version_number: self.version_number,
            label: self.label.clone(),
            status: self.status,
            etag: self.etag.clone(),
            created_at: self.created_at,
            published_at: self.published_at,
        }
    }
}

/// What validating a candidate draft found, without saving it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DraftValidation {
    /// True when the candidate could be saved and published as it is.
    pub valid: bool,
    /// Every problem, each naming its field (empty when valid).
    pub problems: Vec<FieldError>,
    /// What the candidate changes relative to the current published version.
    pub changes: Vec<CatalogueChange>,
}

impl From<FieldProblem> for FieldError {
    fn from(p: FieldProblem) -> Self {
        FieldError::new(p.field, p.code, p.message)
    }
}

/// The strong entity tag of a stored document: a hash of exactly the bytes stored.
pub fn etag_of(document: &str) -> String {
    hex::encode(&Sha256::digest(document.as_bytes())[..16])
}

/// The shipped national catalogue; a failure to parse it is a build defect, reported as a 500.
pub fn national() -> AppResult<Catalogue> {
    catalogue::national().map_err(|e| AppError::internal(format!("national catalogue: {e}")))
}

fn parse_org(org: Uuid) -> String {
    org.to_string()
}

fn view(row: CatalogueVersion) -> AppResult<CatalogueVersionView> {
    let document = catalogue::parse_catalogue(&row.document).map_err(|e| {
        AppError::internal(format!(
            "stored catalogue version {} unreadable: {e}",
            row.id
        ))
    })?;
    Ok(CatalogueVersionView {
        id: Uuid::parse_str(&row.id).map_err(AppError::internal)?,
        version_number: row.version_number,
        label: row.label,
        status: if row.status == PUBLISHED {
            VersionStatus::Published
        } else {
            VersionStatus::Draft
        },
        etag: row.etag,
        created_at: row.created_at,
        published_at: row.published_at,
        document,
    })
}

/// A document as stored: serialised once, so its ETag is the hash of exactly these bytes.
struct Stored {
    label: String,
    text: String,
}

fn stored(document: &Catalogue) -> AppResult<Stored> {
    Ok(Stored {
        label: document.version.clone(),
        text: serde_json::to_string(document).map_err(AppError::internal)?,
    })
}

fn new_row(org: &str, number: i64, document: &Stored, status: &str) -> CatalogueVersion {
    let now = Utc::now().naive_utc();
    CatalogueVersion {
        id: Uuid::new_v4().to_string(),
        organisation_id: org.to_owned(),
        version_number: number,
        label: document.label.clone(),
        status: status.to_owned(),
        etag: etag_of(&document.text),
        document: document.text.clone(),
        created_at: now,
        published_at: (status == PUBLISHED).then_some(now),
    }
}

/// Version 1 of a new organisation: the national catalogue, published. The caller inserts it
/// in the same transaction as the organisation, so no organisation exists without one.
pub fn initial_version(org: Uuid) -> AppResult<CatalogueVersion> {
    Ok(new_row(
        &parse_org(org),
        1,
        &stored(&national()?)?,
        PUBLISHED,
    ))
}

/// Installs the national catalogue for every organisation that has no published version (at
/// start-up, for organisations created before catalogues existed). Returns how many.
pub fn install_national_where_missing(conn: &mut Conn) -> AppResult<usize> {
    let national = stored(&national()?)?;
    let missing = repo::organisations_without_published(conn)?;
    let mut installed = 0;
    for org in missing {
        let result = conn.transaction(|conn| {
            let number = repo::next_version_number(conn, &org)?;
            repo::insert(conn, &new_row(&org, number, &national, PUBLISHED))
        });
        match result {
            Ok(()) => installed += 1,
            // Another process starting at the same moment installed it first: that is fine.
            Err(e) if e.is_unique_violation() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(installed)
}

fn not_found(what: &str) -> impl Fn(StoreError) -> AppError + '_ {
    move |e| {
        if e.is_not_found() {
            AppError::NotFound(what.to_owned())
        } else {
            e.into()
        }
    }
}

/// The organisation's current published version.
pub async fn current(db: &Database, org: Uuid) -> AppResult<CatalogueVersionView> {
    let org = parse_org(org);
    let row = db
        .run(move |conn| repo::current_published(conn, &org))
        .await?;
    view(
        row.ok_or_else(|| {
            AppError::NotFound("this organisation has no published catalogue".into())
        })?,
    )
}

/// Published versions, newest first.
pub async fn list_versions(db: &Database, org: Uuid) -> AppResult<Vec<CatalogueVersionSummary>> {
    let org = parse_org(org);
    db.run(move |conn| repo::list_published(conn, &org))
        .await?
        .into_iter()
        .map(|row| view(row).map(|v| v.summary()))
        .collect()
}

pub async fn find_version(db: &Database, org: Uuid, id: Uuid) -> AppResult<CatalogueVersionView> {
    let org = parse_org(org);
    let row = db
        .run(move |conn| repo::find_published(conn, &org, &id.to_string()))
        .await
        .map_err(not_found("no published catalogue version with this id"))?;
    view(row)
}

/// One published version by number, or the current one (for `declare catalogue export`).
pub async fn export(db: &Database, org: Uuid, number: Option<i64>) -> AppResult<Catalogue> {
    match number {
        None => Ok(current(db, org).await?.document),
        Some(number) => {
            let org = parse_org(org);
            let row = db
                .run(move |conn| repo::find_published_number(conn, &org, number))
                .await
                .map_err(not_found("no published catalogue version with this number"))?;
            Ok(view(row)?.document)
        }
    }
}

pub async fn current_draft(db: &Database, org: Uuid) -> AppResult<CatalogueVersionView> {
    let org = parse_org(org);
    let row = db.run(move |conn| repo::find_draft(conn, &org)).await?;
    view(row.ok_or_else(no_draft)?)
}

fn no_draft() -> AppError {
    AppError::NotFound("this organisation has no draft catalogue; create one first".into())
}

/// Two editors creating a draft at once: the partial unique index lets one win.
fn racing_draft(e: StoreError) -> AppError {
    if e.is_unique_violation() {
        draft_exists()
    } else {
        e.into()
    }
}

fn draft_exists() -> AppError {
    AppError::Conflict("this organisation already has a draft catalogue; edit or delete it".into())
}

/// Every problem with `candidate` as the successor of `published`: the draft rules (unique
/// codes, conditions that resolve, both languages, Prefer not to say on every gateway...)
/// and no removal of anything the published version has (retire instead).
fn problems(candidate: &Catalogue, published: Option<&Catalogue>) -> Vec<FieldError> {
    let mut found: Vec<FieldError> = validate_catalogue(candidate)
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(FieldError::from)
        .collect();
    if let Some(published) = published {
        if let Err(removed) = check_successor(published, candidate) {
            found.extend(removed.into_iter().map(|change| {
                FieldError::new(
                    change.path.clone(),
                    "removed",
                    format!(
                        "`{}` is in the published version and cannot be removed; retire it instead",
                        change.path
                    ),
                )
            }));
        }
    }
    found
}

fn published_document(conn: &mut Conn, org: &str) -> Result<Option<Catalogue>, StoreError> {
    repo::current_published(conn, org)?
        .map(|row| {
            catalogue::parse_catalogue(&row.document)
                .map_err(|e| StoreError::Corrupt(format!("catalogue version {}: {e}", row.id)))
        })
        .transpose()
}

/// Creates the draft as a copy of the current published version (409 if one exists).
pub async fn create_draft(db: &Database, org: Uuid) -> AppResult<CatalogueVersionView> {
    let org = parse_org(org);
    let row = db
        .run(move |conn| {
            Ok(conn.transaction(|conn| -> AppResult<CatalogueVersion> {
                if repo::find_draft(conn, &org)?.is_some() {
                    return Err(draft_exists());
                }
                let Some(mut draft) = repo::current_published(conn, &org)? else {
                    return Err(AppError::NotFound(
                        "this organisation has no published catalogue".into(),
                    ));
                };
                draft.id = Uuid::new_v4().to_string();
                draft.version_number = repo::next_version_number(conn, &org)?;
                draft.status = DRAFT.to_owned();
                draft.created_at = Utc::now().naive_utc();
                draft.published_at = None;
                repo::insert(conn, &draft).map_err(racing_draft)?;
                Ok(draft)
            }))
        })
        .await??;
    view(row)
}

/// Validates `candidate` as a replacement for the draft, without saving anything.
pub async fn validate_draft(
    db: &Database,
    org: Uuid,
    candidate: Catalogue,
) -> AppResult<DraftValidation> {
    let org = parse_org(org);
    let (draft, published) = db
        .run(move |conn| {
            Ok((
                repo::find_draft(conn, &org)?,
                published_document(conn, &org)?,
            ))
        })
        .await?;
    draft.ok_or_else(no_draft)?;
    let problems = problems(&candidate, published.as_ref());
    let changes = published
        .as_ref()
        .map(|p| diff(p, &candidate))
        .unwrap_or_default();
    Ok(DraftValidation {
        valid: problems.is_empty(),
        problems,
        changes,
    })
}

/// Replaces the draft's document after full validation (every problem reported, nothing
/// saved on any). `if_match`, when given, must be the draft's current ETag, so two editors
/// cannot overwrite each other unknowingly.
pub async fn replace_draft(
    db: &Database,
    org: Uuid,
    candidate: Catalogue,
    if_match: Option<String>,
) -> AppResult<CatalogueVersionView> {
    let org = parse_org(org);
    let text = serde_json::to_string(&candidate).map_err(AppError::internal)?;
    let etag = etag_of(&text);
    let row = db
        .run(move |conn| {
            Ok(conn.transaction(|conn| -> AppResult<CatalogueVersion> {
                let Some(mut draft) = repo::find_draft(conn, &org)? else {
                    return Err(no_draft());
                };
                if if_match.is_some_and(|tag| tag != draft.etag && tag != "*") {
                    return Err(AppError::PreconditionFailed(
                        "the draft has changed since it was read (If-Match)".into(),
                    ));
                }
                let published = published_document(conn, &org)?;
                let found = problems(&candidate, published.as_ref());
                if !found.is_empty() {
                    return Err(AppError::Validation(found));
                }
                repo::update_draft(conn, &draft.id, &candidate.version, &text, &etag)?;
                draft.label = candidate.version.clone();
                draft.document = text;
                draft.etag = etag;
                Ok(draft)
            }))
        })
        .await??;
    view(row)
}

/// Publishes the draft: validated again (against the version it succeeds), then immutable
/// and current, in one transaction.
pub async fn publish_draft(db: &Database, org: Uuid) -> AppResult<CatalogueVersionView> {
    let org = parse_org(org);
    let row = db
        .run(move |conn| Ok(conn.transaction(|conn| publish_in(conn, &org))))
        .await??;
    view(row)
}

fn publish_in(conn: &mut Conn, org: &str) -> AppResult<CatalogueVersion> {
    let mut draft = repo::find_draft(conn, org)?.ok_or_else(no_draft)?;
    let candidate = catalogue::parse_catalogue(&draft.document)
        .map_err(|e| AppError::internal(format!("draft {} unreadable: {e}", draft.id)))?;
    let published = published_document(conn, org)?;
    let found = problems(&candidate, published.as_ref());
    if !found.is_empty() {
        return Err(AppError::Validation(found));
    }
    let now = Utc::now().naive_utc();
    repo::publish_draft(conn, &draft.id, now)?;
    draft.status = PUBLISHED.to_owned();
    draft.published_at = Some(now);
    Ok(draft)
}

pub async fn delete_draft(db: &Database, org: Uuid) -> AppResult<()> {
    let org = parse_org(org);
    db.run(move |conn| {
        Ok(conn.transaction(|conn| -> AppResult<()> {
            let draft = repo::find_draft(conn, &org)?.ok_or_else(no_draft)?;
            Ok(repo::delete_draft(conn, &draft.id)?)
        }))
    })
    .await?
}

/// Parses a catalogue file, naming the field of a type error (`characteristics[2].gateway`).
pub fn parse_document(json: &str) -> AppResult<Catalogue> {
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        AppError::Validation(vec![FieldError::new(
            if field == "." {
                "document".into()
            } else {
                field
            },
            "invalid_document",
            e.inner().to_string(),
        )])
    })
}

/// Parses a mapping file, naming the field of a type error (`characteristics.x.gateway.y`).
pub fn parse_mapping(json: &str) -> AppResult<Mapping> {
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        AppError::Validation(vec![FieldError::new(
            format!("mapping.{}", e.path()),
            "invalid_mapping",
            e.inner().to_string(),
        )])
    })
}

/// `declare catalogue import`: validates the file fully and installs it as the draft (or, with
/// `publish`, as the new current version) in one transaction. Any problem: nothing written.
pub async fn import(
    db: &Database,
    org: Uuid,
    json: &str,
    publish: bool,
) -> AppResult<CatalogueVersionView> {
    let candidate = parse_document(json)?;
    let document = stored(&candidate)?;
    let org = parse_org(org);
    let row = db
        .run(move |conn| {
            Ok(conn.transaction(|conn| -> AppResult<CatalogueVersion> {
                if repo::find_draft(conn, &org)?.is_some() {
                    return Err(draft_exists());
                }
                let published = published_document(conn, &org)?;
                let found = problems(&candidate, published.as_ref());
                if !found.is_empty() {
                    return Err(AppError::Validation(found));
                }
                let number = repo::next_version_number(conn, &org)?;
                let row = new_row(&org, number, &document, DRAFT);
                repo::insert(conn, &row).map_err(racing_draft)?;
                if publish {
                    return publish_in(conn, &org);
                }
                Ok(row)
            }))
        })
        .await??;
    view(row)
}

/// The single-language form of a serialised catalogue view: every `{"en": .., "cy": ..}`
/// object is replaced by its text in `lang`. Generic over the JSON so it follows the model
/// as it grows; no other object in a catalogue has exactly those two keys.
pub fn resolve_language(value: &mut serde_json::Value, lang: &str) {
    match value {
        serde_json::Value::Object(map) => {
            if map.len() == 2 && map.contains_key("en") && map.contains_key("cy") {
                *value = map.get(lang).cloned().unwrap_or(serde_json::Value::Null);
            } else {
                map.values_mut().for_each(|v| resolve_language(v, lang));
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| resolve_language(v, lang)),
        _ => {}
    }
}

/// Answer sets after a mapping, each with its caller's key, and one report for them all.
pub type MappedAll<K> = (Vec<(K, AnswerSet)>, MappingReport);

/// Carries many answer sets onto `target` with one legacy (or version-to-version) mapping,
/// returning the mapped sets in the same order and one report covering them all. The mapping
/// is validated against the target first; on any problem nothing is mapped.
///
/// Pure. [`super::catalogue_migration`] calls it inside the transaction that rewrites the
/// stored, sealed answers and adjusts the tallies.
pub fn apply_mapping_to_all<K>(
    mapping: &Mapping,
    target: &Catalogue,
    answer_sets: impl IntoIterator<Item = (K, AnswerSet)>,
) -> Result<MappedAll<K>, Vec<FieldError>> {
    catalogue::validate_mapping(mapping, target).map_err(|problems| {
        problems
            .into_iter()
            .map(FieldError::from)
            .collect::<Vec<_>>()
    })?;
    let mut report = MappingReport::default();
    let mapped = answer_sets
        .into_iter()
        .map(|(key, set)| (key, mapping.apply_into(target, &set, &mut report)))
        .collect();
    Ok((mapped, report))
}
