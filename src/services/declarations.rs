//! Self-declaration: an employee's answers, sealed at rest, versioned for optimistic
//! concurrency, with a sealed history only they see. Every read and write of answers appends
//! an audit event (never a value) in the same transaction.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Principal;
use crate::crypto::{Sealed, Sealer};
use crate::domain::catalogue::{validate_answers_for_write, Answer, AnswerSet, Catalogue};
use crate::domain::tally::Counted;
use crate::error::{AppError, AppResult, FieldError};
use crate::services::audit::{self, Actor, AuditEventView};
use crate::services::consent::{self, ConsentView, NoticeView};
use crate::services::subject;
use crate::services::tallies;
use crate::services::workforce::EmployeeView;
use crate::store::declarations::{self as repo, Declaration, HistoryRow};
use crate::store::workforce::Employee;
use crate::store::{consents, Conn, Database};

/// The employee's answers as they stand.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"version": 3, "catalogue_version_id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
    "current_catalogue_version_id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
    "answers": {"disability": {"gateway": "yes", "details": {"day_to_day_impact": {"selected": ["yes_a_little"]}}},
                "religion_belief": {"gateway": "prefer_not_to_say"}},
    "unanswered": ["age", "sex"], "new_since_answered": [],
    "last_reviewed_at": "2026-12-04T08:01:39.123456Z", "updated_at": "2026-12-04T08:01:39.123456Z"}))]
pub struct DeclarationView {
    /// 0 before anything is declared; the ETag is `"v{version}"`.
    pub version: i64,
    /// The catalogue version the answers were given against (absent before any answer).
    pub catalogue_version_id: Option<Uuid>,
    /// The organisation's current catalogue version.
    pub current_catalogue_version_id: Uuid,
    /// Characteristic code -> answer. A characteristic left out is blank, which is different
    /// from answering `prefer_not_to_say`.
    #[schema(value_type = BTreeMap<String, Answer>)]
    pub answers: AnswerSet,
    /// Characteristics of the current catalogue with no answer (blank).
    pub unanswered: Vec<String>,
    /// Characteristics of the current catalogue that the answered version did not ask.
    pub new_since_answered: Vec<String>,
    #[serde(serialize_with = "crate::services::timestamps::utc_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_reviewed_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::services::timestamps::utc_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<NaiveDateTime>,
}

/// One past state of the answers, after the change numbered `seq`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub seq: i64,
    #[serde(serialize_with = "crate::services::timestamps::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub changed_at: NaiveDateTime,
    /// Characteristic code -> answer, as they stood after this change.
    #[schema(value_type = BTreeMap<String, Answer>)]
    pub answers: AnswerSet,
}

/// `PUT /v1/me/declaration`: the whole answer set.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"answers": {"disability": {"gateway": "yes", "details": {"day_to_day_impact": {"selected": ["yes_a_little"]}, "impairment_areas": {"selected": ["hearing", "other"], "other_text": "Tinnitus"}}}, "race": {"gateway": "white", "details": {"white_background": {"selected": ["welsh_english_scottish_ni_british"]}}}, "religion_belief": {"gateway": "prefer_not_to_say"}}}))]
pub struct ReplaceDeclaration {
    /// Characteristic code (from the catalogue) -> answer. A characteristic left out is blank
    /// (stored answers for it are removed).
    #[schema(value_type = BTreeMap<String, Answer>)]
    pub answers: AnswerSet,
}

/// `PATCH /v1/me/declaration`: characteristic -> new answer, or `null` to delete that answer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"answers": {"sex": {"gateway": "female"}, "religion_belief": null}}))]
pub struct PatchDeclaration {
    /// Characteristic code -> its new answer, or `null` to make it blank.
    #[schema(value_type = BTreeMap<String, AnswerOrNull>)]
    pub answers: BTreeMap<String, Option<Answer>>,
}

/// An answer, or `null` to make the characteristic blank (schema only, for PATCH).
pub struct AnswerOrNull;

impl utoipa::PartialSchema for AnswerOrNull {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name("Answer"))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .into()
    }
}

impl ToSchema for AnswerOrNull {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("AnswerOrNull")
    }
}

pub enum Change {
    Replace(AnswerSet),
    Patch(BTreeMap<String, Option<Answer>>),
}

/// Everything held about the caller: the subject access request in one document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    pub employee: EmployeeView,
    pub privacy_notice: Option<NoticeView>,
    pub consents: Vec<ConsentView>,
    pub declaration: Option<DeclarationView>,
    pub history: Vec<HistoryEntry>,
    pub audit_events: Vec<AuditEventView>,
}

