-- Failed sign-ins per throttle key (decision 0018, shared by every instance: decision 0022).
-- Times are milliseconds since the Unix epoch. One row per key, upserted atomically, so
-- failures counted by any instance add up to one count.
CREATE TABLE login_failures (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    last_failure_ms BIGINT NOT NULL
);
CREATE INDEX login_failures_by_last ON login_failures (last_failure_ms);

-- Addresses each account signed in from (the few most recent), exempt from the account-wide key.
CREATE TABLE login_known_addresses (
    account TEXT NOT NULL,
    address TEXT NOT NULL,
    seen_ms BIGINT NOT NULL,
    PRIMARY KEY (account, address)
);
