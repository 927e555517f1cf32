//! Reads the live schema back from the database, so tests can prove both backends agree.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

use super::{Conn, StoreResult};

/// One column as the database reports it, with its type folded to a portable family.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Column {
    pub table: String,
    pub column: String,
    pub family: &'static str,
    pub nullable: bool,
}

#[derive(QueryableByName)]
struct RawColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    nullable: i32,
}

/// Every user table's columns (migration bookkeeping excluded), sorted.
pub fn columns(conn: &mut Conn) -> StoreResult<Vec<Column>> {
    let raw: Vec<RawColumn> = match conn {
        Conn::Postgres(c) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
             data_type::text AS data_type, CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END AS nullable \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name NOT LIKE '\\_\\_%'",
        )
        .load(c)?,
        Conn::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
             CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 0 ELSE 1 END AS nullable \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE '\\_\\_%' ESCAPE '\\' AND m.name NOT LIKE 'sqlite_%'",
        )
        .load(&mut **c)?,
    };
    let mut columns: Vec<Column> = raw
        .into_iter()
        .map(|r| Column {
            family: family(&r.data_type),
            table: r.table_name,
            column: r.column_name,
            nullable: r.nullable == 1,
        })
        .collect();
    columns.sort();
    Ok(columns)
}

/// Folds backend type names into the families the portable schema uses.
fn family(data_type: &str) -> &'static str {
    let t = data_type.to_ascii_lowercase();
    match t.as_str() {
        "text" | "character varying" | "varchar" => "text",
        "integer" | "int" | "int4" => "integer",
        "bigint" | "int8" => "bigint",
        "boolean" | "bool" => "bool",
        "bytea" | "blob" | "binary" => "binary",
        "double precision" | "real" | "double" | "float8" => "double",
        t if t.starts_with("timestamp") => "timestamp",
        _ => "other",
    }
}
