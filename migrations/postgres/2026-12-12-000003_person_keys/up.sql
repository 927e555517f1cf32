-- One random data key per person, sealed by the service key (its id in key_id); that person's
-- declaration and history are sealed under it (docs/decisions/0019). Erasing a person deletes
-- this row in the same transaction, so every other copy of their ciphertexts (WAL, free
-- pages, dead tuples, backups) no longer opens.
CREATE TABLE person_keys (
    employee_id TEXT PRIMARY KEY NOT NULL REFERENCES employees (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    key_id TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX person_keys_by_organisation ON person_keys (organisation_id);
CREATE INDEX person_keys_by_key ON person_keys (key_id);
