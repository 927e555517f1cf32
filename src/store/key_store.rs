//! The key store: the key tree's cover, in a database of its own so that backups of the main
//! database never hold it (decision 0027). On SQLite it is a file beside the database
//! (`declare.db` -> `declare.keystore`); on PostgreSQL a database of its own
//! (`declare` -> `declare_keystore`), or wherever `DECLARE_KEY_STORE_URL` says.
//!
//! It holds no personal data: node keys, the next leaf number, and the store's identity.

use diesel::prelude::*;

use super::{Conn, Database, StoreError, StoreResult};
use crate::crypto::key_tree::{Node, NodeKey};

diesel::table! {
    key_tree (id) {
        id -> Integer,
        store_id -> Text,
        next_leaf -> BigInt,
    }
}

diesel::table! {
    key_tree_nodes (depth, prefix) {
        depth -> Integer,
        prefix -> BigInt,
        node -> Binary,
    }
}

const SQLITE_TABLES: &str = "\
    CREATE TABLE IF NOT EXISTS key_tree (id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1), \
        store_id TEXT NOT NULL, next_leaf BIGINT NOT NULL); \
    CREATE TABLE IF NOT EXISTS key_tree_nodes (depth INTEGER NOT NULL, prefix BIGINT NOT NULL, \
        node BLOB NOT NULL, PRIMARY KEY (depth, prefix));";

const POSTGRES_TABLES: &str = "\
    CREATE TABLE IF NOT EXISTS key_tree (id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1), \
        store_id TEXT NOT NULL, next_leaf BIGINT NOT NULL); \
    CREATE TABLE IF NOT EXISTS key_tree_nodes (depth INTEGER NOT NULL, prefix BIGINT NOT NULL, \
        node BYTEA NOT NULL, PRIMARY KEY (depth, prefix));";

/// Where the key store of the database at `database_url` lives unless configured.
pub fn default_url(database_url: &str) -> StoreResult<String> {
    if let Some(path) = super::sqlite_path(database_url) {
        let path = std::path::Path::new(path);
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| StoreError::Url(format!("no file name in `{database_url}`")))?;
        return Ok(format!(
            "sqlite://{}",
            path.with_file_name(format!("{stem}.keystore")).display()
        ));
    }
    let (base, query) = match database_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (database_url, None),
    };
    let (server, name) = base
        .rsplit_once('/')
        .filter(|(server, name)| !name.is_empty() && server.contains("://"))
        .ok_or_else(|| StoreError::Url(format!("no database name in `{database_url}`")))?;
    let mut url = format!("{server}/{name}_keystore");
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    Ok(url)
}

