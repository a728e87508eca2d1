-- mediagate registry, schema version 8: the office's copy of every enrolled host's
-- audit log (internal/office/ledger). Used by `mediagate server`; a single host's
-- registry keeps these tables empty.
-- Portable SQL (SQLite and PostgreSQL); times are UTC RFC 3339 text with
-- milliseconds as in the other tables, '' when not yet.

-- The rows of each host's chain as the host sent them: the columns of events, under
-- the office's host id (office_hosts.id, from the client certificate). received is
-- when the office stored the row. Rows are only ever added.
CREATE TABLE office_host_events (
    host       TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    id         TEXT NOT NULL,
    time       TEXT NOT NULL,
    host_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    medium     TEXT NOT NULL DEFAULT '',
    actor_uid  BIGINT NOT NULL,
    actor_user TEXT NOT NULL,
    actor_sudo TEXT NOT NULL DEFAULT '',
    details    TEXT NOT NULL DEFAULT '',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    received   TEXT NOT NULL,
    PRIMARY KEY (host, seq)
);

-- The acknowledged head of each host's chain, and whether the chain broke: the first
-- bad row (0 while intact), why and when. frozen is when an officer froze the host
-- ('' when not frozen).
CREATE TABLE office_chains (
    host          TEXT PRIMARY KEY,
    seq           BIGINT NOT NULL DEFAULT 0,
    hash          TEXT NOT NULL DEFAULT '',
    acked         TEXT NOT NULL DEFAULT '',
    broken_seq    BIGINT NOT NULL DEFAULT 0,
    broken_reason TEXT NOT NULL DEFAULT '',
    broken_at     TEXT NOT NULL DEFAULT '',
    frozen        TEXT NOT NULL DEFAULT ''
);

-- Rows of the office's copy are never updated or deleted through SQL that respects
-- triggers.
CREATE TRIGGER office_host_events_no_update BEFORE UPDATE ON office_host_events
BEGIN
    SELECT RAISE(ABORT, 'host log rows are append-only');
END;
CREATE TRIGGER office_host_events_no_delete BEFORE DELETE ON office_host_events
BEGIN
    SELECT RAISE(ABORT, 'host log rows are append-only');
END;
