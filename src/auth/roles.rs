//! Roles and the authenticated [`Principal`]. All role checks go through
//! [`Principal::require_any`] (and [`Principal::require_org`] for tenancy), so a reader can
//! audit who may do what by searching for one name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::AuthError;

/// What a principal may do. Serialised in `snake_case` (`hr_admin`), in tokens and JSON.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Declares their own characteristics.
    Employee,
    /// Manages employees and sees whether reviews are due; never answers.
    HrAdmin,
    /// An HR system syncing the workforce.
    HrSync,
    /// Reads disclosure-controlled figures for one organisation.
    EdiViewer,
    /// Reads the audit trail.
    Auditor,
    /// Administers an organisation, or the deployment when not bound to one.
    Admin,
    /// Reads disclosure-controlled figures across organisations.
    NationalViewer,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 7] = [
        Role::Employee,
        Role::HrAdmin,
        Role::HrSync,
        Role::EdiViewer,
        Role::Auditor,
        Role::Admin,
        Role::NationalViewer,
    ];

    /// The wire name (`hr_admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Employee => "employee",
            Role::HrAdmin => "hr_admin",
            Role::HrSync => "hr_sync",
            Role::EdiViewer => "edi_viewer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::NationalViewer => "national_viewer",
        }
    }

    /// Roles that may be held without an organisation (deployment-wide).
    pub fn may_be_unscoped(self) -> bool {
        matches!(self, Role::Admin | Role::NationalViewer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// How the principal authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A local account (password grant).
    User,
    /// An API client such as an HR system (client-credentials grant).
    Client,
    /// A member of staff signed in through the external identity provider.
    External,
}

/// Who is calling, as established by a verified token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Account id, client id or external subject: stable, not secret, not a name.
    pub subject: String,
    /// The organisation the principal acts for; `None` only for deployment-wide
    /// principals, whose roles all satisfy [`Role::may_be_unscoped`].
    pub org_id: Option<Uuid>,
    pub roles: Vec<Role>,
    /// The employee record this principal declares for, if any.
    pub employee_id: Option<Uuid>,
    pub kind: PrincipalKind,
}

impl Principal {
    /// True when the principal holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Ok when the principal holds at least one of `roles`; an empty list admits nobody.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), AuthError> {
        if roles.iter().any(|r| self.has_role(*r)) {
            Ok(())
        } else {
            Err(AuthError::InsufficientRole)
        }
    }

    /// Ok when the principal may act on data of organisation `org`: it is bound to `org`,
    /// or it is deployment-wide (no organisation). Combine with [`Self::require_any`].
    pub fn require_org(&self, org: Uuid) -> Result<(), AuthError> {
        match self.org_id {
            None => Ok(()),
            Some(own) if own == org => Ok(()),
            Some(_) => Err(AuthError::WrongOrganisation),
        }
    }

    /// The tenancy invariant: a principal without an organisation may hold only
    /// deployment-wide roles, and must hold at least one role.
    pub fn is_well_formed(&self) -> bool {
        !self.subject.is_empty()
            && !self.roles.is_empty()
            && (self.org_id.is_some() || self.roles.iter().all(|r| r.may_be_unscoped()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn principal(org: Option<Uuid>, roles: &[Role]) -> Principal {
        Principal {
            subject: "u-1".into(),
            org_id: org,
            roles: roles.to_vec(),
            employee_id: None,
            kind: PrincipalKind::User,
        }
    }

    #[test]
    fn role_names_round_trip_through_str_display_and_serde() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>().unwrap(), role);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert_eq!("hr_admin".parse::<Role>().unwrap(), Role::HrAdmin);
        assert_eq!(
            "HrAdmin".parse::<Role>(),
            Err(UnknownRole("HrAdmin".into()))
        );
        assert!(serde_json::from_str::<Role>("\"root\"").is_err());
    }

    #[test]
    fn kind_serialises_snake_case() {
        assert_eq!(
            serde_json::to_string(&PrincipalKind::External).unwrap(),
            "\"external\""
        );
    }

    #[test]
    fn require_any_admits_holders_of_any_listed_role() {
        let p = principal(Some(Uuid::new_v4()), &[Role::HrAdmin, Role::Auditor]);
        assert!(p.has_role(Role::Auditor));
        assert!(!p.has_role(Role::Admin));
        assert_eq!(p.require_any(&[Role::Admin, Role::Auditor]), Ok(()));
        assert_eq!(
            p.require_any(&[Role::Admin, Role::EdiViewer]),
            Err(AuthError::InsufficientRole)
        );
        assert_eq!(p.require_any(&[]), Err(AuthError::InsufficientRole));
    }

    #[test]
    fn require_org_keeps_tenants_apart() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let p = principal(Some(a), &[Role::HrAdmin]);
        assert_eq!(p.require_org(a), Ok(()));
        assert_eq!(p.require_org(b), Err(AuthError::WrongOrganisation));
        let national = principal(None, &[Role::NationalViewer]);
        assert_eq!(national.require_org(b), Ok(()));
    }

    #[test]
    fn unscoped_principals_hold_only_deployment_roles() {
        assert!(principal(None, &[Role::NationalViewer, Role::Admin]).is_well_formed());
        assert!(!principal(None, &[Role::Employee]).is_well_formed());
        assert!(!principal(Some(Uuid::new_v4()), &[]).is_well_formed());
        assert!(principal(Some(Uuid::new_v4()), &[Role::Employee]).is_well_formed());
    }
}
