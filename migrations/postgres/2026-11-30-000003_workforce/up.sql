-- Organisation structure and the workforce an HR system syncs. No protected characteristic
-- lives in these tables (they are kept apart from declarations on purpose).
CREATE TABLE org_units (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_id TEXT REFERENCES org_units (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (organisation_id, code)
);
CREATE INDEX org_units_parent ON org_units (parent_id);

CREATE TABLE staff_types (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (organisation_id, code)
);

CREATE TABLE ranks (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    sort_order BIGINT NOT NULL,
    staff_type_id TEXT REFERENCES staff_types (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (organisation_id, code)
);

-- Dates are ISO 8601 text (YYYY-MM-DD) on both backends: they sort and compare correctly and
-- keep the schema to the portable types.
CREATE TABLE employees (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    employee_number TEXT NOT NULL,
    external_subject TEXT,
    org_unit_id TEXT NOT NULL REFERENCES org_units (id),
    staff_type_id TEXT NOT NULL REFERENCES staff_types (id),
    rank_id TEXT REFERENCES ranks (id),
    fte DOUBLE PRECISION NOT NULL,
    start_date TEXT NOT NULL,
    leave_date TEXT,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (organisation_id, employee_number),
    UNIQUE (organisation_id, external_subject)
);
CREATE INDEX employees_org_unit ON employees (org_unit_id);

-- A completed bulk sync, so a retried upload with the same Idempotency-Key is answered from
-- here instead of being applied twice.
CREATE TABLE sync_requests (
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organisation_id, idempotency_key)
);
