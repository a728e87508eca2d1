-- mediagate registry, schema version 5: the fields of the paper register, and media
-- registered before their identity is known.
--   model           brand and model as the register states it (品牌型号)
--   capacity_text   capacity as the register states it ("32GB"); the bound identity
--                   capacity (bytes, read from the device) stays in capacity
--   purpose         purpose or scope of use (用途/使用范围)
--   in_service      date put into service (启用日期), YYYY-MM-DD or ''
--   department_set  1: department was set for this medium; 0: the medium follows its
--                   custodian's department (department then holds the value copied
--                   at registration and is not shown)
--   pending         1: identity pending: imported from a register without the identity
--                   the daemon needs; identity_key is 'pending:<id>', which no device
--                   has, so it works nowhere until 'media bind'
ALTER TABLE media ADD COLUMN model TEXT NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN capacity_text TEXT NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN in_service TEXT NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN department_set INTEGER NOT NULL DEFAULT 0 CHECK (department_set IN (0, 1));
ALTER TABLE media ADD COLUMN pending INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1));
-- Media registered with a department other than their custodian's keep it.
UPDATE media SET department_set = 1
    WHERE department <> '' AND department <> (SELECT p.department FROM people p WHERE p.id = media.custodian_id);
