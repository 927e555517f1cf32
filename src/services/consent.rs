//! Privacy notices and employees' agreements to them. Withdrawing `equality_monitoring` is an
//! instruction to erase: the answers and their history are deleted in the same transaction as
//! the withdrawal and its audit event.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::consent::{self, ConsentProblem, ConsentRecord, Purpose};
use crate::error::{AppError, AppResult, FieldError};
use crate::services::audit::{self, Actor};
use crate::services::subject;
use crate::store::consents::{self as repo, Consent, PrivacyNotice};
use crate::store::{Conn, Database};

/// The lawful basis most employers rely on (STANDARDS.md); an organisation states its own by
/// publishing a new notice version.
pub const DEFAULT_LAWFUL_BASIS: &str =
    "UK GDPR Article 9(2)(b) and (g) with the Data Protection Act 2018, \
Schedule 1, Part 2, paragraph 8 (equality of opportunity or treatment)";

const DEFAULT_TEXT_EN: &str = "Telling us about yourself is voluntary. Every question can be left blank \
or answered 'Prefer not to say', and nothing about your job depends on it. We use your answers only to \
produce anonymised statistics that help us meet the Public Sector Equality Duty; they are never used to \
make decisions about you. Your answers are encrypted, only you can see them, and figures are published \
only when no one can be identified. You can change your answers at any time. If you withdraw your \
agreement, your answers and their history are erased.";

const DEFAULT_TEXT_CY: &str = "Mae dweud wrthym amdanoch eich hun yn wirfoddol. Gellir gadael pob cwestiwn \
yn wag neu ateb 'Mae'n well gennyf beidio â dweud', ac nid oes dim am eich swydd yn dibynnu arno. Dim ond \
i gynhyrchu ystadegau dienw sy'n ein helpu i gyflawni Dyletswydd Cydraddoldeb y Sector Cyhoeddus y \
byddwn yn defnyddio eich atebion; ni chânt byth eu defnyddio i wneud penderfyniadau amdanoch chi. Mae \
eich atebion wedi'u hamgryptio, dim ond chi sy'n gallu eu gweld, a dim ond pan na ellir adnabod neb y \
cyhoeddir ffigurau. Gallwch newid eich atebion unrhyw bryd. Os byddwch yn tynnu eich cytundeb yn ôl, \
caiff eich atebion a'u hanes eu dileu.";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoticeView {
    pub version: i64,
    pub text_en: String,
    pub text_cy: String,
    pub lawful_basis: String,
    #[serde(serialize_with = "crate::services::timestamps::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub published_at: NaiveDateTime,
}

impl From<PrivacyNotice> for NoticeView {
    fn from(n: PrivacyNotice) -> Self {
        NoticeView {
            version: n.version,
            text_en: n.text_en,
            text_cy: n.text_cy,
            lawful_basis: n.lawful_basis,
            published_at: n.published_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentView {
    /// `equality_monitoring` or `workplace_adjustments`.
    #[schema(value_type = Purpose)]
    pub purpose: String,
    pub notice_version: i64,
    #[serde(serialize_with = "crate::services::timestamps::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub granted_at: NaiveDateTime,
    #[serde(serialize_with = "crate::services::timestamps::utc_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub withdrawn_at: Option<NaiveDateTime>,
}

impl From<Consent> for ConsentView {
    fn from(c: Consent) -> Self {
        ConsentView {
            purpose: c.purpose,
            notice_version: c.notice_version,
            granted_at: c.granted_at,
            withdrawn_at: c.withdrawn_at,
        }
    }
}

/// The current notice and everything the employee has agreed to (and withdrawn).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"notice": {"version": 1, "text_en": "Telling us about yourself is voluntary...",
    "text_cy": "Mae dweud wrthym amdanoch eich hun yn wirfoddol...",
    "lawful_basis": "UK GDPR Article 9(2)(b) and (g) ...", "published_at": "2026-12-01T09:00:00.000000Z"},
    "consents": [{"purpose": "equality_monitoring", "notice_version": 1,
                  "granted_at": "2026-12-04T08:01:39.123456Z", "withdrawn_at": null}],
    "may_declare": true}))]
pub struct ConsentsView {
    pub notice: NoticeView,
    pub consents: Vec<ConsentView>,
    /// True when answers may be stored now: a live `equality_monitoring` agreement to the
    /// current notice.
    pub may_declare: bool,
}

/// `PUT /v1/me/consents`: grant (`true`) or withdraw (`false`) each named purpose.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"notice_version": 1, "purposes": {"equality_monitoring": true}}))]
pub struct UpdateConsents {
    /// The privacy notice version being agreed to; must be the current one for any grant.
    pub notice_version: i64,
    /// Purpose -> true to grant, false to withdraw. Purposes left out are unchanged.
    #[schema(value_type = ConsentPurposes)]
    pub purposes: BTreeMap<Purpose, bool>,
}

