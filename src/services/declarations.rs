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
use crate::crypto::Sealer;
use crate::domain::catalogue::{validate_answers_for_write, Answer, AnswerSet, Catalogue};
use crate::domain::tally::Counted;
use crate::error::{AppError, AppResult, FieldError};
use crate::services::audit::{self, Actor, AuditEventView};
use crate::services::consent::{self, ConsentView, NoticeView};
use crate::services::subject::{self, HeldAnswers};
use crate::services::tallies;
use crate::services::workforce::EmployeeView;
use crate::store::declarations::{self as repo, Declaration, HistoryRow};
use crate::store::workforce::Employee;
use crate::store::{consents, Conn, Database};

use super::answer_keys::Keys;
pub use super::answer_keys::{declaration_context, history_context, person_key_context};
use super::counted::groups_of_opened;
use super::erasure::{erase_counted, finish_erasures};

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
    /// Present when answers on the record were given through another sign-in and are held out
    /// of this one's reach (decision 0017); the rest of the view is then as if nothing was
    /// declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_answers: Option<HeldAnswers>,
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
    /// Present when answers on the record are held for another sign-in: they, their history
    /// and that sign-in's self-service events are left out of this export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_answers: Option<HeldAnswers>,
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
    keys: &Keys<'_>,
    employee: &Employee,
    row: Option<&Declaration>,
) -> AppResult<DeclarationView> {
    let current = current_catalogue(conn, &employee.organisation_id)?;
    let opened = match row {
        Some(row) => Some((row, keys.open_row(row)?)),
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
            held_answers: None,
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
        held_answers: None,
    })
}

fn stale(current: i64) -> AppError {
    AppError::PreconditionFailed(format!(
        "the declaration has changed since you read it (it is now version {current}, ETag \"v{current}\"); \
         read it again, reapply your change and send the new ETag in If-Match; nothing was stored"
    ))
}

/// The sign-in behind a self-service call, and whether the record's answers are out of its
/// reach because another sign-in gave them (decision 0017).
struct Caller {
    identity: String,
    held: Option<HeldAnswers>,
}

impl Caller {
    /// Refuses a change (or erasure) of answers another sign-in gave, before anything about
    /// them (even their version) is revealed.
    fn require_own(&self) -> AppResult<()> {
        match self.held {
            Some(_) => Err(subject::held_error()),
            None => Ok(()),
        }
    }
}

