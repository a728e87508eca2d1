-- mediagate registry, schema version 7, PostgreSQL twin of sqlite/0007_office.sql:
-- the office's register of classified hosts.
-- Used by `mediagate server`; a single host's registry keeps these tables empty.
-- Portable SQL (SQLite and PostgreSQL); times are UTC RFC 3339 text with
-- milliseconds as in the other tables, '' when not yet.

-- Classified computers of the office. The profile columns are media.Host's; the
-- rest is the office's view of the host.
CREATE TABLE office_hosts (
    id              TEXT COLLATE "C" PRIMARY KEY,
    number          TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(number) BETWEEN 1 AND 64),
    level           INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),
    department      TEXT COLLATE "C" NOT NULL DEFAULT '',
    location        TEXT COLLATE "C" NOT NULL DEFAULT '',
    custodian       TEXT COLLATE "C" NOT NULL DEFAULT '',
    mode            TEXT COLLATE "C" NOT NULL DEFAULT 'enforce' CHECK (mode IN ('enforce', 'audit')),
    lower_media     TEXT COLLATE "C" NOT NULL DEFAULT 'read-only',
    allow_classes   TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    allow_devices   TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    device_pins     TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    baseline        TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    hostname        TEXT COLLATE "C" NOT NULL DEFAULT '',
    cert_serial     TEXT COLLATE "C" NOT NULL DEFAULT '',
    enrolled        TEXT COLLATE "C" NOT NULL DEFAULT '',
    revoked         TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_contact    TEXT COLLATE "C" NOT NULL DEFAULT '',
    daemon_state    TEXT COLLATE "C" NOT NULL DEFAULT '',
    applied_version BIGINT NOT NULL DEFAULT 0,
    policy_version  BIGINT NOT NULL DEFAULT 0,
    policy_hash     TEXT COLLATE "C" NOT NULL DEFAULT '',
    policy_issued   TEXT COLLATE "C" NOT NULL DEFAULT '',
    created         TEXT COLLATE "C" NOT NULL,
    updated         TEXT COLLATE "C" NOT NULL
);

-- One-time enrolment tokens: only the SHA-256 of a token is kept.
CREATE TABLE office_tokens (
    hash    TEXT COLLATE "C" PRIMARY KEY,
    host_id TEXT COLLATE "C" NOT NULL REFERENCES office_hosts (id),
    expires TEXT COLLATE "C" NOT NULL,
    used    TEXT COLLATE "C" NOT NULL DEFAULT '',
    created TEXT COLLATE "C" NOT NULL
);
CREATE INDEX office_tokens_host ON office_tokens (host_id);

-- Registration requests sent by custodians at classified hosts.
CREATE TABLE office_requests (
    id           TEXT COLLATE "C" PRIMARY KEY,
    host         TEXT COLLATE "C" NOT NULL,
    identity     TEXT COLLATE "C" NOT NULL,
    identity_key TEXT COLLATE "C" NOT NULL,
    level        INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),
    purpose      TEXT COLLATE "C" NOT NULL DEFAULT '',
    requester    TEXT COLLATE "C" NOT NULL DEFAULT '',
    label        TEXT COLLATE "C" NOT NULL DEFAULT '',
    state        TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    number       TEXT COLLATE "C" NOT NULL DEFAULT '',
    reason       TEXT COLLATE "C" NOT NULL DEFAULT '',
    created      TEXT COLLATE "C" NOT NULL,
    decided      TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX office_requests_state ON office_requests (state);

-- Where each medium was last seen, per host (from the hosts' reports).
CREATE TABLE office_seen (
    medium   TEXT COLLATE "C" NOT NULL,
    host     TEXT COLLATE "C" NOT NULL,
    key      TEXT COLLATE "C" NOT NULL DEFAULT '',
    decision TEXT COLLATE "C" NOT NULL DEFAULT '',
    reason   TEXT COLLATE "C" NOT NULL DEFAULT '',
    time     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (medium, host)
);
CREATE INDEX office_seen_host ON office_seen (host);

-- Officers who may call the server with a client certificate (CN officer:<handle>).
CREATE TABLE office_officers (
    handle      TEXT COLLATE "C" PRIMARY KEY,
    cert_serial TEXT COLLATE "C" NOT NULL,
    revoked     TEXT COLLATE "C" NOT NULL DEFAULT '',
    created     TEXT COLLATE "C" NOT NULL
);

-- The office server reads the media changed since its last look (MediaChangedSince).
CREATE INDEX media_updated ON media (updated);
