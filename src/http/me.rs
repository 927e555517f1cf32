//! `GET /v1/me`: who the caller is, as the service sees them.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Principal, PrincipalKind, Role};

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub subject: String,
    #[schema(value_type = String)]
    pub kind: PrincipalKind,
    pub organisation_id: Option<Uuid>,
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<Role>,
    pub employee_id: Option<Uuid>,
}

/// Describes the authenticated caller.
#[utoipa::path(tag = "auth", operation_id = "get_me", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401)))]
#[get("/me")]
pub async fn get_me(principal: Principal) -> web::Json<Me> {
    web::Json(Me {
        subject: principal.subject,
        kind: principal.kind,
        organisation_id: principal.org_id,
        roles: principal.roles,
        employee_id: principal.employee_id,
    })
}
