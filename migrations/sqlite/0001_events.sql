-- The append-only event log. `seq` is assigned by the single writer, one more than
-- the last, inside the committing transaction: gap-free, never reused.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    at          TEXT    NOT NULL,   -- the event's own time, RFC 3339 UTC
    type        TEXT    NOT NULL,
    report_id   TEXT,               -- a report's idempotency key
    received_at TEXT    NOT NULL,   -- when this server stored it (audit only)
    body        TEXT    NOT NULL    -- the canonical JSON of the event
);
CREATE UNIQUE INDEX events_report_id ON events (report_id) WHERE report_id IS NOT NULL;
