-- Audit events recorded but not yet chained (decision 0013). On SQLite, which has one writer,
-- every event is chained in the transaction that records it, so this table stays empty; it
-- exists so both backends have one schema. `id` is BIGINT (not a rowid alias) for that parity.
CREATE TABLE audit_pending (
    id BIGINT PRIMARY KEY NOT NULL,
    occurred_at TEXT NOT NULL,
    organisation_id TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT,
    request_id TEXT,
    detail TEXT
);