/// The purposes an agreement can name, each `true` (grant) or `false` (withdraw); any other
/// name is refused (422 naming `purposes`), and so is naming none. Schema only: requests parse into a map keyed by
/// [`Purpose`].
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
// `minProperties: 1` is set by `http::contract::complete`: utoipa 5.5's `min_properties`
// attribute writes `maxProperties`.
#[allow(dead_code)] // never built: it describes `UpdateConsents::purposes`
pub struct ConsentPurposes {
    /// Anonymised statistics. Required before any answer is stored; withdrawing it erases the
    /// answers and their history.
    #[schema(nullable = false)]
    equality_monitoring: Option<bool>,
    /// Sharing a disability declaration with HR for workplace adjustments. Optional.
    #[schema(nullable = false)]
    workplace_adjustments: Option<bool>,
}

/// A new notice an organisation publishes (its own wording or lawful basis).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNotice {
    /// Not blank (the pattern: a character `str::trim` keeps).
    #[schema(pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    pub text_en: String,
    /// Not blank.
    #[schema(pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    pub text_cy: String,
    /// Not blank.
    #[schema(pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    pub lawful_basis: String,
}

/// Records as the pure rules read them.
pub fn records(rows: &[Consent]) -> Vec<ConsentRecord> {
    rows.iter()
        .filter_map(|r| {
            Some(ConsentRecord {
                purpose: Purpose::parse(&r.purpose)?,
                notice_version: r.notice_version,
                withdrawn: r.withdrawn_at.is_some(),
            })
        })
        .collect()
}

/// The problem a declaration change meets without a live agreement to the current notice.
pub fn consent_error(problem: ConsentProblem) -> AppError {
    match problem {
        ConsentProblem::Missing => AppError::Forbidden(
            "no live consent for equality_monitoring: agree to the privacy notice with \
             PUT /v1/me/consents before declaring; nothing was stored"
                .into(),
        ),
        ConsentProblem::Stale { agreed, current } => AppError::Conflict(format!(
            "the privacy notice has changed: you agreed to version {agreed} and the current one is \
             version {current}; agree to version {current} with PUT /v1/me/consents before changing \
             your declaration; nothing was stored"
        )),
    }
}

/// Checks, inside the caller's transaction, that the employee may change their declaration.
pub fn require_monitoring_consent(conn: &mut Conn, org: &str, employee: &str) -> AppResult<()> {
    let Some(notice) = repo::current_notice(conn, org)? else {
        return Err(consent_error(ConsentProblem::Missing));
    };
    let rows = repo::for_employee(conn, employee)?;
    consent::may_change_declaration(&records(&rows), notice.version).map_err(consent_error)
}

fn default_notice(org: &str) -> PrivacyNotice {
    PrivacyNotice {
        id: Uuid::new_v4().to_string(),
        organisation_id: org.to_owned(),
        version: 1,
        text_en: DEFAULT_TEXT_EN.into(),
        text_cy: DEFAULT_TEXT_CY.into(),
        lawful_basis: DEFAULT_LAWFUL_BASIS.into(),
        published_at: Utc::now().naive_utc(),
    }
}

/// The organisation's current notice, seeding the default version 1 the first time one is
/// needed. Its own transaction: two first requests racing both end up reading the one row.
async fn ensure_notice(db: &Database, org: String) -> AppResult<()> {
    db.run(move |conn| {
        let seeded = conn.transaction(|conn| -> crate::store::StoreResult<()> {
            if repo::current_notice(conn, &org)?.is_none() {
                repo::insert_notice(conn, &default_notice(&org))?;
            }
            Ok(())
        });
        match seeded {
            Err(e) if e.is_unique_violation() => Ok(()),
            other => other,
        }
    })
    .await?;
    Ok(())
}

fn organisation(principal: &Principal) -> AppResult<String> {
    principal.org_id.map(|id| id.to_string()).ok_or_else(|| {
        AppError::Forbidden("consent belongs to an employee of an organisation".into())
    })
}

fn view(conn: &mut Conn, org: &str, employee: &str) -> AppResult<ConsentsView> {
    let notice = repo::current_notice(conn, org)?
        .ok_or_else(|| AppError::internal("privacy notice missing after seeding"))?;
    let rows = repo::for_employee(conn, employee)?;
    let may_declare = consent::may_change_declaration(&records(&rows), notice.version).is_ok();
    Ok(ConsentsView {
        notice: notice.into(),
        consents: rows.into_iter().map(Into::into).collect(),
        may_declare,
    })
}