/// Ties a ciphertext to its row, so one copied into another person's row does not open.
pub(crate) fn declaration_context(employee: &str) -> Vec<u8> {
    format!("declaration:{employee}").into_bytes()
}

pub(crate) fn history_context(employee: &str, seq: i64) -> Vec<u8> {
    format!("history:{employee}:{seq}").into_bytes()
}

pub(crate) fn open(
    sealer: &Sealer,
    key_id: &str,
    blob: &[u8],
    context: &[u8],
) -> AppResult<AnswerSet> {
    let plain = sealer
        .open(
            &Sealed {
                key_id: key_id.to_owned(),
                blob: blob.to_vec(),
            },
            context,
        )
        .map_err(|e| AppError::internal(format!("a sealed declaration does not open: {e}")))?;
    serde_json::from_slice(&plain)
        .map_err(|e| AppError::internal(format!("a sealed declaration is unreadable: {e}")))
}

/// Opens a stored declaration row under its own employee's context.
pub(crate) fn open_row(sealer: &Sealer, row: &Declaration) -> AppResult<AnswerSet> {
    open(
        sealer,
        &row.key_id,
        &row.sealed,
        &declaration_context(&row.employee_id),
    )
}

pub(crate) fn seal(sealer: &Sealer, answers: &AnswerSet, context: &[u8]) -> AppResult<Sealed> {
    let plain = serde_json::to_vec(answers).map_err(AppError::internal)?;
    sealer.seal(&plain, context).map_err(AppError::internal)
}

/// Seals an answer set exactly as a declaration row stores it, for bulk loaders (benchmarks)
/// that write rows through the store and must produce what the service would have.
pub fn seal_declaration(
    sealer: &Sealer,
    employee_id: &str,
    answers: &AnswerSet,
) -> AppResult<Sealed> {
    seal(sealer, answers, &declaration_context(employee_id))
}

/// The organisation's current published catalogue (id and document).
fn current_catalogue(conn: &mut Conn, org: &str) -> AppResult<(String, Arc<Catalogue>)> {
    super::published::current(conn, org)
}

fn uuid(s: &str) -> AppResult<Uuid> {
    Uuid::parse_str(s).map_err(AppError::internal)
}

/// Builds the view of a stored declaration (or of none) against the current catalogue.
fn view(
    conn: &mut Conn,
    sealer: &Sealer,
    employee: &Employee,
    row: Option<&Declaration>,
) -> AppResult<DeclarationView> {
    let current = current_catalogue(conn, &employee.organisation_id)?;
    let opened = match row {
        Some(row) => Some((row, open_row(sealer, row)?)),
        None => None,
    };
    view_of(conn, employee, &current, opened)
}

/// [`view`] of a row whose answers are already open, against a current catalogue already read
/// (a write has both in hand: it need not read the catalogue or open the row again).
fn view_of(
    conn: &mut Conn,
    employee: &Employee,
    (current_id, current): &(String, Arc<Catalogue>),
    opened: Option<(&Declaration, AnswerSet)>,
) -> AppResult<DeclarationView> {
    let Some((row, answers)) = opened else {
        return Ok(DeclarationView {
            version: 0,
            catalogue_version_id: None,
            current_catalogue_version_id: uuid(current_id)?,
            answers: AnswerSet::new(),
            unanswered: current
                .characteristics
                .iter()
                .map(|c| c.code.clone())
                .collect(),
            new_since_answered: Vec::new(),
            last_reviewed_at: None,
            updated_at: None,
        });
    };
    let answered = if &row.catalogue_version_id == current_id {
        None
    } else {
        Some(super::published::version(
            conn,
            &employee.organisation_id,
            &row.catalogue_version_id,
        )?)
    };
    let new_since_answered = match &answered {
        None => Vec::new(),
        Some(old) => current
            .characteristics
            .iter()
            .filter(|c| old.characteristic(&c.code).is_none())
            .map(|c| c.code.clone())
            .collect(),
    };
    Ok(DeclarationView {
        version: row.version,
        catalogue_version_id: Some(uuid(&row.catalogue_version_id)?),
        current_catalogue_version_id: uuid(current_id)?,
        unanswered: current
            .characteristics
            .iter()
            .filter(|c| !answers.contains_key(&c.code))
            .map(|c| c.code.clone())
            .collect(),
        answers,
        new_since_answered,
        last_reviewed_at: Some(row.last_reviewed_at),
        updated_at: Some(row.updated_at),
    })
}

fn stale(current: i64) -> AppError {
    AppError::PreconditionFailed(format!(
        "the declaration has changed since you read it (it is now version {current}, ETag \"v{current}\"); \
         read it again, reapply your change and send the new ETag in If-Match; nothing was stored"
    ))
}

