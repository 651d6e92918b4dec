//! The SQLite store: migrations on fresh and existing files, WAL, persistence.

mod common;

use common::*;
use segport_core::model::*;
use segport_core::store::{schema_version, Store};
use std::path::{Path, PathBuf};

#[test]
fn fresh_database_is_migrated_to_the_latest_version_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    assert_eq!(store.user_version().unwrap(), schema_version() as i64);
    let db = rusqlite::Connection::open(store.path()).unwrap();
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn existing_database_keeps_its_data_when_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let c = ws
        .save_connection(connection_input(
            "Kept",
            "https://a.klaviyo.com",
            Some("pk_abcdefghijklmnop"),
        ))
        .unwrap();
    drop(ws);
    let store = Store::open_dir(dir.path()).unwrap();
    assert_eq!(store.user_version().unwrap(), schema_version() as i64);
    let again = store.connection(&c.id).unwrap();
    assert_eq!(again.name, "Kept");
    assert_eq!(again.consent.unwrap().by, c.consent.unwrap().by);
}

#[test]
fn a_database_from_a_newer_version_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segport.db");
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.pragma_update(None, "user_version", 999).unwrap();
    }
    let err = Store::open(&path).err().expect("must refuse");
    assert_eq!(err.code(), "store.migration_failed");
    let db = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 999);
}

#[test]
fn two_handles_on_one_file_can_both_write() {
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open_dir(dir.path()).unwrap();
    let b = Store::open_dir(dir.path()).unwrap();
    a.set_setting("x", "1").unwrap();
    b.set_setting("y", "2").unwrap();
    assert_eq!(a.setting("y").unwrap().as_deref(), Some("2"));
    assert_eq!(b.setting("x").unwrap().as_deref(), Some("1"));
}

#[test]
fn the_api_key_is_never_written_to_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let key = "pk_recognisable_needle_0123456789";
    let c = ws
        .save_connection(connection_input(
            "Secret",
            "https://a.klaviyo.com",
            Some(key),
        ))
        .unwrap();
    assert!(c.key_stored);
    drop(ws);
    let mut bytes = std::fs::read(dir.path().join("segport.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("segport.db-wal")) {
        bytes.extend(wal);
    }
    let needle = key.as_bytes();
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));
}

#[test]
fn connection_needs_consent_and_a_pk_key() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let mut input = connection_input("C", "https://a.klaviyo.com", Some("pk_abcdefghijkl"));
    input.consent = false;
    assert_eq!(
        ws.save_connection(input).unwrap_err().code(),
        "invalid_input"
    );
    let input = connection_input("C", "https://a.klaviyo.com", Some("sk_wrongkindofkey"));
    let err = ws.save_connection(input).unwrap_err();
    assert!(err.to_string().contains("pk_"));
    let input = connection_input("C", "https://a.klaviyo.com", None);
    assert_eq!(
        ws.save_connection(input).unwrap_err().code(),
        "invalid_input"
    );
    assert!(ws.connections().unwrap().is_empty());
}

#[test]
fn contributors_see_only_shared_connections_and_cannot_manage_them() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    ws.save_connection(connection_input(
        "Admins",
        "https://a.klaviyo.com",
        Some("pk_aaaaaaaaaaaa"),
    ))
    .unwrap();
    let mut shared = connection_input("Shared", "https://a.klaviyo.com", Some("pk_bbbbbbbbbbbb"));
    shared.usable_by = UsableBy::Contributors;
    ws.save_connection(shared).unwrap();
    ws.set_operator(Some("casey"), Role::Contributor).unwrap();
    let names: Vec<String> = ws
        .connections()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, vec!["Shared"]);
    let err = ws
        .save_connection(connection_input(
            "X",
            "https://a.klaviyo.com",
            Some("pk_cccccccccccc"),
        ))
        .unwrap_err();
    assert_eq!(err.code(), "forbidden");
}

