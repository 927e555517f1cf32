\set e random(0, 199)
\set v random(1, 1000000000)
BEGIN;
SELECT e.*, d.*, (SELECT max(version) FROM privacy_notices n WHERE n.organisation_id = e.organisation_id) AS notice,
  (SELECT json_agg(c) FROM consents c WHERE c.employee_id = e.id) AS consents,
  (SELECT id FROM catalogue_versions v WHERE v.organisation_id = e.organisation_id AND status <> 'draft' ORDER BY version_number DESC LIMIT 1) AS cat
  FROM employees e LEFT JOIN declarations d ON d.employee_id = e.id
  WHERE e.organisation_id = 'org' AND e.id = 'emp-' || :e::int;
SELECT * FROM tallies WHERE organisation_id = 'org' AND cell = 'u' || (:e::int % 20) || '|st|-' FOR UPDATE;
WITH d AS (UPDATE declarations SET catalogue_version_id = 'cat', key_id = 'k1', sealed = decode(repeat('cd', 600), 'hex'), version = version + 1, last_reviewed_at = now(), updated_at = now() WHERE employee_id = 'emp-' || :e::int RETURNING 1),
 h AS (INSERT INTO declaration_history VALUES (gen_random_uuid()::text, 'emp-' || :e::int, :v::bigint, 'k1', decode(repeat('cd', 600), 'hex'), now())),
 t AS (INSERT INTO tallies VALUES ('org', 'u' || (:e::int % 20) || '|st|-', 'k1', decode(repeat('ef', 900), 'hex'), 2, now()) ON CONFLICT (organisation_id, cell) DO UPDATE SET sealed = excluded.sealed, version = tallies.version + 1, updated_at = excluded.updated_at),
 a AS (INSERT INTO audit_pending (occurred_at, organisation_id, actor, action, subject, request_id) VALUES (now()::text, 'org', 'account:x', 'declaration.write', 'employee:emp-' || :e::int, 'req'))
SELECT count(*) FROM d;
COMMIT;
