//! Employee records as HR staff read them: workforce facts only, never any answer.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::store::workforce::{self, Employee};
use crate::store::Database;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmployeeView {
    pub id: Uuid,
    pub employee_number: String,
    pub external_subject: Option<String>,
    pub org_unit_id: Uuid,
    pub staff_type_id: Uuid,
    pub rank_id: Option<Uuid>,
    pub fte: f64,
    pub start_date: String,
    pub leave_date: Option<String>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap_or_default()
}

impl From<Employee> for EmployeeView {
    fn from(e: Employee) -> Self {
        EmployeeView {
            id: uuid(&e.id),
            org_unit_id: uuid(&e.org_unit_id),
            staff_type_id: uuid(&e.staff_type_id),
            rank_id: e.rank_id.as_deref().map(uuid),
            updated_at: e.updated_at.and_utc(),
            employee_number: e.employee_number,
            external_subject: e.external_subject,
            fte: e.fte,
            start_date: e.start_date,
            leave_date: e.leave_date,
        }
    }
}

/// A page of employees; pass `next_after` back as `after` for the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployeePage {
    pub items: Vec<EmployeeView>,
    pub next_after: Option<String>,
}

pub async fn list(
    db: &Database,
    org: Uuid,
    after: Option<String>,
    limit: u32,
) -> AppResult<EmployeePage> {
    let limit = i64::from(limit.clamp(1, 1000));
    let org = org.to_string();
    let rows = db
        .run(move |c| workforce::list_employees(c, &org, after.as_deref(), limit))
        .await?;
    let next_after = if rows.len() as i64 == limit {
        rows.last().map(|e| e.employee_number.clone())
    } else {
        None
    };
    Ok(EmployeePage {
        items: rows.into_iter().map(Into::into).collect(),
        next_after,
    })
}

pub async fn get(db: &Database, org: Uuid, id: Uuid) -> AppResult<EmployeeView> {
    let row = db
        .run(move |c| workforce::find_employee(c, &org.to_string(), &id.to_string()))
        .await
        .map_err(|e| {
            if e.is_not_found() {
                AppError::NotFound("no such employee".into())
            } else {
                e.into()
            }
        })?;
    Ok(row.into())
}
