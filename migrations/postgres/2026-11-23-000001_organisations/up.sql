-- A deployment may host several organisations (forces); everything else hangs off one.
CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
