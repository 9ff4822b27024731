-- Operations: a row the health check writes (proving the database takes writes), and
-- what was last said to the admins about each feed's health (one notice per change).
CREATE TABLE health (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    at  INTEGER NOT NULL
);

CREATE TABLE feed_health (
    feed_id     INTEGER PRIMARY KEY REFERENCES feeds(id) ON DELETE CASCADE,
    state       TEXT NOT NULL,          -- 'ok' | 'failing' | 'silent'
    since       INTEGER NOT NULL,       -- when this state was notified
    detail      TEXT
);
