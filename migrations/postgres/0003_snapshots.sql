-- Engine snapshots (PostgreSQL twin of migrations/sqlite/0003_snapshots.sql).
CREATE TABLE snapshots (
    seq         BIGINT PRIMARY KEY,
    fingerprint TEXT   NOT NULL,
    taken_at    TEXT   NOT NULL,
    body        TEXT   NOT NULL
);