/// `GET /v1/me/consents`.
pub async fn get(
    db: &Database,
    principal: Principal,
    request_id: Option<String>,
) -> AppResult<ConsentsView> {
    let org = organisation(&principal)?;
    ensure_notice(db, org.clone()).await?;
    db.run(move |conn| {
        Ok(conn.transaction(|conn| -> AppResult<ConsentsView> {
            let employee = subject::resolve(conn, &principal)?;
            let out = view(conn, &org, &employee.id)?;
            let actor = Actor::of(&principal, request_id);
            audit::append(
                conn,
                actor.event("consent.read", Some(subject::audit_subject(&employee))),
            )?;
            Ok(out)
        }))
    })
    .await?
}

/// `PUT /v1/me/consents`: every named purpose granted or withdrawn in one transaction.
pub async fn update(
    db: &Database,
    sealer: std::sync::Arc<crate::crypto::Sealer>,
    principal: Principal,
    request_id: Option<String>,
    change: UpdateConsents,
) -> AppResult<ConsentsView> {
    if change.purposes.is_empty() {
        return Err(AppError::Validation(vec![FieldError::new(
            "purposes",
            "empty",
            "name at least one purpose to grant (true) or withdraw (false)",
        )]));
    }
    let org = organisation(&principal)?;
    ensure_notice(db, org.clone()).await?;
    let erases = change.purposes.get(&Purpose::EqualityMonitoring) == Some(&false);
    let finishing = sealer.clone();
    let out = db
        .run(move |conn| {
            Ok(conn.transaction(|conn| -> AppResult<ConsentsView> {
                let employee = subject::resolve(conn, &principal)?;
                let notice = repo::current_notice(conn, &org)?
                    .ok_or_else(|| AppError::internal("privacy notice missing after seeding"))?;
                let actor = Actor::of(&principal, request_id);
                let about = subject::audit_subject(&employee);
                let now = Utc::now().naive_utc();
                // Withdrawing erases the answers: never answers another sign-in gave (decision
                // 0017).
                if erases
                    && subject::held_from(conn, &employee, &subject::identity_of(&principal))?
                        .is_some()
                {
                    return Err(subject::held_error());
                }
                for (purpose, grant) in &change.purposes {
                    if *grant {
                        subject::require_in_post(&employee)?;
                        consent::grant_names_current(change.notice_version, notice.version)
                            .map_err(|_| {
                                AppError::Conflict(format!(
                                "notice_version {} is not the current privacy notice (version {}); \
                                 read version {} and agree to it",
                                change.notice_version, notice.version, notice.version
                            ))
                            })?;
                        repo::grant(
                            conn,
                            &Consent {
                                employee_id: employee.id.clone(),
                                purpose: purpose.as_str().into(),
                                notice_version: notice.version,
                                granted_at: now,
                                withdrawn_at: None,
                            },
                        )?;
                        let action = format!("consent.grant.{}", purpose.as_str());
                        audit::append(conn, actor.event(&action, Some(about.clone())))?;
                    } else {
                        repo::withdraw(conn, &employee.id, purpose.as_str(), now)?;
                        let action = format!("consent.withdraw.{}", purpose.as_str());
                        audit::append(conn, actor.event(&action, Some(about.clone())))?;
                        if *purpose == Purpose::EqualityMonitoring {
                            // Withdrawal is an instruction to erase: for real, in this transaction.
                            super::erasure::erase_counted(conn, &sealer, &employee)?;
                            audit::append(
                                conn,
                                actor.event("declaration.erase", Some(about.clone())),
                            )?;
                        }
                    }
                }
                view(conn, &org, &employee.id)
            }))
        })
        .await??;
    if erases {
        super::erasure::finish_erasures(db, finishing).await;
    }
    Ok(out)
}

/// Publishes a new notice version for the organisation (its own text or lawful basis). Every
/// employee must agree to it before changing their declaration again.
pub async fn publish_notice(
    db: &Database,
    org: Uuid,
    actor: Actor,
    new: NewNotice,
) -> AppResult<NoticeView> {
    let mut problems = Vec::new();
    for (field, text) in [
        ("text_en", &new.text_en),
        ("text_cy", &new.text_cy),
        ("lawful_basis", &new.lawful_basis),
    ] {
        if text.trim().is_empty() {
            problems.push(FieldError::new(field, "empty", "must not be blank"));
        }
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    let org = org.to_string();
    ensure_notice(db, org.clone()).await?;
    db.run(move |conn| {
        Ok(conn.transaction(|conn| -> AppResult<NoticeView> {
            let version = repo::current_notice(conn, &org)?.map_or(1, |n| n.version + 1);
            let notice = PrivacyNotice {
                id: Uuid::new_v4().to_string(),
                organisation_id: org.clone(),
                version,
                text_en: new.text_en,
                text_cy: new.text_cy,
                lawful_basis: new.lawful_basis,
                published_at: Utc::now().naive_utc(),
            };
            repo::insert_notice(conn, &notice)?;
            audit::append(conn, actor.event("privacy_notice.publish", None))?;
            Ok(notice.into())
        }))
    })
    .await?
}