#[test]
fn a_version_1_database_with_data_is_upgraded_with_a_backup_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segport.db");
    segport_core::store::create_at_version(&path, 1).unwrap();
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(
            "INSERT INTO connections (id, name, base_url, usable_by, created_at, updated_at)
                VALUES ('c1', 'Main', 'https://a.klaviyo.com', 'admins', 't', 't');
             INSERT INTO sources (id, name, kind, path, created_at, updated_at)
                VALUES ('s1', 'People', 'csv', '/data/people.csv', 't', 't');
             INSERT INTO segments (id, name, source_id, created_at, updated_at)
                VALUES ('g1', 'All', 's1', 't', 't');
             INSERT INTO exports (id, name, segment_id, connection_id, list_id, mapping, created_at, updated_at)
                VALUES ('e1', 'News', 'g1', 'c1', 'AbC123', '{\"email\":\"email\"}', 't', 't');
             INSERT INTO runs (id, export_id, trigger, who, status, started_at, heartbeat_at, read)
                VALUES ('r1', 'e1', 'cli', 'ada', 'partial', 't', 't', 42);
             INSERT INTO run_rejects (run_id, line, identifier, reason) VALUES ('r1', 7, 'x', 'bad');
             INSERT INTO run_rejects (run_id, line, identifier, reason) VALUES ('r1', 7, 'x', 'bad');",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.user_version().unwrap(), schema_version() as i64);
    let src = store.source("s1").unwrap();
    assert_eq!(
        (src.kind, src.path.as_str(), src.table),
        (SourceKind::Csv, "/data/people.csv", None)
    );
    assert_eq!(store.export("e1").unwrap().mapping.email, "email");
    let run = store.run("r1").unwrap();
    assert_eq!(run.counts.read, 42);
    // Duplicate reject rows collapse to one per line.
    assert_eq!(store.rejects("r1", 10).unwrap().1, 1);
    // The file as it was is kept beside it.
    let backup = dir
        .path()
        .join(format!("segport.db.before-v{}", schema_version()));
    let old = rusqlite::Connection::open(&backup).unwrap();
    let v: i64 = old
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 1);
}

// ---- unreadable files: kept aside, never overwritten; a fresh database in their place ----

/// The `segport.db.unreadable-*` files in `dir` (with their -wal/-shm), sorted.
fn kept_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("segport.db.unreadable-")
        })
        .collect();
    v.sort();
    v
}

/// Open the folder: the file must be kept aside byte for byte, a fresh database must work,
/// and the notice must say why and where the file is. Returns the kept path and the reason.
fn assert_kept_aside(dir: &Path, original: &[u8]) -> (PathBuf, String) {
    let store = Store::open_dir(dir).expect("a fresh database is started");
    let kept = store.kept_aside().expect("the file is kept aside").clone();
    // segport.db.unreadable-YYYYMMDD-HHMMSS
    let name = kept
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let stamp = name.strip_prefix("segport.db.unreadable-").unwrap();
    assert_eq!(stamp.len(), 15, "{name}");
    assert!(
        stamp
            .chars()
            .enumerate()
            .all(|(i, c)| if i == 8 { c == '-' } else { c.is_ascii_digit() }),
        "{name}"
    );
    assert_eq!(kept.path.parent(), Some(dir));
    assert_eq!(std::fs::read(&kept.path).unwrap(), original);
    // The new database is a working, current one.
    assert_eq!(store.user_version().unwrap(), schema_version() as i64);
    store.set_setting("after", "works").unwrap();
    assert_eq!(store.setting("after").unwrap().as_deref(), Some("works"));
    let message = kept.message();
    assert!(
        message.contains(&kept.path.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("started with an empty database"),
        "{message}"
    );
    assert!(message.contains(&kept.reason), "{message}");
    drop(store);
    // Opening again finds a healthy database: nothing more is moved.
    let again = Store::open_dir(dir).unwrap();
    assert!(again.kept_aside().is_none());
    assert_eq!(again.setting("after").unwrap().as_deref(), Some("works"));
    let kept_main: Vec<PathBuf> = kept_files(dir)
        .into_iter()
        .filter(|p| {
            !p.to_string_lossy().ends_with("-wal") && !p.to_string_lossy().ends_with("-shm")
        })
        .collect();
    assert_eq!(kept_main, vec![kept.path.clone()]);
    (kept.path, kept.reason)
}

#[test]
fn a_file_that_is_not_a_database_is_kept_aside_with_its_wal_and_a_fresh_one_started() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = b"this is not sqlite, it is a text file that must survive".repeat(50);
    std::fs::write(dir.path().join("segport.db"), &garbage).unwrap();
    std::fs::write(dir.path().join("segport.db-wal"), b"wal bytes").unwrap();
    std::fs::write(dir.path().join("segport.db-shm"), b"shm bytes").unwrap();
    let (kept, reason) = assert_kept_aside(dir.path(), &garbage);
    assert_eq!(reason, "it is not a SQLite database");
    // The companions moved with it, under the same name (so SQLite would find them together).
    let companion = |suffix: &str| {
        let mut p = kept.clone().into_os_string();
        p.push(suffix);
        PathBuf::from(p)
    };
    assert_eq!(std::fs::read(companion("-wal")).unwrap(), b"wal bytes");
    assert_eq!(std::fs::read(companion("-shm")).unwrap(), b"shm bytes");
}

