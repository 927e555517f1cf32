//! The `declare` command line in the environment the service runs in.

use crate::helpers::{cli_with_env, spawn_app};
use crate::on_both_backends;

const JWKS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/auth/testdata/idp_jwks.json"
);

on_both_backends! {
    async fn admin_and_audit_commands_run_with_the_identity_provider_configured(backend) {
        let app = spawn_app(backend).await;
        // The service's environment on a fresh install: the IdP's organisation does not exist
        // yet, and `create-org` is how it comes to exist.
        let env = [
            ("DECLARE_IDP_ISSUER", "https://idp.north-wales.test"),
            ("DECLARE_IDP_JWKS_FILE", JWKS),
            ("DECLARE_IDP_ORGANISATION", "north-wales"),
        ];
        let run = |args: &[&str]| {
            let (ok, out) = cli_with_env(&app, args, &env);
            assert!(ok, "declare {}: {out}", args.join(" "));
            out
        };
        run(&["admin", "create-account", "--username", "root", "--role", "admin"]);
        run(&["admin", "create-org", "--code", "north-wales", "--name", "North Wales Police"]);
        run(&["admin", "create-account", "--username", "hr-lead", "--org", "north-wales", "--role", "hr_admin"]);
        let out = run(&["admin", "create-client", "--org", "north-wales", "--name", "HR system", "--role", "hr_sync"]);
        assert!(out.contains("client_secret"), "{out}");
        let out = run(&["audit", "verify"]);
        assert!(out.contains("audit chain intact"), "{out}");

        // And the service starts with the same settings, now that the organisation exists.
        let mut config = (*app.state.config).clone();
        config.external_idp = Some(declare::config::ExternalIdp {
            issuer: "https://idp.north-wales.test".into(),
            audience: "declare-api".into(),
            algorithms: vec!["RS256".into()],
            subject_claim: "sub".into(),
            keys: declare::config::IdpKeySource::File(JWKS.into()),
        key_refresh: Default::default(),
            organisation: "north-wales".into(),
        });
        assert!(declare::startup::Application::build(config).is_ok());
    }
}
