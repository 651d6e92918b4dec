//! The app and the CLI on one database file: both write at the same time without a single
//! "database is locked", and an unreadable file found by the CLI is reported on stderr and
//! shown by the app at its next start.
//!
//! The app is a `Workspace` in this test process (what the desktop shell holds); the CLI is the
//! real `segport-cli` binary in child processes.

use segport_core::model::{ConnectionInput, Role, UsableBy};
use segport_core::secrets::{use_mock_keychain, KeyringStore};
use segport_core::store::Store;
use segport_core::workspace::Workspace;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segport-cli"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        // Nothing here needs the keychain; never reach for the machine's.
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A config file whose import writes a connection, a source, a segment and an export, all in one
/// transaction; `n` changes the values so every import really updates rows.
fn write_config(dir: &Path, file: &str, prefix: &str, n: usize) -> std::path::PathBuf {
    let path = dir.join(file);
    std::fs::write(
        &path,
        format!(
            r#"version = 1
[[connection]]
name = "{prefix} connection"
base_url = "http://127.0.0.1:{port}"
api_key_env = "SEGPORT_CONCURRENT_KEY"

[[source]]
name = "{prefix} people"
kind = "csv"
path = "people.csv"

[[segment]]
name = "{prefix} everyone"
source = "{prefix} people"

[[export]]
name = "{prefix} newsletter"
segment = "{prefix} everyone"
connection = "{prefix} connection"
list_id = "L{n}"
[export.mapping]
email = "email"
"#,
            port = 10_000 + n % 50_000
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_app_and_the_cli_write_at_the_same_time_without_database_is_locked() {
    use_mock_keychain();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(
        dir.path().join("people.csv"),
        "email\nada@example.com\ngrace@example.com\n",
    )
    .unwrap();
    // The app's one connection to its database: the workspace's, and the test's for the
    // settings and the transaction below.
    let app_store = Arc::new(Store::open_dir(&data).unwrap());
    let ws = Workspace::on_store(&data, app_store.clone(), Arc::new(KeyringStore::new()));
    let app_conn = ws
        .save_connection(ConnectionInput {
            id: None,
            name: "App connection".into(),
            base_url: Some("https://a.klaviyo.com".into()),
            usable_by: UsableBy::Admins,
            api_key: Some("pk_concurrent_app_0000000000".into()),
            consent: true,
            export_user: None,
        })
        .unwrap();

    let run_for = Duration::from_secs(4);
    let stop = Arc::new(AtomicBool::new(false));
    // Two CLI "users" (cron and a script), each running imports and consents back to back.
    let clis: Vec<_> = (0..2)
        .map(|worker| {
            let data = data.clone();
            let dir = dir.path().to_path_buf();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut runs = 0usize;
                let mut failures = Vec::new();
                let prefix = format!("CLI{worker}");
                while !stop.load(Ordering::Relaxed) {
                    let file = write_config(&dir, &format!("cli{worker}.toml"), &prefix, runs);
                    let o = cli(&data, &["config", "import", file.to_str().unwrap()]);
                    if !o.status.success() {
                        failures.push(format!("config import: {}", text(&o)));
                    }
                    let o = cli(
                        &data,
                        &[
                            "connection",
                            "consent",
                            &format!("{prefix} connection"),
                            "--yes",
                        ],
                    );
                    if !o.status.success() {
                        failures.push(format!("connection consent: {}", text(&o)));
                    }
                    runs += 1;
                }
                (runs, failures)
            })
        })
        .collect();

    // Meanwhile the app saves connections, settings and its operator in a tight loop.
    let started = Instant::now();
    let mut app_writes = 0usize;
    let mut app_failures = Vec::new();
    while started.elapsed() < run_for {
        let i = app_writes;
        let results = [
            ws.save_connection(ConnectionInput {
                id: Some(app_conn.id.clone()),
                name: "App connection".into(),
                base_url: Some(format!("https://a{}.klaviyo.com", i % 7)),
                usable_by: if i.is_multiple_of(2) {
                    UsableBy::Admins
                } else {
                    UsableBy::Contributors
                },
                api_key: None,
                consent: true,
                export_user: Some(format!("user {i}")),
            })
            .map(drop),
            app_store.set_setting("app.counter", &i.to_string()),
            ws.set_operator(Some(&format!("operator {}", i % 3)), Role::Admin),
            app_store.transaction(|tx| {
                // Read, then write, in one transaction: the pattern that fails at once with a
                // deferred transaction when another process commits in between.
                let n: i64 = tx.query_row("SELECT count(*) FROM connections", [], |r| r.get(0))?;
                tx.execute(
                    "INSERT INTO settings(key, value) VALUES ('app.connections', ?1)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [n.to_string()],
                )?;
                Ok(())
            }),
        ];
        for r in results {
            if let Err(e) = r {
                app_failures.push(format!("[{}] {e}", e.code()));
            }
        }
        app_writes += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let mut cli_runs = 0;
    let mut cli_failures = Vec::new();
    for t in clis {
        let (runs, failures) = t.join().unwrap();
        cli_runs += runs;
        cli_failures.extend(failures);
    }

    assert!(app_failures.is_empty(), "the app failed: {app_failures:#?}");
    assert!(cli_failures.is_empty(), "the CLI failed: {cli_failures:#?}");
    // Both sides really did write, many times, in the same seconds.
    assert!(app_writes >= 20, "only {app_writes} app rounds");
    assert!(cli_runs >= 4, "only {cli_runs} CLI rounds");
    // And what each wrote is there.
    assert_eq!(
        app_store.setting("app.counter").unwrap().as_deref(),
        Some((app_writes - 1).to_string().as_str())
    );
    let names: Vec<String> = app_store
        .connections()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        names,
        vec!["App connection", "CLI0 connection", "CLI1 connection"]
    );
    assert!(app_store
        .connection_by_name("CLI0 connection")
        .unwrap()
        .unwrap()
        .consent
        .is_some());
}

#[test]
fn an_unreadable_database_found_by_the_cli_is_reported_and_the_app_shows_it_later() {
    use_mock_keychain();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("segport.db"), b"definitely not a database").unwrap();

    let o = cli(&data, &["export", "list"]);
    assert!(o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        stderr.starts_with("warning: The database could not be read (it is not a SQLite database)"),
        "{stderr}"
    );
    assert!(stderr.contains("segport.db.unreadable-"), "{stderr}");
    let kept: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("segport.db.unreadable-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        std::fs::read(&kept[0]).unwrap(),
        b"definitely not a database"
    );
    assert!(stderr.contains(&kept[0].display().to_string()), "{stderr}");

    // A second CLI run finds a healthy database and says nothing.
    let o = cli(&data, &["export", "list"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("warning"), "{}", text(&o));

    // The app, started afterwards, shows what the CLI found.
    let ws = Workspace::open(&data, Arc::new(KeyringStore::new())).unwrap();
    let notice = ws.app_info("test").unwrap().notice.expect("a notice");
    assert!(notice.contains(&kept[0].display().to_string()), "{notice}");
}