/// Creates the PostgreSQL database a key store URL names if it does not exist, connecting
/// through `via` (the main database's URL, on the same server).
pub fn create_postgres_database(via: &str, key_store_url: &str) -> StoreResult<()> {
    use diesel::connection::SimpleConnection as _;
    let Some(name) = key_store_url
        .split('?')
        .next()
        .and_then(|base| base.rsplit_once('/'))
        .map(|(_, name)| name.to_owned())
    else {
        return Ok(());
    };
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Url(format!(
            "the key store's database name `{name}` must be letters, digits and underscores"
        )));
    }
    let mut conn =
        diesel::PgConnection::establish(via).map_err(|e| StoreError::Url(e.to_string()))?;
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let found: Found =
        diesel::sql_query("SELECT COUNT(*) AS n FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(&name)
            .get_result(&mut conn)?;
    if found.n == 0 {
        if let Err(e) = conn.batch_execute(&format!("CREATE DATABASE \"{name}\"")) {
            // Another instance starting at the same moment made it: that is fine.
            let again: Found =
                diesel::sql_query("SELECT COUNT(*) AS n FROM pg_database WHERE datname = $1")
                    .bind::<diesel::sql_types::Text, _>(&name)
                    .get_result(&mut conn)?;
            if again.n == 0 {
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// Creates the tables if absent, and the tree with `root` as its only node if there is none
/// yet. Returns the store's identity (made once, with the tree).
pub fn initialise(db: &Database, root: &NodeKey) -> StoreResult<String> {
    use diesel::connection::SimpleConnection as _;
    let mut conn = db.get(std::time::Duration::from_secs(30))?;
    match &mut conn {
        Conn::Postgres(c) => c.batch_execute(POSTGRES_TABLES)?,
        Conn::Sqlite(c) => c.batch_execute(SQLITE_TABLES)?,
    }
    conn.transaction(|conn| {
        let store_id = uuid::Uuid::new_v4().to_string();
        let made = crate::with_conn!(conn, |c| diesel::insert_into(key_tree::table)
            .values((
                key_tree::id.eq(1),
                key_tree::store_id.eq(&store_id),
                key_tree::next_leaf.eq(0i64),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        if made == 1 {
            crate::with_conn!(conn, |c| diesel::insert_into(key_tree_nodes::table)
                .values((
                    key_tree_nodes::depth.eq(0),
                    key_tree_nodes::prefix.eq(0i64),
                    key_tree_nodes::node.eq(root.as_slice()),
                ))
                .execute(c))?;
        }
        Ok(crate::with_conn!(conn, |c| key_tree::table
            .select(key_tree::store_id)
            .first::<String>(c))?)
    })
}

/// Hands out `count` leaf numbers no one has had: the first of them.
pub fn reserve_leaves(conn: &mut Conn, count: i64) -> StoreResult<i64> {
    conn.transaction(|conn| {
        // The update first: it takes the row's write lock, so two processes never read the same
        // number.
        crate::with_conn!(conn, |c| diesel::update(key_tree::table)
            .set(key_tree::next_leaf.eq(key_tree::next_leaf + count))
            .execute(c))?;
        let next: i64 = crate::with_conn!(conn, |c| key_tree::table
            .select(key_tree::next_leaf)
            .first(c))?;
        Ok(next - count)
    })
}

fn to_node(depth: i32, prefix: i64, key: Vec<u8>) -> StoreResult<(Node, NodeKey)> {
    let corrupt = || StoreError::Corrupt("a key tree node".into());
    Ok((
        Node {
            depth: u8::try_from(depth).map_err(|_| corrupt())?,
            prefix: u64::try_from(prefix).map_err(|_| corrupt())?,
        },
        key.try_into().map_err(|_| corrupt())?,
    ))
}

/// The whole cover (every node left).
pub fn cover(conn: &mut Conn) -> StoreResult<Vec<(Node, NodeKey)>> {
    let rows: Vec<(i32, i64, Vec<u8>)> = crate::with_conn!(conn, |c| key_tree_nodes::table
        .select((
            key_tree_nodes::depth,
            key_tree_nodes::prefix,
            key_tree_nodes::node
        ))
        .load(c))?;
    rows.into_iter().map(|(d, p, k)| to_node(d, p, k)).collect()
}

fn node_id(node: Node) -> StoreResult<(i32, i64)> {
    Ok((
        i32::from(node.depth),
        i64::try_from(node.prefix).map_err(|_| StoreError::Corrupt("a node prefix".into()))?,
    ))
}

/// The node of the cover that covers `leaf`, if any is left.
pub fn covering(conn: &mut Conn, leaf: u64) -> StoreResult<Option<(Node, NodeKey)>> {
    for node in crate::crypto::key_tree::path(leaf) {
        let (depth, prefix) = node_id(node)?;
        let found: Option<Vec<u8>> = crate::with_conn!(conn, |c| key_tree_nodes::table
            .find((depth, prefix))
            .select(key_tree_nodes::node)
            .first(c)
            .optional())?;
        if let Some(key) = found {
            return to_node(depth, prefix, key).map(Some);
        }
    }
    Ok(None)
}

/// Replaces `node` by `siblings`, in the caller's transaction. 0 when another process
/// replaced it first (the caller starts again).
pub fn replace(conn: &mut Conn, node: Node, siblings: &[(Node, NodeKey)]) -> StoreResult<usize> {
    let (depth, prefix) = node_id(node)?;
    let gone = crate::with_conn!(conn, |c| diesel::delete(
        key_tree_nodes::table.find((depth, prefix))
    )
    .execute(c))?;
    if gone == 0 {
        return Ok(0);
    }
    for (sibling, key) in siblings {
        let (depth, prefix) = node_id(*sibling)?;
        crate::with_conn!(conn, |c| diesel::insert_into(key_tree_nodes::table)
            .values((
                key_tree_nodes::depth.eq(depth),
                key_tree_nodes::prefix.eq(prefix),
                key_tree_nodes::node.eq(key.as_slice()),
            ))
            .execute(c))?;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_store_sits_beside_the_database_never_in_it() {
        assert_eq!(
            default_url("sqlite:///var/lib/declare/declare.db").unwrap(),
            "sqlite:///var/lib/declare/declare.keystore"
        );
        assert_eq!(
            default_url("data/declare.db").unwrap(),
            "sqlite://data/declare.keystore"
        );
        assert_eq!(
            default_url("postgres://u:p@db:5432/declare?sslmode=require").unwrap(),
            "postgres://u:p@db:5432/declare_keystore?sslmode=require"
        );
        assert!(default_url("postgres://db:5432/").is_err());
    }
}
