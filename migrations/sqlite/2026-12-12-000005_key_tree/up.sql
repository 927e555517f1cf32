-- The leaf of the key tree each person key is also sealed under (decision 0027). The tree's
-- cover lives in the key store, outside this database; NULL for keys from before it, which
-- `declare admin rotate-key` moves under a leaf.
ALTER TABLE person_keys ADD COLUMN leaf BIGINT;
-- Leaves of erased people whose puncture in the key store has not yet been confirmed: written
-- in the erasure's transaction, so a crash between the commit and the puncture is finished at
-- the next start. Leaf numbers only.
CREATE TABLE pending_punctures (
    leaf BIGINT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- The key store this database's person keys are sealed under: a different (new, empty) key
-- store would open none of them, so the service refuses to start with one.
CREATE TABLE key_store_binding (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    store_id TEXT NOT NULL
);
