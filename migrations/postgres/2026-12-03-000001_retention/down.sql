DROP INDEX employees_by_leave_date;
ALTER TABLE audit_events DROP COLUMN detail;
