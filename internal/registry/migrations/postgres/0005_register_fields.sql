-- mediagate registry, schema version 5, PostgreSQL twin of sqlite/0005_register_fields.sql:
-- the fields of the paper register, and media registered before their identity is
-- known (see the SQLite file for what each column holds).
ALTER TABLE media ADD COLUMN model TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN capacity_text TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN purpose TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN in_service TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN department_set INTEGER NOT NULL DEFAULT 0 CHECK (department_set IN (0, 1));
ALTER TABLE media ADD COLUMN pending INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1));
-- Media registered with a department other than their custodian's keep it.
UPDATE media SET department_set = 1
    WHERE department <> '' AND department <> (SELECT p.department FROM people p WHERE p.id = media.custodian_id);
