//! docker-compose.yml and .env.example agree with what `config.rs` reads. There is no Docker
//! engine here, so the file is checked by reading it.

use std::collections::BTreeSet;

use declare::config::VARIABLES;

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
    let known: BTreeSet<&str> = VARIABLES.iter().map(|v| v.name).collect();
    for name in &names {
        assert!(
            known.contains(name.as_str()),
            "docker-compose sets {name}, which config.rs does not read"
        );
    }
    // Production refuses to start without these, so compose must pass them.
    for required in [
        "DECLARE_ENV",
        "DECLARE_DATABASE_URL",
        "DECLARE_TOKEN_SIGNING_KEY",
        "DECLARE_ENCRYPTION_KEY",
    ] {
        assert!(
            names.contains(required),
            "docker-compose does not set {required}"
        );
    }
    assert_eq!(
        compose["services"]["declare"]["environment"]["DECLARE_ENV"].as_str(),
        Some("production")
    );
    let url = compose["services"]["declare"]["environment"]["DECLARE_DATABASE_URL"]
        .as_str()
        .unwrap();
    assert!(url.starts_with("postgres://"));
    assert!(compose["services"]["postgres"]["healthcheck"].is_mapping());
    assert!(compose["volumes"]["pgdata"].is_null() || compose["volumes"]["pgdata"].is_mapping());
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