#[test]
fn a_few_stray_bytes_are_not_mistaken_for_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("segport.db"), b"SQLite format 3\0abc").unwrap();
    let (_, reason) = assert_kept_aside(dir.path(), b"SQLite format 3\0abc");
    assert!(reason.contains("truncated"), "{reason}");
}

#[test]
fn a_truncated_database_is_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open_dir(dir.path()).unwrap();
        // Enough rows for the settings table to span many pages.
        for i in 0..2000 {
            store
                .set_setting(&format!("key-{i:05}"), &"v".repeat(200))
                .unwrap();
        }
    }
    let path = dir.path().join("segport.db");
    // Closing the last connection checkpointed the WAL into the file.
    assert!(!dir.path().join("segport.db-wal").exists());
    let full = std::fs::read(&path).unwrap();
    assert!(full.len() > 100_000, "{}", full.len());
    let truncated = &full[..full.len() / 2 + 123];
    std::fs::write(&path, truncated).unwrap();
    let (kept, reason) = assert_kept_aside(dir.path(), truncated);
    assert!(reason.starts_with("it is damaged"), "{reason}");
    // Nothing the check itself created (an empty -wal, a -shm) is kept with it.
    assert_eq!(kept_files(dir.path()), vec![kept]);
}

#[test]
fn a_database_with_a_damaged_page_is_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open_dir(dir.path()).unwrap();
        for i in 0..500 {
            store
                .set_setting(&format!("key-{i:05}"), &"v".repeat(200))
                .unwrap();
        }
    }
    let path = dir.path().join("segport.db");
    let mut bytes = std::fs::read(&path).unwrap();
    // Scribble over the middle of the file (B-tree pages), keep the header.
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 3000] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let (kept, reason) = assert_kept_aside(dir.path(), &bytes);
    assert!(reason.starts_with("it is damaged"), "{reason}");
    assert_eq!(kept_files(dir.path()), vec![kept]);
}

#[test]
fn another_programs_sqlite_database_is_kept_aside() {
    for user_version in [0, 1, 999] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segport.db");
        {
            let db = rusqlite::Connection::open(&path).unwrap();
            db.execute_batch(
                "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT);
                 INSERT INTO customers (email) VALUES ('ada@example.com');",
            )
            .unwrap();
            db.pragma_update(None, "user_version", user_version)
                .unwrap();
        }
        let original = std::fs::read(&path).unwrap();
        let (kept, reason) = assert_kept_aside(dir.path(), &original);
        assert_eq!(
            reason, "it is not a Segport database: it holds other tables (customers)",
            "user_version {user_version}"
        );
        // Still the other program's database, with its data.
        let other = rusqlite::Connection::open(&kept).unwrap();
        let email: String = other
            .query_row("SELECT email FROM customers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(email, "ada@example.com");
    }
}

