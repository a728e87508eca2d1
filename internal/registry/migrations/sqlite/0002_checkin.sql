-- mediagate registry, schema version 2: the year-end check-in campaign.
-- Every year-end all classified media are handed to the office and kept in its iron
-- cabinet (the vault). A campaign snapshots the media that must come back, records
-- each check-in (plugged at the vault station or marked by hand), and at close moves
-- the checked-in media to in-vault and flags the rest missing.

-- One campaign per year; at most one open at a time.
CREATE TABLE campaigns (
    id            TEXT PRIMARY KEY,
    year          INTEGER NOT NULL UNIQUE CHECK (year BETWEEN 2000 AND 9999),
    opened        TEXT NOT NULL,
    deadline      TEXT NOT NULL,
    closed        TEXT NOT NULL DEFAULT '',
    -- The final report (JSON) saved at close and its SHA-256, also written to the audit log.
    report        BLOB,
    report_sha256 TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX campaigns_one_open ON campaigns (closed) WHERE closed = '';

-- The snapshot taken at open: every medium that must come back (status active, lent
-- or repair then). outcome is set at close: vault, away, missing or withdrawn.
CREATE TABLE campaign_media (
    campaign_id    TEXT NOT NULL REFERENCES campaigns (id),
    medium_id      TEXT NOT NULL REFERENCES media (id),
    status_at_open TEXT NOT NULL,
    custodian_id   TEXT NOT NULL REFERENCES people (id),
    outcome        TEXT NOT NULL DEFAULT '' CHECK (outcome IN ('', 'vault', 'away', 'missing', 'withdrawn')),
    PRIMARY KEY (campaign_id, medium_id)
) WITHOUT ROWID;

-- One check-in per medium per campaign. source is 'plugged' (identity read from the
-- device at the vault station) or 'manual' (marked by the officer with a reason).
-- away: a medium in repair accounted for at the repairer; it keeps its status at close.
CREATE TABLE checkins (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    campaign_id  TEXT NOT NULL REFERENCES campaigns (id),
    medium_id    TEXT NOT NULL REFERENCES media (id),
    at           TEXT NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('plugged', 'manual')),
    manual       INTEGER NOT NULL CHECK (manual = (source = 'manual')),
    away         INTEGER NOT NULL DEFAULT 0 CHECK (away IN (0, 1) AND (away = 0 OR manual = 1)),
    reason       TEXT NOT NULL DEFAULT '',
    by_id        TEXT REFERENCES people (id),
    cabinet      TEXT NOT NULL DEFAULT '',
    slot         TEXT NOT NULL DEFAULT '',
    identity_key TEXT NOT NULL DEFAULT '',
    actor        TEXT NOT NULL DEFAULT '',
    UNIQUE (campaign_id, medium_id)
);
