-- Engine snapshots: the engine's state after applying every event up to `seq`, so a
-- restart replays only the log after it. Derived data: losing them costs time, not facts.
-- Keyed by fingerprint too: instances of two versions (a rolling upgrade) keep their own.
CREATE TABLE snapshots (
    fingerprint TEXT    NOT NULL,      -- network, settings and version it was taken under
    seq         INTEGER NOT NULL,      -- the last event applied
    taken_at    TEXT    NOT NULL,      -- wall clock, for people
    body        TEXT    NOT NULL,      -- the engine's state as JSON
    PRIMARY KEY (fingerprint, seq)
);
