-- mediagate registry, schema version 3, PostgreSQL twin of sqlite/0003_host_lower_media.sql:
-- no write-down.
-- What a classified host does with a registered medium whose level is below its own:
-- 'read-only' (the default, also for every host recorded before this version) or
-- 'refuse'.
ALTER TABLE host ADD COLUMN lower_media TEXT COLLATE "C" NOT NULL DEFAULT 'read-only' CHECK (lower_media IN ('read-only', 'refuse'));