/// Runs `work` in one transaction with the caller's employee record, an audit actor and whether
/// the stored answers are the caller's own.
async fn in_transaction<T, F>(
    db: &Database,
    principal: Principal,
    request_id: Option<String>,
    work: F,
) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Conn, &Employee, &Actor, &Caller) -> AppResult<T> + Send + 'static,
{
    db.run(move |conn| {
        Ok(conn.transaction(|conn| -> AppResult<T> {
            let employee = subject::resolve(conn, &principal)?;
            let actor = Actor::of(&principal, request_id);
            let identity = subject::identity_of(&principal);
            let held = subject::held_from(conn, &employee, &identity)?;
            work(conn, &employee, &actor, &Caller { identity, held })
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
    in_transaction(
        db,
        principal,
        request_id,
        move |conn, employee, actor, caller| {
            // Another sign-in's answers: the view of an empty record, with the notice.
            let row = match caller.held {
                Some(_) => None,
                None => repo::find(conn, &employee.id)?,
            };
            let keys = Keys::load(conn, &sealer, &employee.id)?;
            let mut out = view(conn, &keys, employee, row.as_ref())?;
            out.held_answers = caller.held.clone();
            event(conn, actor, "declaration.read", employee)?;
            Ok(out)
        },
    )
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
    let written = in_transaction(
        db,
        principal,
        request_id,
        move |conn, employee, actor, caller| {
            caller.require_own()?;
            subject::require_in_post(employee)?;
            consent::require_monitoring_consent(conn, &employee.organisation_id, &employee.id)?;
            let existing = repo::find(conn, &employee.id)?;
            let current_version = existing.as_ref().map_or(0, |d| d.version);
            if !if_match.contains(&current_version) {
                return Err(stale(current_version));
            }
            let mut keys = Keys::load(conn, &sealer, &employee.id)?;
            let previous = match &existing {
                Some(row) => keys.open_row(row)?,
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
            keys.ensure(conn, &employee.organisation_id, &employee.id)?;
            let sealed = keys.seal(&answers, &declaration_context(&employee.id))?;
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
            } else {
                if let Err(e) = repo::insert(conn, &row) {
                    // A concurrent first declaration won the race.
                    return Err(if e.is_unique_violation() {
                        stale(1)
                    } else {
                        e.into()
                    });
                }
                // The first answers belong to the sign-in that gave them, and to no later one.
                crate::store::owners::set(conn, &employee.id, &caller.identity, now)?;
            }
            let history = keys.seal(&answers, &history_context(&employee.id, version))?;
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
        },
    )
    .await;
    if written.is_ok() {
        crate::metrics::declaration_written();
    }
    written
}

/// `DELETE /v1/me/declaration`: erases the answers and their history for real; consent stays.
pub async fn erase(
    db: &Database,
    sealer: Arc<Sealer>,
    principal: Principal,
    request_id: Option<String>,
) -> AppResult<()> {
    let finishing = sealer.clone();
    in_transaction(
        db,
        principal,
        request_id,
        move |conn, employee, actor, caller| {
            caller.require_own()?;
            erase_counted(conn, &sealer, employee)?;
            event(conn, actor, "declaration.erase", employee)
        },
    )
    .await?;
    finish_erasures(db, finishing).await;
    Ok(())
}

/// `POST /v1/me/declaration/review`: the employee confirms their answers are unchanged.
pub async fn review(
    db: &Database,
    sealer: Arc<Sealer>,
    principal: Principal,
    request_id: Option<String>,
) -> AppResult<DeclarationView> {
    in_transaction(
        db,
        principal,
        request_id,
        move |conn, employee, actor, caller| {
            caller.require_own()?;
            subject::require_in_post(employee)?;
            consent::require_monitoring_consent(conn, &employee.organisation_id, &employee.id)?;
            if repo::mark_reviewed(conn, &employee.id, Utc::now().naive_utc())? == 0 {
                return Err(AppError::NotFound(
                    "nothing is declared yet, so there is nothing to confirm".into(),
                ));
            }
            let row = repo::find(conn, &employee.id)?;
            let keys = Keys::load(conn, &sealer, &employee.id)?;
            let out = view(conn, &keys, employee, row.as_ref())?;
            event(conn, actor, "declaration.review", employee)?;
            Ok(out)
        },
    )
    .await
}

fn history_entries(
    conn: &mut Conn,
    keys: &Keys<'_>,
    employee: &Employee,
) -> AppResult<Vec<HistoryEntry>> {
    repo::history(conn, &employee.id)?
        .into_iter()
        .map(|h| {
            Ok(HistoryEntry {
                answers: keys.open(&h.key_id, &h.sealed, &history_context(&employee.id, h.seq))?,
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
    in_transaction(
        db,
        principal,
        request_id,
        move |conn, employee, actor, caller| {
            let out = match caller.held {
                Some(_) => Vec::new(),
                None => {
                    let keys = Keys::load(conn, &sealer, &employee.id)?;
                    history_entries(conn, &keys, employee)?
                }
            };
            event(conn, actor, "declaration.history.read", employee)?;
            Ok(out)
        },
    )
    .await
}

/// `GET /v1/me/export`: the export is audited first, so it lists itself among the events.
pub async fn export(
    db: &Database,
    sealer: Arc<Sealer>,
    principal: Principal,
    request_id: Option<String>,
) -> AppResult<Export> {
    in_transaction(
        db,
        principal,
        request_id,
        move |conn, employee, actor, caller| {
            event(conn, actor, "export.read", employee)?;
            // The events listed must be sealed ones, this export's own included: seal in this
            // transaction (on PostgreSQL that holds the trail's lock to commit; exports are rare).
            crate::store::audit::seal_in(conn)?;
            let (declaration, history) = match caller.held {
                Some(_) => (None, Vec::new()),
                None => {
                    let row = repo::find(conn, &employee.id)?;
                    let keys = Keys::load(conn, &sealer, &employee.id)?;
                    let declaration = match &row {
                        Some(row) => Some(view(conn, &keys, employee, Some(row))?),
                        None => None,
                    };
                    (declaration, history_entries(conn, &keys, employee)?)
                }
            };
            let notice = consents::current_notice(conn, &employee.organisation_id)?;
            let consent_rows = consents::for_employee(conn, &employee.id)?;
            let mut events =
                crate::store::audit::about_subject(conn, &subject::audit_subject(employee))?;
            if caller.held.is_some() {
                // When and how often the other sign-in read or changed its answers is about that
                // person, not this one: keep HR's and the caller's own events only.
                events.retain(|e| !self_service_of_another(&e.actor, &e.action, &caller.identity));
            }
            Ok(Export {
                employee: employee.clone().into(),
                privacy_notice: notice.map(Into::into),
                consents: consent_rows.into_iter().map(Into::into).collect(),
                declaration,
                history,
                audit_events: events.into_iter().map(Into::into).collect(),
                held_answers: caller.held.clone(),
            })
        },
    )
    .await
}

/// An event of a person's own self-service (their answers, consents or export) recorded for a
/// sign-in other than `identity`.
fn self_service_of_another(actor: &str, action: &str, identity: &str) -> bool {
    let self_service = ["declaration.", "consent.", "export."]
        .iter()
        .any(|prefix| action.starts_with(prefix));
    self_service && actor != identity
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
    /// The code of the employee's org unit, so a reminder round can go unit by unit.
    pub org_unit: String,
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
/// a year before `due_before`, each with their unit's code; only those in the unit with code
/// `unit` when one is given.
pub async fn due_reviews(
    db: &Database,
    org: Uuid,
    actor: Actor,
    due_before: NaiveDateTime,
    after: Option<String>,
    unit: Option<String>,
    limit: i64,
) -> AppResult<ReviewPage> {
    let org = org.to_string();
    let cutoff = due_before - chrono::Duration::days(REVIEW_INTERVAL_DAYS);
    db.run(move |conn| {
        Ok(conn.transaction(|conn| -> AppResult<ReviewPage> {
            let rows = repo::due_for_review(
                conn,
                &org,
                cutoff,
                after.as_deref().unwrap_or(""),
                unit.as_deref(),
                limit,
            )?;
            audit::append(conn, actor.event("reviews.list", None))?;
            let next_after = (rows.len() as i64 == limit)
                .then(|| rows.last().map(|r| r.1.clone()))
                .flatten();
            let items = rows
                .into_iter()
                .map(|(id, number, reviewed, org_unit)| {
                    Ok(DueReview {
                        employee_id: uuid(&id)?,
                        employee_number: number,
                        org_unit,
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
            let keys = Keys::load(conn, &sealer, &id)?;
            let answers = keys.open_row(&row)?;
            let history = repo::history(conn, &id)?
                .into_iter()
                .map(|h| keys.open(&h.key_id, &h.sealed, &history_context(&id, h.seq)))
                .collect::<AppResult<Vec<_>>>()?;
            Ok(Some((answers, history)))
        })())
    })
    .await?
}
