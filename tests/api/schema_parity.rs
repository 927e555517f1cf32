//! Both migration sets produce the same tables and columns, and every migration reverts.

use crate::helpers::{Backend, TestDatabase};
use declare::store::{introspect, Database};

fn migrated_columns(db: &TestDatabase) -> Vec<introspect::Column> {
    let database = Database::connect(&db.url, 1).unwrap();
    database.migrate().unwrap();
    let mut conn = database.get(std::time::Duration::from_secs(5)).unwrap();
    introspect::columns(&mut conn).unwrap()
}

#[test]
fn sqlite_and_postgres_have_the_same_tables_and_columns() {
    let sqlite = migrated_columns(&TestDatabase::new(Backend::Sqlite));
    let postgres = migrated_columns(&TestDatabase::new(Backend::Postgres));
    assert!(!sqlite.is_empty());
    assert!(
        sqlite.iter().all(|c| c.family != "other"),
        "unportable column type: {sqlite:?}"
    );
    let only_sqlite: Vec<_> = sqlite.iter().filter(|c| !postgres.contains(c)).collect();
    let only_postgres: Vec<_> = postgres.iter().filter(|c| !sqlite.contains(c)).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "schemas differ\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_postgres:#?}"
    );
}

#[test]
fn every_migration_reverts_cleanly_and_reapplies() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDatabase::new(backend);
        let database = Database::connect(&db.url, 1).unwrap();
        let applied = database.migrate().unwrap();
        let reverted = database.revert_all().unwrap();
        assert_eq!(applied.len(), reverted.len(), "{backend:?}");
        let mut conn = database.get(std::time::Duration::from_secs(5)).unwrap();
        assert!(
            introspect::columns(&mut conn).unwrap().is_empty(),
            "{backend:?}: tables left after revert"
        );
        drop(conn);
        assert_eq!(
            database.migrate().unwrap().len(),
            applied.len(),
            "{backend:?}"
        );
    }
}

/// Diesel keys migrations by the version before the first `_`: two folders with one version
/// means one is silently never applied (it happened once: two branches both took the same date).
#[test]
fn migration_versions_are_unique_and_the_same_for_both_backends() {
    let names = |backend: &str| {
        let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let sqlite = names("sqlite");
    assert_eq!(
        sqlite,
        names("postgres"),
        "both backends need the same migration folders"
    );
    let mut versions: Vec<&str> = sqlite
        .iter()
        .map(|n| n.split('_').next().unwrap())
        .collect();
    let count = versions.len();
    versions.dedup();
    assert_eq!(
        versions.len(),
        count,
        "two migrations share a version: {sqlite:?}"
    );
}
