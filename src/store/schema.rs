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

diesel::table! {
    accounts (id) {
        id -> Text,
        organisation_id -> Nullable<Text>,
        username -> Text,
        password_hash -> Text,
        roles -> Text,
        employee_id -> Nullable<Text>,
        disabled -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_clients (id) {
        id -> Text,
        organisation_id -> Text,
        client_id -> Text,
        name -> Text,
        secret_hash -> Text,
        roles -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    org_units (id) {
        id -> Text,
        organisation_id -> Text,
        code -> Text,
        name -> Text,
        kind -> Text,
        parent_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staff_types (id) {
        id -> Text,
        organisation_id -> Text,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ranks (id) {
        id -> Text,
        organisation_id -> Text,
        code -> Text,
        name -> Text,
        sort_order -> BigInt,
        staff_type_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    employees (id) {
        id -> Text,
        organisation_id -> Text,
        employee_number -> Text,
        external_subject -> Nullable<Text>,
        org_unit_id -> Text,
        staff_type_id -> Text,
        rank_id -> Nullable<Text>,
        fte -> Double,
        start_date -> Text,
        leave_date -> Nullable<Text>,
        updated_at -> Timestamp,
        scim_deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sync_requests (organisation_id, idempotency_key) {
        organisation_id -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        response -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(accounts -> organisations (organisation_id));
diesel::joinable!(api_clients -> organisations (organisation_id));
diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    accounts,
    api_clients,
    org_units,
    staff_types,
    ranks,
    employees,
    sync_requests
);

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        occurred_at -> Text,
        organisation_id -> Nullable<Text>,
        actor -> Text,
        action -> Text,
        subject -> Nullable<Text>,
        request_id -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    /// Events recorded but not yet chained into `audit_events` (decision 0013).
    audit_pending (id) {
        id -> BigInt,
        occurred_at -> Text,
        organisation_id -> Nullable<Text>,
        actor -> Text,
        action -> Text,
        subject -> Nullable<Text>,
        request_id -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    catalogue_versions (id) {
        id -> Text,
        organisation_id -> Text,
        version_number -> BigInt,
        label -> Text,
        status -> Text,
        document -> Text,
        etag -> Text,
        created_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(catalogue_versions -> organisations (organisation_id));
diesel::allow_tables_to_appear_in_same_query!(organisations, catalogue_versions);

diesel::table! {
    tally_state (organisation_id) {
        organisation_id -> Text,
        counted_on -> Text,
    }
}

diesel::table! {
    tallies (organisation_id, cell) {
        organisation_id -> Text,
        cell -> Text,
        key_id -> Text,
        sealed -> Binary,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    privacy_notices (id) {
        id -> Text,
        organisation_id -> Text,
        version -> BigInt,
        text_en -> Text,
        text_cy -> Text,
        lawful_basis -> Text,
        published_at -> Timestamp,
    }
}

diesel::table! {
    consents (employee_id, purpose, notice_version) {
        employee_id -> Text,
        purpose -> Text,
        notice_version -> BigInt,
        granted_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    declarations (employee_id) {
        employee_id -> Text,
        organisation_id -> Text,
        catalogue_version_id -> Text,
        key_id -> Text,
        sealed -> Binary,
        version -> BigInt,
        last_reviewed_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    declaration_history (id) {
        id -> Text,
        employee_id -> Text,
        seq -> BigInt,
        key_id -> Text,
        sealed -> Binary,
        changed_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(employees, declarations);
diesel::allow_tables_to_appear_in_same_query!(org_units, declarations);

diesel::table! {
    stats_snapshots (id) {
        id -> Text,
        organisation_id -> Text,
        period -> Text,
        kind -> Text,
        due_on -> Text,
        taken_at -> Timestamp,
        label -> Nullable<Text>,
        catalogue_version_id -> Text,
        key_id -> Text,
        sealed -> Binary,
    }
}

diesel::table! {
    noise_secrets (organisation_id) {
        organisation_id -> Text,
        key_id -> Text,
        sealed -> Binary,
    }
}

diesel::table! {
    /// The sign-in identity that gave an employee's current answers (decision 0017).
    declaration_owners (employee_id) {
        employee_id -> Text,
        identity -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    /// One sealed data key per person (decision 0019).
    person_keys (employee_id) {
        employee_id -> Text,
        organisation_id -> Text,
        key_id -> Text,
        sealed -> Binary,
        created_at -> Timestamp,
        leaf -> Nullable<BigInt>,
    }
}

diesel::table! {
    pending_punctures (leaf) {
        leaf -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    key_store_binding (id) {
        id -> Integer,
        store_id -> Text,
    }
}

diesel::table! {
    /// Failed sign-ins per throttle key, shared by every instance (decisions 0018, 0022).
    login_failures (throttle_key) {
        throttle_key -> Text,
        failures -> BigInt,
        last_failure_ms -> BigInt,
    }
}

diesel::table! {
    /// The recent addresses each account signed in from (decisions 0018, 0022).
    login_known_addresses (account, address) {
        account -> Text,
        address -> Text,
        seen_ms -> BigInt,
    }
}
