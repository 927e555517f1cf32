-- Consent and self-declaration (issue 5; docs/decisions/0005). Answers and their history are
-- stored only sealed (AEAD, key id beside each ciphertext): no answer value is ever a column.
CREATE TABLE privacy_notices (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    version BIGINT NOT NULL,
    text_en TEXT NOT NULL,
    text_cy TEXT NOT NULL,
    lawful_basis TEXT NOT NULL,
    published_at TIMESTAMP NOT NULL,
    UNIQUE (organisation_id, version)
);

-- One row per employee, purpose and notice version agreed to; withdrawal stamps withdrawn_at.
CREATE TABLE consents (
    employee_id TEXT NOT NULL REFERENCES employees (id),
    purpose TEXT NOT NULL,
    notice_version BIGINT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP,
    PRIMARY KEY (employee_id, purpose, notice_version)
);

CREATE TABLE declarations (
    employee_id TEXT PRIMARY KEY NOT NULL REFERENCES employees (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    catalogue_version_id TEXT NOT NULL REFERENCES catalogue_versions (id),
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    version BIGINT NOT NULL,
    last_reviewed_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX declarations_by_organisation ON declarations (organisation_id, last_reviewed_at);
CREATE INDEX declarations_by_key ON declarations (key_id);

CREATE TABLE declaration_history (
    id TEXT PRIMARY KEY NOT NULL,
    employee_id TEXT NOT NULL REFERENCES employees (id),
    seq BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    UNIQUE (employee_id, seq)
);
CREATE INDEX declaration_history_by_key ON declaration_history (key_id);
