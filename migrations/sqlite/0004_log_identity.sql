-- Which log this is. Engine snapshots are kept in a file of their own beside the log
-- (`<log>-snapshots`, so that writing one never holds an event's commit); they name the
-- log they were taken from, and a snapshots file left beside another log (the log was
-- deleted and started again) is emptied instead of restored from.
CREATE TABLE log_identity (
    id TEXT NOT NULL               -- random, set once when the log is created
);
INSERT INTO log_identity (id) VALUES (lower(hex(randomblob(16))));
