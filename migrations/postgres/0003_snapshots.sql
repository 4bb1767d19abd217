-- Engine snapshots (PostgreSQL twin of migrations/sqlite/0003_snapshots.sql).
CREATE TABLE snapshots (
    fingerprint TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    taken_at    TEXT   NOT NULL,
    body        TEXT   NOT NULL,
    PRIMARY KEY (fingerprint, seq)
);
