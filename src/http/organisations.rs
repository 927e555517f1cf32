//! Organisations and their accounts and API clients: the service administrators' endpoints.

use actix_web::{get, post, web, HttpResponse};
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::AppResult;
use crate::http::extract::JsonBody;
use crate::http::principal::{Admins, Authorized};
use crate::http::AppState;
use crate::services::identity::{
    self, AccountView, ClientCredentials, NewAccount, NewClient, OrganisationView,
};

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    /// Stable short code, e.g. `north-wales`.
    pub code: String,
    pub name: String,
}

/// Deployment administrators only: organisation-bound admins manage their own organisation.
fn require_deployment_admin(principal: &Principal) -> AppResult<()> {
    if principal.org_id.is_some() {
        return Err(crate::auth::AuthError::WrongOrganisation.into());
    }
    Ok(())
}

/// An admin of this organisation, or of the deployment.
fn require_org_admin(principal: &Principal, organisation_id: Uuid) -> AppResult<()> {
    Ok(principal.require_org(organisation_id)?)
}

/// Lists the organisations this deployment hosts.
#[utoipa::path(tag = "organisations", operation_id = "list_organisations", security(("bearer" = [])),
    responses((status = 200, body = [OrganisationView]), (status = 401), (status = 403)))]
#[get("/organisations")]
pub async fn list_organisations(
    caller: Authorized<Admins>,
    state: web::Data<AppState>,
) -> AppResult<web::Json<Vec<OrganisationView>>> {
    require_deployment_admin(&caller.principal)?;
    Ok(web::Json(identity::list_organisations(&state.db).await?))
}

/// Creates an organisation (a force).
#[utoipa::path(tag = "organisations", operation_id = "create_organisation", security(("bearer" = [])),
    request_body = NewOrganisation,
    responses((status = 201, body = OrganisationView), (status = 401), (status = 403), (status = 409), (status = 422)))]
#[post("/organisations")]
pub async fn create_organisation(
    caller: Authorized<Admins>,
    state: web::Data<AppState>,
    body: JsonBody<NewOrganisation>,
) -> AppResult<HttpResponse> {
    require_deployment_admin(&caller.principal)?;
    let body = body.parse()?;
    let org =
        identity::create_organisation_by(&state.db, caller.actor(), body.code, body.name).await?;
    Ok(HttpResponse::Created().json(org))
}

/// Creates a local account in an organisation.
#[utoipa::path(tag = "organisations", operation_id = "create_account", security(("bearer" = [])),
    params(("organisation_id" = Uuid, Path)),
    request_body = NewAccount,
    responses((status = 201, body = AccountView), (status = 401), (status = 403), (status = 404),
              (status = 409, description = "The username is taken, or the employee record already has a login"),
              (status = 422, description = "Invalid fields, or an employee record of another organisation")))]
#[post("/organisations/{organisation_id}/accounts")]
pub async fn create_account(
    caller: Authorized<Admins>,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: JsonBody<NewAccount>,
) -> AppResult<HttpResponse> {
    let organisation_id = path.into_inner();
    require_org_admin(&caller.principal, organisation_id)?;
    let account = identity::create_account_by(
        &state.db,
        &state.auth,
        caller.actor(),
        Some(organisation_id),
        body.parse()?,
    )
    .await?;
    Ok(HttpResponse::Created().json(account))
}

/// Creates an API client (e.g. an HR system) and shows its secret once.
#[utoipa::path(tag = "organisations", operation_id = "create_client", security(("bearer" = [])),
    params(("organisation_id" = Uuid, Path)),
    request_body = NewClient,
    responses((status = 201, body = ClientCredentials), (status = 401), (status = 403), (status = 404), (status = 422)))]
#[post("/organisations/{organisation_id}/clients")]
pub async fn create_client(
    caller: Authorized<Admins>,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: JsonBody<NewClient>,
) -> AppResult<HttpResponse> {
    let organisation_id = path.into_inner();
    require_org_admin(&caller.principal, organisation_id)?;
    let client = identity::create_client_by(
        &state.db,
        &state.auth,
        caller.actor(),
        organisation_id,
        body.parse()?,
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("cache-control", "no-store"))
        .json(client))
}