#[test]
fn a_database_from_a_newer_segport_is_refused_with_update_advice_and_never_moved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segport.db");
    segport_core::store::create_at_version(&path, schema_version()).unwrap();
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch("CREATE TABLE from_the_future (x TEXT)")
            .unwrap();
        db.pragma_update(None, "user_version", schema_version() + 1)
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open_dir(dir.path()).err().expect("must refuse");
    assert_eq!(err.code(), "store.migration_failed");
    let message = err.to_string();
    assert!(message.contains("made by a newer Segport"), "{message}");
    assert!(message.contains("Update the app"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(kept_files(dir.path()).is_empty());
}

#[test]
fn a_kept_aside_file_never_overwrites_an_existing_one() {
    let dir = tempfile::tempdir().unwrap();
    // Occupy the names the next few seconds would give.
    let now = chrono::Local::now();
    let mut occupied = Vec::new();
    for s in 0..5 {
        let stamp = (now + chrono::Duration::seconds(s)).format("%Y%m%d-%H%M%S");
        let p = dir.path().join(format!("segport.db.unreadable-{stamp}"));
        std::fs::write(&p, format!("occupied {s}")).unwrap();
        occupied.push(p);
    }
    std::fs::write(dir.path().join("segport.db"), b"garbage, not a database").unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    let kept = store.kept_aside().unwrap().path.clone();
    assert!(!occupied.contains(&kept), "{}", kept.display());
    assert_eq!(std::fs::read(&kept).unwrap(), b"garbage, not a database");
    for (s, p) in occupied.iter().enumerate() {
        assert_eq!(std::fs::read_to_string(p).unwrap(), format!("occupied {s}"));
    }
}

#[test]
fn the_app_shows_the_kept_aside_notice_once_whoever_found_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("segport.db"), b"not a database at all").unwrap();
    // The CLI (say, from cron) finds the file and moves it aside...
    let store = Store::open_dir(dir.path()).unwrap();
    let kept = store.kept_aside().unwrap().clone();
    drop(store);
    // ...the app, started later, shows the notice for the whole session...
    let ws = workspace(dir.path());
    assert!(ws.kept_aside().is_none());
    let info = ws.app_info("test").unwrap();
    assert_eq!(info.notice.as_deref(), Some(kept.message().as_str()));
    assert_eq!(ws.app_info("test").unwrap().notice, info.notice);
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["notice"].as_str(), Some(kept.message().as_str()));
    drop(ws);
    // ...and not again at the next start.
    let ws = workspace(dir.path());
    let info = ws.app_info("test").unwrap();
    assert_eq!(info.notice, None);
    assert!(serde_json::to_value(&info).unwrap().get("notice").is_none());
}

#[test]
fn a_healthy_database_is_opened_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    store_of(&ws).set_setting("kept", "yes").unwrap();
    assert!(ws.kept_aside().is_none());
    assert_eq!(ws.app_info("test").unwrap().notice, None);
    drop(ws);
    let store = Store::open_dir(dir.path()).unwrap();
    assert!(store.kept_aside().is_none());
    assert_eq!(store.setting("kept").unwrap().as_deref(), Some("yes"));
    assert!(kept_files(dir.path()).is_empty());
}

// ---- rows this build cannot read: an error naming the table, the row and the value ----

/// A database at the current schema with one row in every table: connection `c1`, source `s1`,
/// segment `g1`, export `e1`, run `r1` and its accepted batch 0 (lines 3 and 5), written with
/// raw SQL, then `damage` (raw SQL too, with CHECK constraints off, as a hand edit or another
/// program could do).
fn store_with(damage: &str) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segport.db");
    drop(Store::open(&path).unwrap());
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(
            "INSERT INTO connections (id, name, base_url, usable_by, created_at, updated_at)
                VALUES ('c1', 'Main', 'https://a.klaviyo.com', 'admins', 't', 't');
             INSERT INTO sources (id, name, kind, path, created_at, updated_at)
                VALUES ('s1', 'People', 'csv', '/data/people.csv', 't', 't');
             INSERT INTO segments (id, name, source_id, created_at, updated_at)
                VALUES ('g1', 'All', 's1', 't', 't');
             INSERT INTO exports (id, name, segment_id, connection_id, list_id, mapping, mode,
                    schedule, created_at, updated_at)
                VALUES ('e1', 'News', 'g1', 'c1', 'AbC123', '{\"email\":\"email\"}', 'mirror',
                    'every 6h', 't', 't');
             INSERT INTO runs (id, export_id, trigger, who, status, started_at, heartbeat_at)
                VALUES ('r1', 'e1', 'schedule', 'ada', 'interrupted', 't', 't');
             INSERT INTO run_jobs (run_id, batch, job_id, profiles, status, first_line,
                    last_line, lines)
                VALUES ('r1', 0, 'job-1', 2, 'accepted', 3, 5, X'0302');",
        )
        .unwrap();
        db.pragma_update(None, "ignore_check_constraints", true)
            .unwrap();
        db.execute_batch(damage).unwrap();
    }
    let store = Store::open(&path).unwrap();
    (dir, store)
}

/// A store error whose text names every one of `parts`.
fn assert_bad_row<T: std::fmt::Debug>(res: segport_core::Result<T>, parts: &[&str]) {
    let err = res.expect_err("an unreadable row must be an error");
    assert_eq!(err.code(), "store.error", "{err}");
    let text = err.to_string();
    for part in parts {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }
}

