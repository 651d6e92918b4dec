//! The SQLite store: migrations on fresh and existing files, WAL, persistence.

mod common;

use common::*;
use segport_core::model::*;
use segport_core::store::{schema_version, Store};

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

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segport.db");
    std::fs::write(
        &path,
        b"this is not sqlite, it is a text file that must survive",
    )
    .unwrap();
    let err = Store::open(&path).err().expect("must refuse");
    assert_eq!(err.code(), "store.open_failed");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"this is not sqlite, it is a text file that must survive"
    );
}
