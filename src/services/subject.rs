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
