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
