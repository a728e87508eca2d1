-- mediagate registry, schema version 8, PostgreSQL twin of sqlite/0008_host_logs.sql:
-- the office's copy of every enrolled host's audit log (internal/office/ledger). Used
-- by `mediagate server`; a single host's registry keeps these tables empty.
-- Portable SQL (SQLite and PostgreSQL); times are UTC RFC 3339 text with
-- milliseconds as in the other tables, '' when not yet.

-- The rows of each host's chain as the host sent them: the columns of events, under
-- the office's host id (office_hosts.id, from the client certificate). received is
-- when the office stored the row. Rows are only ever added.
CREATE TABLE office_host_events (
    host       TEXT COLLATE "C" NOT NULL,
    seq        BIGINT NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    time       TEXT COLLATE "C" NOT NULL,
    host_id    TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    medium     TEXT COLLATE "C" NOT NULL DEFAULT '',
    actor_uid  BIGINT NOT NULL,
    actor_user TEXT COLLATE "C" NOT NULL,
    actor_sudo TEXT COLLATE "C" NOT NULL DEFAULT '',
    details    TEXT COLLATE "C" NOT NULL DEFAULT '',
    prev_hash  TEXT COLLATE "C" NOT NULL,
    hash       TEXT COLLATE "C" NOT NULL,
    received   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (host, seq)
);

-- The acknowledged head of each host's chain, and whether the chain broke: the first
-- bad row (0 while intact), why and when. frozen is when an officer froze the host
-- ('' when not frozen).
CREATE TABLE office_chains (
    host          TEXT COLLATE "C" PRIMARY KEY,
    seq           BIGINT NOT NULL DEFAULT 0,
    hash          TEXT COLLATE "C" NOT NULL DEFAULT '',
    acked         TEXT COLLATE "C" NOT NULL DEFAULT '',
    broken_seq    BIGINT NOT NULL DEFAULT 0,
    broken_reason TEXT COLLATE "C" NOT NULL DEFAULT '',
    broken_at     TEXT COLLATE "C" NOT NULL DEFAULT '',
    frozen        TEXT COLLATE "C" NOT NULL DEFAULT ''
);

-- Rows of the office's copy are never updated or deleted through SQL that respects
-- triggers (events_append_only comes from migration 0001).
CREATE TRIGGER office_host_events_no_update BEFORE UPDATE ON office_host_events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER office_host_events_no_delete BEFORE DELETE ON office_host_events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER office_host_events_no_truncate BEFORE TRUNCATE ON office_host_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
