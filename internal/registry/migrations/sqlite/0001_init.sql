-- mediagate registry, schema version 1.
-- Ids are random UUIDs (text) so that registries and logs of many hosts can be merged.
-- Times are UTC RFC 3339 text with milliseconds.

CREATE TABLE people (
    id         TEXT PRIMARY KEY,
    handle     TEXT NOT NULL UNIQUE CHECK (length(handle) BETWEEN 1 AND 64),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    department TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    login      TEXT NOT NULL DEFAULT '',
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created    TEXT NOT NULL,
    updated    TEXT NOT NULL
);

-- The profile of this host: at most one row.
CREATE TABLE host (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    id            TEXT NOT NULL UNIQUE,
    number        TEXT NOT NULL CHECK (length(number) BETWEEN 1 AND 64),
    level         INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),
    department    TEXT NOT NULL DEFAULT '',
    mode          TEXT NOT NULL CHECK (mode IN ('enforce', 'audit')),
    hostname      TEXT NOT NULL DEFAULT '',
    vault_station INTEGER NOT NULL DEFAULT 0 CHECK (vault_station IN (0, 1)),
    allow_classes TEXT NOT NULL DEFAULT '[]',
    allow_devices TEXT NOT NULL DEFAULT '[]',
    baseline      TEXT NOT NULL DEFAULT '[]',
    created       TEXT NOT NULL,
    updated       TEXT NOT NULL
);

CREATE TABLE media (
    id                TEXT PRIMARY KEY,
    number            TEXT NOT NULL UNIQUE CHECK (length(number) BETWEEN 1 AND 64),
    kind              TEXT NOT NULL CHECK (kind IN ('usb-disk', 'disk', 'sd', 'optical-disc', 'other')),
    identity_key      TEXT NOT NULL UNIQUE CHECK (length(identity_key) BETWEEN 1 AND 512),
    serial            TEXT NOT NULL DEFAULT '',
    vendor_id         TEXT NOT NULL DEFAULT '',
    product_id        TEXT NOT NULL DEFAULT '',
    wwn               TEXT NOT NULL DEFAULT '',
    capacity          INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0),
    descriptor_hash   TEXT NOT NULL DEFAULT '',
    interface_classes TEXT NOT NULL DEFAULT '[]',
    level             INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),
    custodian_id      TEXT NOT NULL REFERENCES people (id),
    department        TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL CHECK (status IN ('active', 'lent', 'in-vault', 'repair', 'lost', 'destroyed', 'retired')),
    access            TEXT NOT NULL CHECK (access IN ('rw', 'ro')),
    note              TEXT NOT NULL DEFAULT '',
    holder_id         TEXT REFERENCES people (id),
    due_at            TEXT NOT NULL DEFAULT '',
    allowed_hosts     TEXT NOT NULL DEFAULT '[]',
    created           TEXT NOT NULL,
    updated           TEXT NOT NULL
);
CREATE INDEX media_custodian ON media (custodian_id);
CREATE INDEX media_status ON media (status);
CREATE INDEX media_serial ON media (serial);

-- Every number ever given out, so that no number is reused, not even after destruction.
CREATE TABLE numbers_used (
    number TEXT PRIMARY KEY
);

-- Next sequence number per level per year.
CREATE TABLE number_seq (
    level INTEGER NOT NULL,
    year  INTEGER NOT NULL,
    next  INTEGER NOT NULL CHECK (next >= 1),
    PRIMARY KEY (level, year)
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The signed handover record: from whom, to whom, witnessed by whom.
CREATE TABLE handovers (
    id         TEXT PRIMARY KEY,
    medium_id  TEXT NOT NULL REFERENCES media (id),
    from_id    TEXT NOT NULL REFERENCES people (id),
    to_id      TEXT NOT NULL REFERENCES people (id),
    witness_id TEXT NOT NULL REFERENCES people (id),
    at         TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT ''
);

-- The audit log: append-only, hash-chained (see internal/audit).
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    time       TEXT NOT NULL,
    host_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    medium     TEXT NOT NULL DEFAULT '',
    actor_uid  INTEGER NOT NULL,
    actor_user TEXT NOT NULL,
    actor_sudo TEXT NOT NULL DEFAULT '',
    details    TEXT NOT NULL DEFAULT '',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX events_medium ON events (medium, seq);
CREATE INDEX events_time ON events (time);

-- The last row's seq and hash, updated in the same transaction as every append.
CREATE TABLE event_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    seq       INTEGER NOT NULL,
    hash      TEXT NOT NULL
);

-- Rows of the log are never updated or deleted through SQL that respects triggers.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'audit log rows are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'audit log rows are append-only');
END;
