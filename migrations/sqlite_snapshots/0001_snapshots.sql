-- The file of engine snapshots beside an embedded log (`<log>-snapshots`): kept apart
-- from the log so that writing a snapshot (tens or hundreds of megabytes) never holds an
-- event's commit. Derived data: deleting the file costs one replay of the whole log.
-- The same table as the log's own `0003_snapshots.sql`, where they were kept before.
CREATE TABLE snapshots (
    fingerprint TEXT    NOT NULL,      -- network, settings and version it was taken under
    seq         INTEGER NOT NULL,      -- the last event applied
    taken_at    TEXT    NOT NULL,      -- wall clock, for people
    body        TEXT    NOT NULL,      -- the engine's state as JSON
    PRIMARY KEY (fingerprint, seq)
);

-- The log they were taken from (the log's own `log_identity`): a file left beside
-- another log is emptied rather than restored from.
CREATE TABLE log_identity (
    id TEXT NOT NULL
);