#[test]
fn the_fixture_with_no_damage_reads_back_as_written() {
    let (_dir, store) = store_with("");
    assert_eq!(store.connection("c1").unwrap().usable_by, UsableBy::Admins);
    assert_eq!(store.source("s1").unwrap().kind, SourceKind::Csv);
    let export = store.export("e1").unwrap();
    assert_eq!(export.mode, ExportMode::Mirror);
    assert_eq!(export.schedule.to_string(), "every 6h");
    let run = store.run("r1").unwrap();
    assert_eq!(
        (run.trigger, run.status),
        (RunTrigger::Schedule, RunStatus::Interrupted)
    );
    let jobs = store.run_jobs("r1").unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, segport_core::store::JobState::Accepted);
    assert_eq!(jobs[0].lines, Some(vec![3, 5]));
}

#[test]
fn a_connection_with_an_unknown_usable_by_is_an_error_not_admins() {
    let (_dir, store) = store_with("UPDATE connections SET usable_by = 'everyone'");
    let parts = ["connections", "c1", "usable_by", "\"everyone\""];
    assert_bad_row(store.connection("c1"), &parts);
    assert_bad_row(store.connections(), &parts);
    assert_bad_row(store.connection_by_name("Main"), &parts);
}

#[test]
fn a_source_with_an_unknown_kind_is_an_error_not_csv() {
    let (_dir, store) = store_with("UPDATE sources SET kind = 'parquet'");
    let parts = ["sources", "s1", "kind", "\"parquet\""];
    assert_bad_row(store.source("s1"), &parts);
    assert_bad_row(store.sources(), &parts);
}

#[test]
fn an_export_with_an_unknown_mode_is_an_error_not_upsert() {
    let (_dir, store) = store_with("UPDATE exports SET mode = 'sync'");
    let parts = ["exports", "e1", "mode", "\"sync\""];
    assert_bad_row(store.export("e1"), &parts);
    assert_bad_row(store.exports(), &parts);
    assert_bad_row(store.export_by_name("News"), &parts);
}

#[test]
fn an_export_with_an_unknown_schedule_is_an_error_not_manual() {
    let (_dir, store) = store_with("UPDATE exports SET schedule = 'hourly-ish'");
    let parts = ["exports", "e1", "schedule", "\"hourly-ish\""];
    assert_bad_row(store.export("e1"), &parts);
    assert_bad_row(store.exports(), &parts);
}

#[test]
fn an_export_with_no_schedule_is_manual_as_written_before_schedules() {
    let (_dir, store) = store_with("UPDATE exports SET schedule = NULL");
    assert_eq!(store.export("e1").unwrap().schedule.to_string(), "manual");
}

#[test]
fn an_export_whose_mapping_is_not_json_names_the_row() {
    let (_dir, store) = store_with("UPDATE exports SET mapping = '{not json'");
    assert_bad_row(store.export("e1"), &["exports", "e1", "mapping"]);
}

#[test]
fn a_run_with_an_unknown_status_is_an_error_not_failed() {
    let (_dir, store) = store_with("UPDATE runs SET status = 'paused'");
    let parts = ["runs", "r1", "status", "\"paused\""];
    assert_bad_row(store.run("r1"), &parts);
    assert_bad_row(store.runs(None, 10), &parts);
    assert_bad_row(store.runs(Some("e1"), 10), &parts);
}

#[test]
fn a_run_with_an_unknown_trigger_is_an_error_not_manual() {
    let (_dir, store) = store_with("UPDATE runs SET trigger = 'cron'");
    let parts = ["runs", "r1", "trigger", "\"cron\""];
    assert_bad_row(store.run("r1"), &parts);
    assert_bad_row(store.resumable_run("e1"), &parts);
}

#[test]
fn a_job_with_an_unknown_status_is_an_error_naming_its_run_and_batch() {
    let (_dir, store) = store_with("UPDATE run_jobs SET status = 'lost'");
    assert_bad_row(
        store.run_jobs("r1"),
        &["run_jobs", "r1 batch 0", "status", "\"lost\""],
    );
}

#[test]
fn a_job_whose_lines_do_not_decode_is_an_error_not_an_old_checkpoint() {
    // 0x80: a varint that never ends.
    let (_dir, store) = store_with("UPDATE run_jobs SET lines = X'0380'");
    assert_bad_row(store.run_jobs("r1"), &["run_jobs", "r1 batch 0", "lines"]);
}

#[test]
fn a_job_with_no_lines_is_an_old_checkpoint() {
    let (_dir, store) = store_with("UPDATE run_jobs SET lines = NULL");
    assert_eq!(store.run_jobs("r1").unwrap()[0].lines, None);
}
