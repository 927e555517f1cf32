-- Each organisation's question catalogue, one row per version. A published row is immutable
-- (the store only ever updates rows whose status is still 'draft'); at most one draft per
-- organisation, enforced by the partial unique index so two admins racing get a conflict.
CREATE TABLE catalogue_versions (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    version_number BIGINT NOT NULL,
    label TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    document TEXT NOT NULL,
    etag TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP,
    UNIQUE (organisation_id, version_number)
);

CREATE UNIQUE INDEX catalogue_versions_one_draft
    ON catalogue_versions (organisation_id) WHERE status = 'draft';
