-- mediagate registry, schema version 9, PostgreSQL twin of sqlite/0009_office_log.sql: the office-wide log and the inspection
-- packet search the hosts' collected rows (office_host_events, version 8) by time,
-- by medium and by kind within a time range. A single host's registry keeps the
-- table empty; the indexes cost it nothing.
CREATE INDEX office_host_events_time ON office_host_events (time);
CREATE INDEX office_host_events_medium ON office_host_events (medium, time);
CREATE INDEX office_host_events_kind ON office_host_events (kind, time);
