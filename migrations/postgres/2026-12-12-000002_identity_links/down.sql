DROP TABLE declaration_owners;
DROP INDEX accounts_one_per_employee;
