//! `GET /v1/me`: who the caller is, as the service sees them.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Principal, PrincipalKind, Role};
use crate::error::AppResult;
use crate::http::AppState;
use crate::services::subject::HeldAnswers;

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub subject: String,
    #[schema(value_type = String)]
    pub kind: PrincipalKind,
    pub organisation_id: Option<Uuid>,
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<Role>,
    pub employee_id: Option<Uuid>,
    /// Present when answers on the caller's employee record were given through another
    /// sign-in and are held out of this one's reach (the sign-in linked to the record changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_answers: Option<HeldAnswers>,
}

/// Describes the authenticated caller.
#[utoipa::path(tag = "auth", operation_id = "get_me", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401)))]
#[get("/me")]
pub async fn get_me(principal: Principal, state: web::Data<AppState>) -> AppResult<web::Json<Me>> {
    let held_answers = crate::services::identity::held_notice(&state.db, principal.clone()).await?;
    Ok(web::Json(Me {
        subject: principal.subject,
        kind: principal.kind,
        organisation_id: principal.org_id,
        roles: principal.roles,
        employee_id: principal.employee_id,
        held_answers,
    }))
}
