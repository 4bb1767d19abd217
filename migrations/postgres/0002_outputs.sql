-- The engine's output messages (PostgreSQL twin of migrations/sqlite/0002_outputs.sql).
CREATE TABLE outputs (
    seq  BIGINT PRIMARY KEY,
    at   TEXT   NOT NULL,
    type TEXT   NOT NULL,
    body TEXT   NOT NULL
);