/// Runs `work` in one transaction with the caller's employee record and an audit actor.
async fn in_transaction<T, F>(
    db: &Database,
    principal: Principal,
    request_id: Option<String>,
    work: F,
) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Conn, &Employee, &Actor) -> AppResult<T> + Send + 'static,
{
    db.run(move |conn| {
        Ok(conn.transaction(|conn| -> AppResult<T> {
            let employee = subject::resolve(conn, &principal)?;
            let actor = Actor::of(&principal, request_id);
            work(conn, &employee, &actor)
        }))
    })
    .await?
}

fn event(conn: &mut Conn, actor: &Actor, action: &str, employee: &Employee) -> AppResult<()> {
    audit::append(
        conn,
        actor.event(action, Some(subject::audit_subject(employee))),
    )?;
    Ok(())
}

/// `GET /v1/me/declaration`.
pub async fn read(
    db: &Database,
    sealer: Arc<Sealer>,
    principal: Principal,
    request_id: Option<String>,
) -> AppResult<DeclarationView> {
    in_transaction(db, principal, request_id, move |conn, employee, actor| {
        let row = repo::find(conn, &employee.id)?;
        let out = view(conn, &sealer, employee, row.as_ref())?;
        event(conn, actor, "declaration.read", employee)?;
        Ok(out)
    })
    .await
}

/// `PUT`/`PATCH /v1/me/declaration`: validated against the current catalogue, stored only if
/// the caller's `If-Match` names the stored version, with a history row and an audit event.
pub async fn write(
    db: &Database,
    sealer: Arc<Sealer>,
    principal: Principal,
    request_id: Option<String>,
    if_match: Vec<i64>,
    change: Change,
) -> AppResult<DeclarationView> {
    in_transaction(db, principal, request_id, move |conn, employee, actor| {
        subject::require_in_post(employee)?;
        consent::require_monitoring_consent(conn, &employee.organisation_id, &employee.id)?;
        let existing = repo::find(conn, &employee.id)?;
        let current_version = existing.as_ref().map_or(0, |d| d.version);
        if !if_match.contains(&current_version) {
            return Err(stale(current_version));
        }
        let previous = match &existing {
            Some(row) => open_row(&sealer, row)?,
            None => AnswerSet::new(),
        };
        let before = match &existing {
            Some(row) => groups_of_opened(conn, &sealer, row, &previous)?,
            None => Counted::blank(),
        };
        let answers = match change {
            Change::Replace(answers) => answers,
            Change::Patch(patch) => {
                let mut answers = previous.clone();
                for (code, answer) in patch {
                    match answer {
                        Some(answer) => answers.insert(code, answer),
                        None => answers.remove(&code),
                    };
                }
                answers
            }
        };
        let current = current_catalogue(conn, &employee.organisation_id)?;
        let (catalogue_id, catalogue) = (current.0.clone(), current.1.clone());
        validate_answers_for_write(&catalogue, &answers, &previous).map_err(|problems| {
            AppError::Validation(problems.into_iter().map(FieldError::from).collect())
        })?;
        let now = Utc::now().naive_utc();
        let version = current_version + 1;
        let sealed = seal(&sealer, &answers, &declaration_context(&employee.id))?;
        let row = Declaration {
            employee_id: employee.id.clone(),
            organisation_id: employee.organisation_id.clone(),
            catalogue_version_id: catalogue_id,
            key_id: sealed.key_id,
            sealed: sealed.blob,
            version,
            // Changing answers is reviewing them.
            last_reviewed_at: now,
            updated_at: now,
        };
        if existing.is_some() {
            if repo::update_if_version(conn, &row, current_version)? == 0 {
                return Err(stale(current_version + 1));
            }
        } else if let Err(e) = repo::insert(conn, &row) {
            // A concurrent first declaration won the race.
            return Err(if e.is_unique_violation() {
                stale(1)
            } else {
                e.into()
            });
        }
        let history = seal(&sealer, &answers, &history_context(&employee.id, version))?;
        repo::append_history(
            conn,
            &HistoryRow {
                id: Uuid::new_v4().to_string(),
                employee_id: employee.id.clone(),
                seq: version,
                key_id: history.key_id,
                sealed: history.blob,
                changed_at: now,
            },
        )?;
        // The tallies follow in the same transaction: figures never disagree with answers.
        if let Some(cell) = tallies::counted_cell(employee) {
            let secret = super::noise::secret(conn, &sealer, &employee.organisation_id)?;
            let after = Counted::new(
                &secret,
                &employee.id,
                crate::domain::tally::groups_of(&catalogue, &answers),
            );
            tallies::update_cell(conn, &sealer, &employee.organisation_id, &cell, |c| {
                c.replace(&before, &after)
            })?;
        }
        let out = view_of(conn, employee, &current, Some((&row, answers)))?;
        event(conn, actor, "declaration.write", employee)?;
        Ok(out)
    })
    .await
}

