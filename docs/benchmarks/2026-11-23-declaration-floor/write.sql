\set e random(0, 199)
\set v random(1, 1000000000)
BEGIN;
SELECT * FROM employees WHERE organisation_id = 'org' AND id = 'emp-' || :e::int LIMIT 1;
SELECT * FROM privacy_notices WHERE organisation_id = 'org' ORDER BY version DESC LIMIT 1;
SELECT * FROM consents WHERE employee_id = 'emp-' || :e::int ORDER BY purpose;
SELECT * FROM declarations WHERE employee_id = 'emp-' || :e::int LIMIT 1;
SELECT id FROM catalogue_versions WHERE organisation_id = 'org' AND status != 'draft' ORDER BY version_number DESC LIMIT 1;
UPDATE declarations SET catalogue_version_id = 'cat', key_id = 'k1', sealed = decode(repeat('cd', 600), 'hex'), version = version + 1, last_reviewed_at = now(), updated_at = now() WHERE employee_id = 'emp-' || :e::int;
INSERT INTO declaration_history VALUES (gen_random_uuid()::text, 'emp-' || :e::int, :v::bigint, 'k1', decode(repeat('cd', 600), 'hex'), now());
SELECT * FROM tallies WHERE organisation_id = 'org' AND cell = 'u' || (:e::int % 20) || '|st|-' FOR UPDATE;
INSERT INTO tallies VALUES ('org', 'u' || (:e::int % 20) || '|st|-', 'k1', decode(repeat('ef', 900), 'hex'), 2, now()) ON CONFLICT (organisation_id, cell) DO UPDATE SET sealed = excluded.sealed, version = tallies.version + 1, updated_at = excluded.updated_at;
INSERT INTO audit_pending (occurred_at, organisation_id, actor, action, subject, request_id) VALUES (now()::text, 'org', 'account:x', 'declaration.write', 'employee:emp-' || (:e::int)::text, 'req');
COMMIT;
