-- mediagate registry, schema version 10: vault stations among the office's hosts.
-- An enrolled host marked as a vault station checks media in as they are plugged and
-- reports each check-in to the server, which records it in the office's campaign.
-- Portable SQL (SQLite and PostgreSQL); times are UTC RFC 3339 text with
-- milliseconds as in the other tables.

ALTER TABLE office_hosts ADD COLUMN vault_station INTEGER NOT NULL DEFAULT 0 CHECK (vault_station IN (0, 1));

-- The check-ins reported by vault stations, by the id the host gave each: a report
-- sent again (its answer lost) is not recorded twice.
CREATE TABLE office_station_checkins (
    id       TEXT PRIMARY KEY,
    host     TEXT NOT NULL,
    outcome  TEXT NOT NULL DEFAULT '',
    received TEXT NOT NULL
);
