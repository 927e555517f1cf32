-- Answers follow the identity that gave them (docs/decisions/0017).
--
-- One local account per employee record: an administrator cannot add a second login to
-- someone's record. (NULLs are distinct, so unlinked accounts are unaffected.) If an existing
-- database holds two accounts for one record this fails on purpose: which of them is the
-- person cannot be guessed, and an operator must disable one first.
CREATE UNIQUE INDEX accounts_one_per_employee ON accounts (employee_id);

-- The sign-in identity (`account:<account id>` or `external:<IdP subject>`, as the audit trail
-- names actors) that gave the record's current answers. Any other identity that comes to
-- resolve to the record finds the answers held: it cannot read, change or erase them.
CREATE TABLE declaration_owners (
    employee_id TEXT PRIMARY KEY NOT NULL REFERENCES employees (id),
    identity TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);

-- Answers given before this table existed belong to the record's login as it stands now (a
-- linked account first, else the IdP subject); with no login at all they stay held.
INSERT INTO declaration_owners (employee_id, identity, recorded_at)
SELECT d.employee_id,
       COALESCE((SELECT 'account:' || a.id FROM accounts a WHERE a.employee_id = d.employee_id),
                'external:' || e.external_subject,
                'none'),
       d.updated_at
FROM declarations d JOIN employees e ON e.id = d.employee_id;
