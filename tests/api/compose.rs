//! docker-compose.yml and .env.example agree with what `config.rs` reads. There is no Docker
//! engine here, so the file is checked by reading it.

use std::collections::BTreeSet;

use declare::config::{SECRET_VARIABLES, VARIABLES};

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{}/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn service_environment(compose: &serde_norway::Value, service: &str) -> BTreeSet<String> {
    let env = &compose["services"][service]["environment"];
    match env {
        serde_norway::Value::Mapping(map) => map
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
        serde_norway::Value::Sequence(list) => list
            .iter()
            .filter_map(|v| {
                v.as_str()
                    .and_then(|s| s.split('=').next())
                    .map(str::to_owned)
            })
            .collect(),
        _ => panic!("services.{service}.environment missing"),
    }
}

/// `${NAME...}` references in a text.
fn interpolated(text: &str) -> BTreeSet<String> {
    text.split("${")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn compose_service_environment_is_what_config_reads() {
    let text = read("docker-compose.yml");
    let compose: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let names = service_environment(&compose, "declare");
    let mut known: BTreeSet<String> = VARIABLES.iter().map(|v| v.name.to_owned()).collect();
    known.extend(SECRET_VARIABLES.iter().map(|name| format!("{name}_FILE")));
    for name in &names {
        assert!(
            known.contains(name.as_str()),
            "docker-compose sets {name}, which config.rs does not read"
        );
    }
    // Production refuses to start without these, so compose must pass them, as files.
    assert!(names.contains("DECLARE_ENV"));
    let environment = &compose["services"]["declare"]["environment"];
    let service_secrets: BTreeSet<&str> = compose["services"]["declare"]["secrets"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    for required in [
        "DECLARE_DATABASE_URL",
        "DECLARE_TOKEN_SIGNING_KEY",
        "DECLARE_ENCRYPTION_KEY",
    ] {
        assert!(
            !names.contains(required),
            "{required} is a secret: compose passes it as {required}_FILE"
        );
        let path = environment[format!("{required}_FILE").as_str()]
            .as_str()
            .unwrap_or_else(|| panic!("docker-compose does not set {required}_FILE"));
        let secret = path.strip_prefix("/run/secrets/").unwrap();
        assert!(service_secrets.contains(secret), "{secret} is not mounted");
        assert!(compose["secrets"][secret]["file"].is_string(), "{secret}");
    }
    assert_eq!(environment["DECLARE_ENV"].as_str(), Some("production"));
    assert!(compose["services"]["postgres"]["healthcheck"].is_mapping());
    assert!(compose["volumes"]["pgdata"].is_null() || compose["volumes"]["pgdata"].is_mapping());
}

/// The service container runs read-only, with no capabilities and no way to gain privileges,
/// and the image it runs is built from bases pinned by digest, as a non-root user, with a
/// health check and its dependencies in a layer of their own (decision 0026).
#[test]
fn the_container_is_hardened() {
    let compose: serde_norway::Value = serde_norway::from_str(&read("docker-compose.yml")).unwrap();
    let service = &compose["services"]["declare"];
    assert_eq!(service["read_only"].as_bool(), Some(true));
    assert_eq!(
        service["cap_drop"].as_sequence().unwrap()[0].as_str(),
        Some("ALL")
    );
    assert!(service.get("cap_add").is_none());
    assert!(service["tmpfs"].as_sequence().unwrap()[0]
        .as_str()
        .unwrap()
        .starts_with("/tmp"));
    for name in ["declare", "postgres"] {
        let options = compose["services"][name]["security_opt"]
            .as_sequence()
            .unwrap();
        assert!(
            options
                .iter()
                .any(|o| o.as_str() == Some("no-new-privileges:true")),
            "{name}"
        );
    }

    let dockerfile = read("Dockerfile");
    let froms: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2);
    for from in froms {
        let image = from.split_whitespace().nth(1).unwrap();
        let digest = image.split_once("@sha256:").map(|(_, d)| d).unwrap_or("");
        assert!(
            digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()),
            "{from} is not pinned by digest"
        );
    }
    let at = |needle: &str| {
        dockerfile
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}"))
    };
    assert!(at("COPY Cargo.toml Cargo.lock ./") < at("COPY . ."));
    assert!(dockerfile.contains("\nUSER 10001\n"));
    assert!(dockerfile.contains("HEALTHCHECK "));
    assert!(read(".dockerignore").lines().any(|l| l.trim() == "secrets"));
    assert!(read(".gitignore").lines().any(|l| l.trim() == "/secrets"));
}

#[test]
fn every_secret_compose_interpolates_is_in_env_example() {
    let example: BTreeSet<String> = read(".env.example")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
        .collect();
    for name in interpolated(&read("docker-compose.yml")) {
        assert!(example.contains(&name), ".env.example lacks {name}");
    }
    assert!(
        read(".gitignore").lines().any(|l| l.trim() == ".env"),
        ".env must be git-ignored"
    );
}

#[test]
fn readme_documents_every_variable() {
    let readme = read("README.md");
    for variable in VARIABLES {
        assert!(
            readme.contains(variable.name),
            "README.md does not document {}",
            variable.name
        );
    }
}
