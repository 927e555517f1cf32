-- What an audit event counted (a sync batch's created/updated/leavers, a retention run's
-- erasures): JSON of numbers and codes, never an answer value. NULL for events that count
-- nothing; the hash chain covers it only when present, so older events still verify.
ALTER TABLE audit_events ADD COLUMN detail TEXT;
-- Retention looks for people who left before a cutoff; most of a workforce has no leave date.
CREATE INDEX employees_by_leave_date ON employees (leave_date);
