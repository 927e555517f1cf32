DROP TABLE sync_requests;
DROP TABLE employees;
DROP TABLE ranks;
DROP TABLE staff_types;
DROP TABLE org_units;
