-- Frozen copies of an organisation's tallies, with the structure and catalogue version needed
-- to reproduce the same figures later. One row per organisation and period (`2027-03-31`,
-- `2027-04`): the unique key is what makes taking a snapshot idempotent. Rows are never
-- updated; the tallies and structure are one ciphertext bound to the snapshot's id.
CREATE TABLE stats_snapshots (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    period TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_on TEXT NOT NULL,
    taken_at TIMESTAMP NOT NULL,
    label TEXT,
    catalogue_version_id TEXT NOT NULL REFERENCES catalogue_versions (id),
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    UNIQUE (organisation_id, period)
);
