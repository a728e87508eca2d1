-- mediagate registry, schema version 4, PostgreSQL twin of sqlite/0004_host_device_pins.sql:
-- allowed devices pinned to what they presented.
-- A JSON list of {"device": "vid:pid", "interfaces": ["03/01/01", …], "hash": "…"}:
-- the interface triples and descriptor hash of each allowed VID:PID when it was
-- allowed. Hosts recorded before this version have none (their entries are unpinned).
ALTER TABLE host ADD COLUMN device_pins TEXT COLLATE "C" NOT NULL DEFAULT '[]';
