-- mediagate registry, schema version 7: the office's register of classified hosts.
-- Used by `mediagate server`; a single host's registry keeps these tables empty.
-- Portable SQL (SQLite and PostgreSQL); times are UTC RFC 3339 text with
-- milliseconds as in the other tables, '' when not yet.

-- Classified computers of the office. The profile columns are media.Host's; the
-- rest is the office's view of the host.
CREATE TABLE office_hosts (
    id              TEXT PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE CHECK (length(number) BETWEEN 1 AND 64),
    level           INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),
    department      TEXT NOT NULL DEFAULT '',
    location        TEXT NOT NULL DEFAULT '',
    custodian       TEXT NOT NULL DEFAULT '',
    mode            TEXT NOT NULL DEFAULT 'enforce' CHECK (mode IN ('enforce', 'audit')),
    lower_media     TEXT NOT NULL DEFAULT 'read-only',
    allow_classes   TEXT NOT NULL DEFAULT '[]',
    allow_devices   TEXT NOT NULL DEFAULT '[]',
    device_pins     TEXT NOT NULL DEFAULT '[]',
    baseline        TEXT NOT NULL DEFAULT '[]',
    hostname        TEXT NOT NULL DEFAULT '',
    cert_serial     TEXT NOT NULL DEFAULT '',
    enrolled        TEXT NOT NULL DEFAULT '',
    revoked         TEXT NOT NULL DEFAULT '',
    last_contact    TEXT NOT NULL DEFAULT '',
    daemon_state    TEXT NOT NULL DEFAULT '',
    applied_version BIGINT NOT NULL DEFAULT 0,
    policy_version  BIGINT NOT NULL DEFAULT 0,
    policy_hash     TEXT NOT NULL DEFAULT '',
    policy_issued   TEXT NOT NULL DEFAULT '',
    created         TEXT NOT NULL,
    updated         TEXT NOT NULL
);

-- One-time enrolment tokens: only the SHA-256 of a token is kept.
CREATE TABLE office_tokens (
    hash    TEXT PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES office_hosts (id),
    expires TEXT NOT NULL,
    used    TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE INDEX office_tokens_host ON office_tokens (host_id);

-- Registration requests sent by custodians at classified hosts.
CREATE TABLE office_requests (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    identity     TEXT NOT NULL,
    identity_key TEXT NOT NULL,
    level        INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),
    purpose      TEXT NOT NULL DEFAULT '',
    requester    TEXT NOT NULL DEFAULT '',
    label        TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    number       TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    created      TEXT NOT NULL,
    decided      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX office_requests_state ON office_requests (state);

-- Where each medium was last seen, per host (from the hosts' reports).
CREATE TABLE office_seen (
    medium   TEXT NOT NULL,
    host     TEXT NOT NULL,
    key      TEXT NOT NULL DEFAULT '',
    decision TEXT NOT NULL DEFAULT '',
    reason   TEXT NOT NULL DEFAULT '',
    time     TEXT NOT NULL,
    PRIMARY KEY (medium, host)
);
CREATE INDEX office_seen_host ON office_seen (host);

-- Officers who may call the server with a client certificate (CN officer:<handle>).
CREATE TABLE office_officers (
    handle      TEXT PRIMARY KEY,
    cert_serial TEXT NOT NULL,
    revoked     TEXT NOT NULL DEFAULT '',
    created     TEXT NOT NULL
);

-- The office server reads the media changed since its last look (MediaChangedSince).
CREATE INDEX media_updated ON media (updated);
