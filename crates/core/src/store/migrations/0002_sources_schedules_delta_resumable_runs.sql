CREATE TABLE sources_v2 (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('csv', 'jsonl', 'sqlite')),
    path TEXT NOT NULL,
    table_name TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO sources_v2 (id, name, kind, path, created_at, updated_at)
    SELECT id, name, kind, path, created_at, updated_at FROM sources;
DROP TABLE sources;
ALTER TABLE sources_v2 RENAME TO sources;
ALTER TABLE exports ADD COLUMN schedule TEXT;
ALTER TABLE exports ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
CREATE TABLE export_state (
    export_id TEXT NOT NULL REFERENCES exports(id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    hash INTEGER NOT NULL,
    PRIMARY KEY (export_id, identifier)
) WITHOUT ROWID;
ALTER TABLE run_jobs ADD COLUMN first_line INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_jobs ADD COLUMN last_line INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_jobs ADD COLUMN completed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_jobs ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
DELETE FROM run_rejects WHERE rowid NOT IN (SELECT min(rowid) FROM run_rejects GROUP BY run_id, line);
DROP INDEX run_rejects_by_run;
CREATE UNIQUE INDEX run_rejects_by_line ON run_rejects(run_id, line);
ALTER TABLE runs ADD COLUMN matched INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN unchanged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN full INTEGER NOT NULL DEFAULT 0;
