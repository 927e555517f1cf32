//! The one logical schema both backends share. Portable types only: ids as `Text` (UUIDs),
//! naive UTC `Timestamp`, `BigInt`, `Bool`, `Binary`. Both migration folders must produce
//! exactly these tables and columns; `tests/api/schema_parity.rs` checks it.

diesel::table! {
    organisations (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}
