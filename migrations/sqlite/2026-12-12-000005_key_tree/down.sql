DROP TABLE key_store_binding;
DROP TABLE pending_punctures;
ALTER TABLE person_keys DROP COLUMN leaf;
