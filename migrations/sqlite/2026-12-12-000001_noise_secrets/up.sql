-- Each organisation's perturbation secret (decision 0016): 32 random bytes, sealed by the
-- service key and bound to the organisation. Every person's record key and every cell key of
-- the published figures derive from it, so it is created once and never changes; key rotation
-- re-seals it with the same content.
CREATE TABLE noise_secrets (
    organisation_id TEXT PRIMARY KEY NOT NULL REFERENCES organisations (id),
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL
);
