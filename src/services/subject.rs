//! Who the employee behind a caller is. Self-service endpoints take no employee id: the
//! record is derived from the token, so no one can name somebody else's declaration.

use crate::auth::{Principal, PrincipalKind};
use crate::domain::workforce::in_post_on;
use crate::error::{AppError, AppResult};
use crate::store::declarations::employee_by_subject;
use crate::store::workforce::{find_employee, Employee};
use crate::store::Conn;

/// The audit subject for everything about one employee.
pub fn audit_subject(employee: &Employee) -> String {
    format!("employee:{}", employee.id)
}

/// The employee record the principal declares for: a local account's linked employee, or for
/// an identity-provider token the employee whose `external_subject` is the token's subject.
pub fn resolve(conn: &mut Conn, principal: &Principal) -> AppResult<Employee> {
    let org = principal
        .org_id
        .ok_or_else(|| {
            AppError::Forbidden("self-declaration needs a caller bound to an organisation".into())
        })?
        .to_string();
    if let Some(id) = principal.employee_id {
        return find_employee(conn, &org, &id.to_string()).map_err(|e| {
            if e.is_not_found() {
                AppError::Forbidden(
                    "the employee record this account is linked to does not exist in its organisation"
                        .into(),
                )
            } else {
                e.into()
            }
        });
    }
    if principal.kind == PrincipalKind::External {
        return employee_by_subject(conn, &org, &principal.subject)?.ok_or_else(|| {
            AppError::Forbidden(
                "no employee record in this organisation carries your identity (external_subject); \
                 ask HR to add it to your record"
                    .into(),
            )
        });
    }
    Err(AppError::Forbidden(
        "this account is not linked to an employee record, so it has no declaration".into(),
    ))
}

/// Leavers keep their rights to read, export, withdraw and erase, but declare nothing new.
pub fn require_in_post(employee: &Employee) -> AppResult<()> {
    let today = chrono::Utc::now().date_naive().to_string();
    match employee.leave_date.as_deref() {
        Some(date) if !in_post_on(Some(date), &today) => Err(AppError::Forbidden(format!(
            "your employee record shows you left on {date}; leavers cannot declare"
        ))),
        _ => Ok(()),
    }
}

/// The sign-in identity behind a principal, written as the audit trail names actors
/// (`account:<id>`, `external:<subject>`). Answers are recorded against it (decision 0017).
pub fn identity_of(principal: &Principal) -> String {
    crate::services::audit::Actor::of(principal, None).id
}

/// Shown to someone whose record holds answers another sign-in gave.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct HeldAnswers {
    /// Always `sign_in_changed`.
    pub reason: &'static str,
    pub message: &'static str,
}

const HELD_MESSAGE: &str = "earlier answers on your employee record are held because the sign-in \
     linked to the record changed; they can only be read, changed or erased by signing in as the \
     identity that gave them. Ask HR if your sign-in was changed by mistake";

/// Whether the answers stored on `employee` are out of reach of `identity`: there are answers
/// and they were given by another sign-in (or by none we know of: fail closed).
pub fn held_from(
    conn: &mut Conn,
    employee: &Employee,
    identity: &str,
) -> AppResult<Option<HeldAnswers>> {
    // The owner first: for the person's own calls (nearly all of them) one primary-key read.
    let owner = crate::store::owners::find(conn, &employee.id)?;
    if !crate::domain::identity::answers_held(owner.as_deref(), identity)
        || !crate::store::owners::has_answers(conn, &employee.id)?
    {
        return Ok(None);
    }
    // A first declaration committed between the two reads above (PostgreSQL, read committed)
    // commits its owner with it: read the owner again before calling the answers someone
    // else's, or two concurrent first writes by one person would refuse the second.
    let owner = crate::store::owners::find(conn, &employee.id)?;
    if !crate::domain::identity::answers_held(owner.as_deref(), identity) {
        return Ok(None);
    }
    Ok(Some(HeldAnswers {
        reason: "sign_in_changed",
        message: HELD_MESSAGE,
    }))
}

/// The refusal of any change through an identity that did not give the stored answers.
pub fn held_error() -> AppError {
    AppError::Conflict(format!(
        "{HELD_MESSAGE}. Nothing was changed (answers_held)"
    ))
}

/// For `GET /v1/me`: the notice a signed-in employee sees when answers on their record are
/// held; `None` for anyone else (not an employee, or no record).
pub fn notice_for(conn: &mut Conn, principal: &Principal) -> AppResult<Option<HeldAnswers>> {
    if !principal.roles.contains(&crate::auth::Role::Employee) {
        return Ok(None);
    }
    match resolve(conn, principal) {
        Ok(employee) => held_from(conn, &employee, &identity_of(principal)),
        Err(AppError::Forbidden(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