/// `DELETE /v1/me/declaration`: erases the answers and their history for real; consent stays.
pub async fn erase(
    db: &Database,
    sealer: Arc<Sealer>,
    principal: Principal,
    request_id: Option<String>,
) -> AppResult<()> {
    in_transaction(db, principal, request_id, move |conn, employee, actor| {
        erase_counted(conn, &sealer, employee)?;
        event(conn, actor, "declaration.erase", employee)
    })
    .await
}

/// `POST /v1/me/declaration/review`: the employee confirms their answers are unchanged.
pub async fn review(
    db: &Database,
    sealer: Arc<Sealer>,
    principal: Principal,
    request_id: Option<String>,
) -> AppResult<DeclarationView> {
    in_transaction(db, principal, request_id, move |conn, employee, actor| {
        subject::require_in_post(employee)?;
        consent::require_monitoring_consent(conn, &employee.organisation_id, &employee.id)?;
        if repo::mark_reviewed(conn, &employee.id, Utc::now().naive_utc())? == 0 {
            return Err(AppError::NotFound(
                "nothing is declared yet, so there is nothing to confirm".into(),
            ));
        }
        let row = repo::find(conn, &employee.id)?;
        let out = view(conn, &sealer, employee, row.as_ref())?;
        event(conn, actor, "declaration.review", employee)?;
        Ok(out)
    })
    .await
}

fn history_entries(
    conn: &mut Conn,
    sealer: &Sealer,
    employee: &Employee,
) -> AppResult<Vec<HistoryEntry>> {
    repo::history(conn, &employee.id)?
        .into_iter()
        .map(|h| {
            Ok(HistoryEntry {
                answers: open(
                    sealer,
                    &h.key_id,
                    &h.sealed,
                    &history_context(&employee.id, h.seq),
                )?,
                seq: h.seq,
                changed_at: h.changed_at,
            })
        })
        .collect()
}

/// `GET /v1/me/declaration/history`: the caller's own changes, oldest first.
pub async fn history(
    db: &Database,
    sealer: Arc<Sealer>,
    principal: Principal,
    request_id: Option<String>,
) -> AppResult<Vec<HistoryEntry>> {
    in_transaction(db, principal, request_id, move |conn, employee, actor| {
        let out = history_entries(conn, &sealer, employee)?;
        event(conn, actor, "declaration.history.read", employee)?;
        Ok(out)
    })
    .await
}

/// `GET /v1/me/export`: the export is audited first, so it lists itself among the events.
pub async fn export(
    db: &Database,
    sealer: Arc<Sealer>,
    principal: Principal,
    request_id: Option<String>,
) -> AppResult<Export> {
    in_transaction(db, principal, request_id, move |conn, employee, actor| {
        event(conn, actor, "export.read", employee)?;
        // The events listed must be sealed ones, this export's own included: seal in this
        // transaction (on PostgreSQL that holds the trail's lock to commit; exports are rare).
        crate::store::audit::seal_in(conn)?;
        let row = repo::find(conn, &employee.id)?;
        let declaration = match &row {
            Some(row) => Some(view(conn, &sealer, employee, Some(row))?),
            None => None,
        };
        let history = history_entries(conn, &sealer, employee)?;
        let notice = consents::current_notice(conn, &employee.organisation_id)?;
        let consent_rows = consents::for_employee(conn, &employee.id)?;
        let events = crate::store::audit::about_subject(conn, &subject::audit_subject(employee))?;
        Ok(Export {
            employee: employee.clone().into(),
            privacy_notice: notice.map(Into::into),
            consents: consent_rows.into_iter().map(Into::into).collect(),
            declaration,
            history,
            audit_events: events.into_iter().map(Into::into).collect(),
        })
    })
    .await
}

/// Whether an employee is due a review.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    NeverDeclared,
    ReviewDue,
}

/// Who is due a reminder: ids and a status, never what anyone answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DueReview {
    pub employee_id: Uuid,
    pub employee_number: String,
    pub status: ReviewStatus,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewPage {
    pub items: Vec<DueReview>,
    /// Pass back as `after` for the next page; absent on the last page.
    pub next_after: Option<String>,
}

/// Annual review: a declaration last reviewed more than this long before `due_before` is due.
pub const REVIEW_INTERVAL_DAYS: i64 = 365;

