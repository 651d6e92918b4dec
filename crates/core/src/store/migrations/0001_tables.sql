CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    destination TEXT NOT NULL DEFAULT 'klaviyo',
    base_url TEXT NOT NULL,
    usable_by TEXT NOT NULL DEFAULT 'admins' CHECK (usable_by IN ('admins', 'contributors')),
    api_key_env TEXT,
    consent_by TEXT,
    consent_at TEXT,
    export_user TEXT,
    account_id TEXT,
    account_name TEXT,
    verified_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE sources (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('csv')),
    path TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE segments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE RESTRICT,
    filter TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE RESTRICT,
    connection_id TEXT REFERENCES connections(id) ON DELETE SET NULL,
    list_id TEXT NOT NULL,
    mapping TEXT NOT NULL,
    mode TEXT NOT NULL DEFAULT 'upsert',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    export_id TEXT NOT NULL REFERENCES exports(id) ON DELETE CASCADE,
    trigger TEXT NOT NULL,
    who TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    heartbeat_at TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    sent INTEGER NOT NULL DEFAULT 0,
    imported INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    failed_in_klaviyo INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX runs_by_export ON runs(export_id, started_at);
CREATE TABLE run_rejects (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    line INTEGER NOT NULL,
    identifier TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX run_rejects_by_run ON run_rejects(run_id, line);
CREATE TABLE run_jobs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    batch INTEGER NOT NULL,
    job_id TEXT NOT NULL,
    profiles INTEGER NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (run_id, batch)
);
