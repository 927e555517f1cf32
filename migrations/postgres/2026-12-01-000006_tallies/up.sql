-- Aggregate counts per cell (org unit x staff type x rank), sealed: a small cell is personal
-- data. One row per occupied cell; what it counts is inside the ciphertext.
CREATE TABLE tallies (
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    cell TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organisation_id, cell)
);