/// `GET /v1/reviews`: employees in post who never declared or whose last review is more than
/// a year before `due_before`.
pub async fn due_reviews(
    db: &Database,
    org: Uuid,
    actor: Actor,
    due_before: NaiveDateTime,
    after: Option<String>,
    limit: i64,
) -> AppResult<ReviewPage> {
    let org = org.to_string();
    let cutoff = due_before - chrono::Duration::days(REVIEW_INTERVAL_DAYS);
    db.run(move |conn| {
        Ok(conn.transaction(|conn| -> AppResult<ReviewPage> {
            let rows =
                repo::due_for_review(conn, &org, cutoff, after.as_deref().unwrap_or(""), limit)?;
            audit::append(conn, actor.event("reviews.list", None))?;
            let next_after = (rows.len() as i64 == limit)
                .then(|| rows.last().map(|r| r.1.clone()))
                .flatten();
            let items = rows
                .into_iter()
                .map(|(id, number, reviewed)| {
                    Ok(DueReview {
                        employee_id: uuid(&id)?,
                        employee_number: number,
                        status: if reviewed.is_some() {
                            ReviewStatus::ReviewDue
                        } else {
                            ReviewStatus::NeverDeclared
                        },
                    })
                })
                .collect::<AppResult<Vec<_>>>()?;
            Ok(ReviewPage { items, next_after })
        }))
    })
    .await?
}

/// The stored answers of one employee, opened with `sealer` (for operators' checks and tests;
/// not reachable through the API, and not audited as a person's read because no person reads).
pub async fn stored_answers(
    db: &Database,
    sealer: Arc<Sealer>,
    employee_id: Uuid,
) -> AppResult<Option<(AnswerSet, Vec<AnswerSet>)>> {
    db.run(move |conn| {
        let id = employee_id.to_string();
        Ok((|| -> AppResult<Option<(AnswerSet, Vec<AnswerSet>)>> {
            let Some(row) = repo::find(conn, &id)? else {
                return Ok(None);
            };
            let answers = open_row(&sealer, &row)?;
            let history = repo::history(conn, &id)?
                .into_iter()
                .map(|h| open(&sealer, &h.key_id, &h.sealed, &history_context(&id, h.seq)))
                .collect::<AppResult<Vec<_>>>()?;
            Ok(Some((answers, history)))
        })())
    })
    .await?
}

/// What a stored declaration counts as in the tallies: its answers collapsed to publication
/// groups under the catalogue version they were answered against (the one they were counted
/// under when written), so taking them out again subtracts exactly what was added.
pub fn counted_groups(conn: &mut Conn, sealer: &Sealer, employee_id: &str) -> AppResult<Counted> {
    match repo::find(conn, employee_id)? {
        Some(row) => groups_of_row(conn, sealer, &row),
        None => Ok(Counted::blank()),
    }
}

/// [`counted_groups`] of a declaration already loaded (a recount reads them a page at a time).
/// Parsed catalogue versions come from the process-wide [`super::published`] cache, so a
/// recount meeting one version many times parses it once.
pub fn groups_of_row(conn: &mut Conn, sealer: &Sealer, row: &Declaration) -> AppResult<Counted> {
    let answers = open_row(sealer, row)?;
    groups_of_opened(conn, sealer, row, &answers)
}

/// [`counted_groups`] of a row already read and opened.
fn groups_of_opened(
    conn: &mut Conn,
    sealer: &Sealer,
    row: &Declaration,
    answers: &AnswerSet,
) -> AppResult<Counted> {
    let catalogue =
        super::published::version(conn, &row.organisation_id, &row.catalogue_version_id)?;
    let secret = super::noise::secret(conn, sealer, &row.organisation_id)?;
    Ok(Counted::new(
        &secret,
        &row.employee_id,
        crate::domain::tally::groups_of(&catalogue, answers),
    ))
}

/// Erases an employee's answers and history for real and takes them out of the tallies, in the
/// caller's transaction (a DELETE, or a withdrawal of consent).
pub fn erase_counted(conn: &mut Conn, sealer: &Sealer, employee: &Employee) -> AppResult<()> {
    // A write (or a catalogue migration) committing between our read and the DELETE would
    // leave the tallies subtracting answers that are no longer the stored ones.
    repo::lock(conn, &employee.id)?;
    let before = counted_groups(conn, sealer, &employee.id)?;
    repo::erase(conn, &employee.id)?;
    if let Some(cell) = tallies::counted_cell(employee) {
        tallies::update_cell(conn, sealer, &employee.organisation_id, &cell, |c| {
            c.replace(&before, &Counted::blank())
        })?;
    }
    Ok(())
}
