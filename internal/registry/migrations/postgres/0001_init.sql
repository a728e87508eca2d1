-- mediagate registry, schema version 1, PostgreSQL twin of sqlite/0001_init.sql.
-- Same tables, columns, keys and checks; what differs is PostgreSQL's spelling:
-- BIGINT where SQLite's INTEGER holds 64 bits, BYTEA for BLOB, a trigger function for
-- RAISE(ABORT), and every text column COLLATE "C" so that text sorts and compares byte
-- by byte as on SQLite. Flags stay INTEGER 0/1 as on SQLite.
-- Ids are random UUIDs (text) so that registries and logs of many hosts can be merged.
-- Times are UTC RFC 3339 text with milliseconds.

CREATE TABLE people (
    id         TEXT COLLATE "C" PRIMARY KEY,
    handle     TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(handle) BETWEEN 1 AND 64),
    name       TEXT COLLATE "C" NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    department TEXT COLLATE "C" NOT NULL DEFAULT '',
    email      TEXT COLLATE "C" NOT NULL DEFAULT '',
    login      TEXT COLLATE "C" NOT NULL DEFAULT '',
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created    TEXT COLLATE "C" NOT NULL,
    updated    TEXT COLLATE "C" NOT NULL
);

-- The profile of this host: at most one row.
CREATE TABLE host (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    id            TEXT COLLATE "C" NOT NULL UNIQUE,
    number        TEXT COLLATE "C" NOT NULL CHECK (length(number) BETWEEN 1 AND 64),
    level         INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),
    department    TEXT COLLATE "C" NOT NULL DEFAULT '',
    mode          TEXT COLLATE "C" NOT NULL CHECK (mode IN ('enforce', 'audit')),
    hostname      TEXT COLLATE "C" NOT NULL DEFAULT '',
    vault_station INTEGER NOT NULL DEFAULT 0 CHECK (vault_station IN (0, 1)),
    allow_classes TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    allow_devices TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    baseline      TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    created       TEXT COLLATE "C" NOT NULL,
    updated       TEXT COLLATE "C" NOT NULL
);

CREATE TABLE media (
    id                TEXT COLLATE "C" PRIMARY KEY,
    number            TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(number) BETWEEN 1 AND 64),
    kind              TEXT COLLATE "C" NOT NULL CHECK (kind IN ('usb-disk', 'disk', 'sd', 'optical-disc', 'other')),
    identity_key      TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(identity_key) BETWEEN 1 AND 512),
    serial            TEXT COLLATE "C" NOT NULL DEFAULT '',
    vendor_id         TEXT COLLATE "C" NOT NULL DEFAULT '',
    product_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    wwn               TEXT COLLATE "C" NOT NULL DEFAULT '',
    capacity          BIGINT NOT NULL DEFAULT 0 CHECK (capacity >= 0),
    descriptor_hash   TEXT COLLATE "C" NOT NULL DEFAULT '',
    interface_classes TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    level             INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),
    custodian_id      TEXT COLLATE "C" NOT NULL REFERENCES people (id),
    department        TEXT COLLATE "C" NOT NULL DEFAULT '',
    status            TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'lent', 'in-vault', 'repair', 'lost', 'destroyed', 'retired')),
    access            TEXT COLLATE "C" NOT NULL CHECK (access IN ('rw', 'ro')),
    note              TEXT COLLATE "C" NOT NULL DEFAULT '',
    holder_id         TEXT COLLATE "C" REFERENCES people (id),
    due_at            TEXT COLLATE "C" NOT NULL DEFAULT '',
    allowed_hosts     TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    created           TEXT COLLATE "C" NOT NULL,
    updated           TEXT COLLATE "C" NOT NULL
);
CREATE INDEX media_custodian ON media (custodian_id);
CREATE INDEX media_status ON media (status);
CREATE INDEX media_serial ON media (serial);

-- Every number ever given out, so that no number is reused, not even after destruction.
CREATE TABLE numbers_used (
    number TEXT COLLATE "C" PRIMARY KEY
);

-- Next sequence number per level per year.
CREATE TABLE number_seq (
    level INTEGER NOT NULL,
    year  INTEGER NOT NULL,
    next  INTEGER NOT NULL CHECK (next >= 1),
    PRIMARY KEY (level, year)
);

CREATE TABLE settings (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);

-- The signed handover record: from whom, to whom, witnessed by whom.
CREATE TABLE handovers (
    id         TEXT COLLATE "C" PRIMARY KEY,
    medium_id  TEXT COLLATE "C" NOT NULL REFERENCES media (id),
    from_id    TEXT COLLATE "C" NOT NULL REFERENCES people (id),
    to_id      TEXT COLLATE "C" NOT NULL REFERENCES people (id),
    witness_id TEXT COLLATE "C" NOT NULL REFERENCES people (id),
    at         TEXT COLLATE "C" NOT NULL,
    note       TEXT COLLATE "C" NOT NULL DEFAULT ''
);

-- The audit log: append-only, hash-chained (see internal/audit).
CREATE TABLE events (
    seq        BIGINT PRIMARY KEY,
    id         TEXT COLLATE "C" NOT NULL UNIQUE,
    time       TEXT COLLATE "C" NOT NULL,
    host_id    TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    medium     TEXT COLLATE "C" NOT NULL DEFAULT '',
    actor_uid  BIGINT NOT NULL,
    actor_user TEXT COLLATE "C" NOT NULL,
    actor_sudo TEXT COLLATE "C" NOT NULL DEFAULT '',
    details    TEXT COLLATE "C" NOT NULL DEFAULT '',
    prev_hash  TEXT COLLATE "C" NOT NULL,
    hash       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX events_medium ON events (medium, seq);
CREATE INDEX events_time ON events (time);

-- The last row's seq and hash, updated in the same transaction as every append.
CREATE TABLE event_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    seq       BIGINT NOT NULL,
    hash      TEXT COLLATE "C" NOT NULL
);

-- Rows of the log are never updated or deleted through SQL that respects triggers.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log rows are append-only';
END
$$;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
-- TRUNCATE skips row triggers: refuse it too.
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- PostgreSQL only: a row's details as jsonb for the log's searches ('{}' when empty
-- or not JSON, as SQLite's json_valid decides), so that one edited row cannot make
-- every search fail.
CREATE FUNCTION mediagate_details(t text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    IF t = '' THEN
        RETURN '{}'::jsonb;
    END IF;
    RETURN t::jsonb;
EXCEPTION WHEN others THEN
    RETURN '{}'::jsonb;
END
$$;

-- PostgreSQL only: the register's disc sample key (see internal/identity), which on
-- SQLite lives in the file <db>.disc-key next to the database.
CREATE TABLE disc_key (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    key       BYTEA NOT NULL CHECK (length(key) BETWEEN 16 AND 64),
    created   TEXT COLLATE "C" NOT NULL
);
