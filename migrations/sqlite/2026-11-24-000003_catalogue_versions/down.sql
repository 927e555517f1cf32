DROP INDEX catalogue_versions_one_draft;
DROP TABLE catalogue_versions;
