INSERT INTO organisations VALUES ('org', 'org', 'Org', now());
INSERT INTO catalogue_versions VALUES ('cat', 'org', 1, 'v1', 'published', '{}', 'e', now(), now());
INSERT INTO privacy_notices VALUES ('n1', 'org', 1, repeat('x', 2000), repeat('y', 2000), 'basis', now());
INSERT INTO org_units SELECT 'u' || i, 'org', 'u' || i, 'U', 'team', NULL, now(), now() FROM generate_series(0,19) i;
INSERT INTO staff_types VALUES ('st', 'org', 'police_staff', 'Staff', now());
INSERT INTO employees (id, organisation_id, employee_number, external_subject, org_unit_id, staff_type_id, rank_id, fte, start_date, leave_date, updated_at)
  SELECT 'emp-' || i, 'org', 'E' || i, NULL, 'u' || (i % 20), 'st', NULL, 1.0, '2020-01-01', NULL, now() FROM generate_series(0,199) i;
INSERT INTO consents SELECT 'emp-' || i, 'equality_monitoring', 1, now(), NULL FROM generate_series(0,199) i;
INSERT INTO declarations SELECT 'emp-' || i, 'org', 'cat', 'k1', decode(repeat('ab', 600), 'hex'), 1, now(), now() FROM generate_series(0,199) i;
INSERT INTO tallies SELECT 'org', 'u' || i || '|st|-', 'k1', decode(repeat('ab', 900), 'hex'), 1, now() FROM generate_series(0,19) i;
CREATE TABLE raw_declarations (id TEXT PRIMARY KEY, sealed BYTEA NOT NULL, version BIGINT NOT NULL);
