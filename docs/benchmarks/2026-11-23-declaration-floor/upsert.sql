\set e random(0, 199)
INSERT INTO raw_declarations (id, sealed, version) VALUES ('emp-' || :e::int, decode(repeat('cd', 600), 'hex'), 1) ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, version = raw_declarations.version + 1;
