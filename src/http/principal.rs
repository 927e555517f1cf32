//! Who is calling. A handler that takes a `Principal` only runs for a caller with a valid
//! bearer token; one that takes `Authorized<R>` states the roles it needs in its signature,
//! and is refused (403) before its body is even parsed.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage as _, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::auth::{bearer_token, AuthError, Principal, Role};
use crate::error::AppError;
use crate::http::AppState;

impl FromRequest for Principal {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await })
    }
}

async fn authenticate(req: &HttpRequest) -> Result<Principal, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::MissingToken)?
        .to_str()
        .map_err(|_| AuthError::InvalidAuthorizationHeader)?;
    let token = bearer_token(header)?;
    // Signature checks are microseconds (HMAC/EdDSA/ECDSA), so they run inline; only an
    // identity provider token naming a key id not yet known waits, for one (shared,
    // rate-limited) fetch of the provider's keys.
    state.auth.authenticate(token).await.map_err(|e| {
        tracing::info!(reason = ?e, "bearer token rejected");
        AppError::from(e)
    })
}

/// A set of roles an endpoint admits.
pub trait RoleSet {
    const ROLES: &'static [Role];
}

/// A caller holding one of `R::ROLES`.
pub struct Authorized<R: RoleSet> {
    pub principal: Principal,
    /// The request's id (from the middleware), so audit events name the request.
    pub request_id: Option<String>,
    roles: std::marker::PhantomData<R>,
}

impl<R: RoleSet> Authorized<R> {
    /// Who the audit trail records for this request.
    pub fn actor(&self) -> crate::services::audit::Actor {
        crate::services::audit::Actor::of(&self.principal, self.request_id.clone())
    }
}

impl<R: RoleSet> FromRequest for Authorized<R> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let principal = authenticate(&req).await?;
            principal.require_any(R::ROLES)?;
            Ok(Authorized {
                principal,
                request_id: req
                    .extensions()
                    .get::<crate::http::middleware::RequestId>()
                    .map(|r| r.0.clone()),
                roles: std::marker::PhantomData,
            })
        })
    }
}

/// Any authenticated caller, whatever their role (the endpoint still states it).
pub struct AnyRole;
impl RoleSet for AnyRole {
    const ROLES: &'static [Role] = &Role::ALL;
}

/// Those who edit and publish an organisation's question catalogue.
pub struct CatalogueEditors;
impl RoleSet for CatalogueEditors {
    const ROLES: &'static [Role] = &[Role::HrAdmin, Role::Admin];
}

/// Administrators (of an organisation or of the deployment).
pub struct Admins;
impl RoleSet for Admins {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// Auditors of an organisation.
pub struct Auditors;
impl RoleSet for Auditors {
    const ROLES: &'static [Role] = &[Role::Auditor];
}

/// Who may change the workforce and its structure: HR staff and HR systems.
pub struct WorkforceWriters;
impl RoleSet for WorkforceWriters {
    const ROLES: &'static [Role] = &[Role::HrAdmin, Role::HrSync];
}

/// Who may read workforce records (never answers): the same people who keep them.
pub struct WorkforceReaders;
impl RoleSet for WorkforceReaders {
    const ROLES: &'static [Role] = &[Role::HrAdmin, Role::HrSync];
}

/// Staff declaring for themselves. Only the `employee` role: HR, EDI, HR systems, auditors
/// and administrators never reach anyone's answers, and no self-service endpoint takes an id.
pub struct Employees;
impl RoleSet for Employees {
    const ROLES: &'static [Role] = &[Role::Employee];
}

/// Who sees which employees are due an annual review (never what they answered).
pub struct ReviewReaders;
impl RoleSet for ReviewReaders {
    const ROLES: &'static [Role] = &[Role::HrAdmin];
}

/// The organisation a workforce caller acts for. HR roles are always bound to one; this
/// refuses rather than guesses if a token somehow is not.
pub fn own_organisation(principal: &Principal) -> Result<uuid::Uuid, AppError> {
    principal
        .org_id
        .ok_or_else(|| AuthError::WrongOrganisation.into())
}

/// Readers of anonymised figures only: EDI board members and analysts of one organisation,
/// and national viewers (deployment-wide), who name the organisation they read.
pub struct FigureViewers;
impl RoleSet for FigureViewers {
    const ROLES: &'static [Role] = &[Role::EdiViewer, Role::NationalViewer];
}
