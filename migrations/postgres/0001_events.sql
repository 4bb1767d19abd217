-- The append-only event log (PostgreSQL twin of migrations/sqlite/0001_events.sql).
CREATE TABLE events (
    seq         BIGINT  PRIMARY KEY,
    at          TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    report_id   TEXT,
    received_at TEXT    NOT NULL,
    body        TEXT    NOT NULL
);
CREATE UNIQUE INDEX events_report_id ON events (report_id) WHERE report_id IS NOT NULL;
