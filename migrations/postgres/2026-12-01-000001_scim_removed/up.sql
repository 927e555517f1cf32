-- When a SCIM client DELETEd the person. RFC 7644 says a deleted resource answers 404 from then
-- on, but Declare never deletes workforce history: the row stays (as a leaver) for the figures
-- and the bulk sync, and only the SCIM view hides it.
ALTER TABLE employees ADD COLUMN scim_deleted_at TIMESTAMP;
