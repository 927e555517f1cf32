-- Append-only audit trail, hash-chained (see src/domain/audit.rs). Never holds answer values.
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY NOT NULL,
    occurred_at TEXT NOT NULL,
    organisation_id TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT,
    request_id TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_by_organisation ON audit_events (organisation_id, seq);
CREATE INDEX audit_events_by_subject ON audit_events (subject, seq);
