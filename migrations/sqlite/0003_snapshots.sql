-- Engine snapshots: the engine's state after applying every event up to `seq`, so a
-- restart replays only the log after it. Derived data: losing them costs time, not facts.
CREATE TABLE snapshots (
    seq         INTEGER PRIMARY KEY,   -- the last event applied
    fingerprint TEXT    NOT NULL,      -- network, settings and version it was taken under
    taken_at    TEXT    NOT NULL,      -- wall clock, for people
    body        TEXT    NOT NULL       -- the engine's state as JSON
);
