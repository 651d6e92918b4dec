ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN fingerprint TEXT;
ALTER TABLE runs ADD COLUMN destination TEXT;
ALTER TABLE runs ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_jobs ADD COLUMN lines BLOB;
ALTER TABLE exports ADD COLUMN removal_guard TEXT;
CREATE TABLE export_state_v3 (
    export_id TEXT NOT NULL REFERENCES exports(id) ON DELETE CASCADE,
    destination TEXT NOT NULL,
    identifier TEXT NOT NULL,
    hash INTEGER NOT NULL,
    phone INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (export_id, destination, identifier)
) WITHOUT ROWID;
INSERT INTO export_state_v3 (export_id, destination, identifier, hash)
    SELECT s.export_id, coalesce(c.account_id, '') || '/' || e.list_id, s.identifier, s.hash
    FROM export_state s JOIN exports e ON e.id = s.export_id
    LEFT JOIN connections c ON c.id = e.connection_id;
DROP TABLE export_state;
ALTER TABLE export_state_v3 RENAME TO export_state;
