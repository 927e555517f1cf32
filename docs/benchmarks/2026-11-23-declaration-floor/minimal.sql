\set e random(0, 199)
\set v random(1, 1000000000)
BEGIN;
SELECT e.*, d.*, (SELECT max(version) FROM privacy_notices n WHERE n.organisation_id = e.organisation_id) AS notice,
  (SELECT json_agg(c) FROM consents c WHERE c.employee_id = e.id) AS consents,
  (SELECT id FROM catalogue_versions v WHERE v.organisation_id = e.organisation_id AND status <> 'draft' ORDER BY version_number DESC LIMIT 1) AS cat
  FROM employees e LEFT JOIN declarations d ON d.employee_id = e.id
  WHERE e.organisation_id = 'org' AND e.id = 'emp-' || :e::int;
INSERT INTO raw_declarations (id, sealed, version) VALUES ('emp-' || :e::int, decode(repeat('cd', 600), 'hex'), 1) ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, version = raw_declarations.version + 1;
COMMIT;
