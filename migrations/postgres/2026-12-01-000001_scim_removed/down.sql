ALTER TABLE employees DROP COLUMN scim_deleted_at;
