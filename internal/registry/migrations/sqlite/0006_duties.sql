-- mediagate registry, schema version 6: serials compared without regard to case, and
-- the former numbers of media whose level was raised.
--
-- A serial that differs from a registered one only in letter case is the same serial
-- to the duplicate-serial rule (officers type serials from labels); the index keeps
-- that lookup fast.
CREATE INDEX media_serial_lower ON media (LOWER(serial));

-- When raising a medium's level gives it a number of the new level, its former number
-- stays an alias: every command finds the medium by it, and no other medium ever gets
-- it (it stays in numbers_used).
CREATE TABLE media_aliases (
    number    TEXT PRIMARY KEY CHECK (length(number) BETWEEN 1 AND 64),
    medium_id TEXT NOT NULL REFERENCES media (id),
    created   TEXT NOT NULL
);
CREATE INDEX media_aliases_medium ON media_aliases (medium_id);
