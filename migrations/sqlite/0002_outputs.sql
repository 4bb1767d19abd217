-- The engine's output messages (CONTRACT section 4), gap-free `seq` of their own.
-- They are a pure function of the event log: a restart may write the same rows again.
CREATE TABLE outputs (
    seq  INTEGER PRIMARY KEY,
    at   TEXT    NOT NULL,
    type TEXT    NOT NULL,
    body TEXT    NOT NULL   -- the whole message as one line of JSON
);
