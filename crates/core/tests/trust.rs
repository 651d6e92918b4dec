//! "Every run sends exactly its segment to exactly its destination": the places where two
//! features meet — a changed file × a continued run, a changed list × the delta state, a cut
//! file × mirror mode, duplicate emails × delta, a restart × Klaviyo's per-row failures, two
//! processes × one database. Against the sandbox over real HTTP and the real SQLite file.

mod common;

use common::*;
use segport_core::model::*;
use segport_core::store::{JobState, Store};
use segport_core::workspace::RunOptions;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const HEADER: &str = "email,first_name";

fn rows(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("p{i}@example.com,Name{i}")).collect()
}

fn emails(range: std::ops::Range<usize>) -> Vec<String> {
    let mut v: Vec<String> = range.map(|i| format!("p{i}@example.com")).collect();
    v.sort();
    v
}

/// A workspace, a sandbox (jobs processed after 20 ms, `faults`), a CSV of `range`'s people and
/// an export of it in `mode` to the list "L".
struct Fixture {
    dir: tempfile::TempDir,
    ws: segport_core::workspace::Workspace,
    sb: segport_sandbox::Sandbox,
    csv: std::path::PathBuf,
    list: String,
    export: Export,
}

async fn fixture(range: std::ops::Range<usize>, faults: &[&str], mode: ExportMode) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, faults, &[]).await;
    let csv = dir.path().join("people.csv");
    write_csv(&csv, HEADER, &rows(range));
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("L");
    let mut spec = ExportSpec::csv("E", &csv, &list);
    spec.mode = mode;
    let export = add_export(&ws, &conn.id, spec);
    Fixture {
        dir,
        ws,
        sb,
        csv,
        list,
        export,
    }
}

/// A run of `export` left `running` by a process that died, with the fingerprint a run
/// would start under now (so it can be continued).
async fn dead_run(ws: &segport_core::workspace::Workspace, export: &Export) -> RunView {
    let view = ws
        .exports()
        .unwrap()
        .into_iter()
        .find(|v| v.id == export.id)
        .unwrap();
    let run = insert_running_run(ws, &view);
    record_fingerprint(ws, &run.id, &export.id).await;
    run
}

fn opts() -> RunOptions {
    RunOptions::default()
}

/// Start a run in the background; cancel it once `ready` holds.
async fn cancelled_run(
    ws: &segport_core::workspace::Workspace,
    export_id: &str,
    ready: impl FnMut() -> bool,
) -> RunSummary {
    cancelled_run_with(ws, export_id, RunOptions::default(), ready).await
}

async fn cancelled_run_with(
    ws: &segport_core::workspace::Workspace,
    export_id: &str,
    opts: RunOptions,
    mut ready: impl FnMut() -> bool,
) -> RunSummary {
    let cancel = CancellationToken::new();
    let task = {
        let (ws, id, c) = (ws.clone(), export_id.to_string(), cancel.clone());
        tokio::spawn(async move {
            ws.run_export_with(
                &id,
                RunTrigger::Manual,
                opts,
                c,
                Arc::new(|_: &RunEvent| {}),
            )
            .await
        })
    };
    let started = std::time::Instant::now();
    while !ready() {
        assert!(started.elapsed().as_secs() < 60, "never ready");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    cancel.cancel();
    let s = task.await.unwrap().unwrap();
    assert_eq!(s.run.status, RunStatus::Cancelled);
    s
}

// ---- 2. A run is continued only if nothing it depends on changed ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_interrupted_before_the_file_changed_is_superseded_and_the_new_file_is_sent_whole() {
    let Fixture {
        dir: _dir,
        ws,
        sb,
        csv,
        list,
        export,
    } = fixture(
        0..30_000,
        &["bulk_import_profiles=slow:400@1"],
        ExportMode::Upsert,
    )
    .await;
    let first = cancelled_run(&ws, &export.id, || {
        ws.runs(None)
            .ok()
            .and_then(|r| {
                r.first()
                    .map(|r| store_of(&ws).run_jobs(&r.id).unwrap().len())
            })
            .unwrap_or(0)
            >= 1
    })
    .await;
    let acked = store_of(&ws).run_jobs(&first.run.id).unwrap();
    assert!(!acked.is_empty());

    // The file is replaced by another one (other people, fewer rows) before the user resumes.
    write_csv(&csv, HEADER, &rows(50_000..62_000));
    let second = run(&ws, &export.id, opts()).await.unwrap();
    assert_ne!(
        second.run.id, first.run.id,
        "a fresh run, not a continuation"
    );
    assert_eq!(second.run.status, RunStatus::Succeeded);
    assert_eq!(second.run.counts.sent, 12_000, "the whole new file is sent");
    let old = store_of(&ws).run(&first.run.id).unwrap();
    assert_eq!(old.status, RunStatus::Superseded);
    let why = old.error.unwrap_or_default();
    assert!(why.contains("source file changed"), "{why}");
    // Every new row reached the list: none was skipped for an old checkpoint's lines.
    let members = sb.list_members(&list);
    for e in emails(50_000..62_000) {
        assert!(members.binary_search(&e).is_ok(), "{e} missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_interrupted_run_continues_and_start_over_supersedes_it() {
    let Fixture {
        dir: _dir,
        ws,
        sb,
        csv: _csv,
        list,
        export,
    } = fixture(
        0..30_000,
        &["bulk_import_profiles=slow:400@1"],
        ExportMode::Upsert,
    )
    .await;
    let has_jobs = || {
        ws.runs(None)
            .ok()
            .and_then(|r| {
                r.first()
                    .map(|r| store_of(&ws).run_jobs(&r.id).unwrap().len())
            })
            .unwrap_or(0)
            >= 1
    };
    let first = cancelled_run(&ws, &export.id, has_jobs).await;
    // Nothing changed: Resume continues the same run.
    let resumed = run(&ws, &export.id, RunOptions::default()).await.unwrap();
    assert_eq!(resumed.run.id, first.run.id, "continued");
    assert_eq!(sb.list_members(&list), emails(0..30_000));

    // "Send everyone again", cancelled half-way, then "Start over": the cancelled run is
    // closed, a fresh one starts.
    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    let second = cancelled_run_with(&ws, &export.id, full, || {
        let runs = ws.runs(None).unwrap();
        runs.len() == 2 && !store_of(&ws).run_jobs(&runs[0].id).unwrap().is_empty()
    })
    .await;
    let restart = RunOptions {
        restart: true,
        ..RunOptions::default()
    };
    let third = run(&ws, &export.id, restart).await.unwrap();
    assert_ne!(third.run.id, second.run.id);
    let closed = store_of(&ws).run(&second.run.id).unwrap();
    assert_eq!(closed.status, RunStatus::Superseded);
    assert!(closed.error.unwrap().contains("fresh run"));
    assert_eq!(third.run.status, RunStatus::Succeeded);
    assert_eq!(sb.list_members(&list), emails(0..30_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_started_more_than_a_week_ago_is_not_continued() {
    let Fixture {
        dir: _dir,
        ws,
        sb: _sb,
        csv: _csv,
        list: _list,
        export: e,
    } = fixture(0..100, &[], ExportMode::Upsert).await;
    let old = dead_run(&ws, &e).await;
    store_of(&ws)
        .transaction(|tx| {
            tx.execute(
                "UPDATE runs SET started_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1",
                [&old.id],
            )?;
            Ok(())
        })
        .unwrap();
    let s = run(&ws, &e.id, opts()).await.unwrap();
    assert_ne!(s.run.id, old.id);
    let old = store_of(&ws).run(&old.id).unwrap();
    assert_eq!(old.status, RunStatus::Superseded);
    assert!(old.error.unwrap().contains("7 days"));
    assert_eq!(s.run.counts.sent, 100);
}

// ---- 3. The delta state belongs to a destination ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_pointed_at_another_list_or_account_sends_its_whole_segment_there() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &[], &[]).await;
    let csv = dir.path().join("people.csv");
    write_csv(&csv, HEADER, &rows(0..500));
    let conn = sandbox_connection(&ws, &sb);
    let first_list = sb.create_list("First");
    let second_list = sb.create_list("Second");
    let mut export = add_export(&ws, &conn.id, ExportSpec::csv("E", &csv, &first_list));
    let a = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!(a.run.counts.sent, 500);
    let again = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!(
        (again.run.counts.sent, again.run.counts.unchanged),
        (0, 500)
    );

    // Another list: everyone goes there.
    export.list_id = second_list.clone();
    store_of(&ws).put_export(&export).unwrap();
    let b = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!((b.run.counts.sent, b.run.counts.unchanged), (500, 0));
    assert_eq!(sb.list_members(&second_list), emails(0..500));

    // Back to the first list: what it holds is still known (nothing sent).
    export.list_id = first_list.clone();
    store_of(&ws).put_export(&export).unwrap();
    let back = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!((back.run.counts.sent, back.run.counts.unchanged), (0, 500));

    // Another Klaviyo account (another sandbox) behind a new connection: everyone again.
    let other = sandbox_with(20, &[], &[]).await;
    let other_list = other.create_list("Other");
    let conn2 = ws
        .save_connection(connection_input("Other", &other.base_url(), Some(KEY)))
        .unwrap();
    export.connection_id = Some(conn2.id);
    export.list_id = other_list.clone();
    store_of(&ws).put_export(&export).unwrap();
    let c = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!(c.run.counts.sent, 500);
    assert_eq!(other.list_members(&other_list), emails(0..500));
}

// ---- 4. Mirror mode never empties a list by accident ----

async fn mirror_setup(n: usize) -> Fixture {
    let f = fixture(0..n, &[], ExportMode::Mirror).await;
    let first = run(&f.ws, &f.export.id, opts()).await.unwrap();
    assert_eq!(first.run.status, RunStatus::Succeeded);
    assert_eq!(f.sb.list_members(&f.list).len(), n);
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_file_cut_to_ten_rows_removes_nobody_until_the_number_is_confirmed() {
    let Fixture {
        dir: _dir,
        ws,
        sb,
        csv,
        list,
        export,
    } = mirror_setup(2_000).await;
    write_csv(&csv, HEADER, &rows(0..10));
    let held = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!(held.run.status, RunStatus::Held);
    assert_eq!(held.run.counts.held, 1_990);
    assert_eq!(held.run.counts.removed, 0);
    let why = held.run.error.clone().unwrap();
    assert!(why.contains("1990") && why.contains(&list), "{why}");
    assert_eq!(sb.list_members(&list).len(), 2_000, "nobody removed");

    // A confirmation of fewer than that does not do it either.
    let too_few = RunOptions {
        confirm_removals: Some(1_000),
        ..RunOptions::default()
    };
    let again = run(&ws, &export.id, too_few).await.unwrap();
    assert_eq!(again.run.status, RunStatus::Held);
    assert_eq!(sb.list_members(&list).len(), 2_000);

    let confirmed = RunOptions {
        confirm_removals: Some(1_990),
        ..RunOptions::default()
    };
    let done = run(&ws, &export.id, confirmed).await.unwrap();
    assert_eq!(done.run.status, RunStatus::Succeeded);
    assert_eq!(done.run.counts.removed, 1_990);
    assert_eq!(sb.list_members(&list), emails(0..10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_mirror_removals_happen_without_asking_and_the_limits_are_per_export() {
    let Fixture {
        dir: _dir,
        ws,
        sb,
        csv,
        list,
        mut export,
    } = mirror_setup(1_000).await;
    write_csv(&csv, HEADER, &rows(0..980));
    let s = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!(s.run.status, RunStatus::Succeeded);
    assert_eq!(s.run.counts.removed, 20);
    assert_eq!(sb.list_members(&list), emails(0..980));

    // 30 % leave: held by default; an export allowing 50 % removes them.
    write_csv(&csv, HEADER, &rows(0..686));
    assert_eq!(
        run(&ws, &export.id, opts()).await.unwrap().run.status,
        RunStatus::Held
    );
    export.removal_guard = RemovalGuard {
        max_percent: 50,
        max_count: 1_000,
    };
    store_of(&ws).put_export(&export).unwrap();
    let s = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!(s.run.status, RunStatus::Succeeded);
    assert_eq!(s.run.counts.removed, 294);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_run_with_unreadable_rows_holds_even_a_small_removal() {
    let Fixture {
        dir: _dir,
        ws,
        sb,
        csv,
        list,
        ..
    } = mirror_setup(1_000).await;
    // One row cannot be read (an unquoted comma shifted its values): whose row it was is
    // unknown, so removing the one profile that seems to have left could be a mistake.
    let mut r = rows(0..999);
    r.push("p999@example.com,Name, Jr.,extra".into());
    write_csv(&csv, HEADER, &r);
    let export = ws.exports().unwrap().remove(0);
    let s = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!(s.run.status, RunStatus::Held, "{:?}", s.run);
    assert_eq!(s.run.counts.held, 1);
    assert!(s.run.error.unwrap().contains("could not be read"));
    assert_eq!(sb.list_members(&list).len(), 1_000);
}

// ---- 5. One identifier, one profile per run ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_repeating_an_email_or_phone_are_duplicates_of_the_first_and_a_delta_run_settles() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &[], &[]).await;
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "email,first_name,phone\n\
         anna@example.com,Anna,+48601234567\n\
         bob@example.com,Bob,\n\
         ANNA@Example.com ,Anna B,\n\
         carl@example.com,Carl,+48 601 234 567\n\
         dora@example.com,Dora,+48601000001\n\
         broken@@example.com,Eve,\n\
         broken@@example.com,Eve again,\n",
    )
    .unwrap();
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("L");
    let mut spec = ExportSpec::csv("E", &csv, &list);
    spec.mapping.first_name = Some("first_name".into());
    spec.mapping.phone_number = Some("phone".into());
    let export = add_export(&ws, &conn.id, spec);

    // The mapping preview shows the same: line 4 is a duplicate of line 2.
    let preview = ws
        .preview_mapping(&export.segment_id, &export.mapping)
        .unwrap();
    let line4 = preview.profiles.iter().find(|p| p.line == 4).unwrap();
    assert!(
        line4
            .reject
            .as_deref()
            .is_some_and(|r| r.contains("duplicate of line 2")),
        "{line4:?}"
    );
    let dry = RunOptions {
        dry_run: true,
        ..RunOptions::default()
    };
    let d = run(&ws, &export.id, dry).await.unwrap();
    assert_eq!((d.run.counts.sent, d.run.counts.rejected), (3, 4));

    let first = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!(first.run.counts.sent, 3);
    assert_eq!(first.rejects.len(), 4);
    // A repeated broken email is broken twice, not a "duplicate" of a row never sent.
    for r in &first.rejects[2..] {
        assert!(r.reason.contains("not a valid address"), "{r:?}");
    }
    assert_eq!(first.rejects[0].line, 4);
    assert!(
        first.rejects[0].reason.contains("duplicate of line 2"),
        "{:?}",
        first.rejects
    );
    assert_eq!(first.rejects[1].line, 5);
    assert!(first.rejects[1].reason.contains("duplicate of line 2"));
    assert!(first.rejects[1].reason.contains("phone"));
    assert_eq!(
        sb.list_members(&list),
        ["anna@example.com", "bob@example.com", "dora@example.com"]
    );
    // Nothing changed: nothing is sent again, run after run.
    for _ in 0..2 {
        let again = run(&ws, &export.id, opts()).await.unwrap();
        assert_eq!(
            (again.run.counts.sent, again.run.counts.unchanged),
            (0, 3),
            "{:?}",
            again.rejects
        );
    }
}

// ---- 7. Klaviyo's per-row failures keep their lines after a restart ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_errors_of_jobs_taken_up_after_a_restart_name_their_lines_and_stay_out_of_the_delta_state(
) {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    // Jobs take 3 s: the run is cancelled with its job still open.
    let sb = sandbox_with(3_000, &[], &[]).await;
    let conn = sandbox_connection(&ws, &sb);
    // Profiles that already own some phone numbers in Klaviyo.
    let owners = dir.path().join("owners.csv");
    std::fs::write(
        &owners,
        "email,phone\nowner1@example.com,+48601000011\nowner2@example.com,+48601000012\n\
         p49@example.com,\np200@example.com,\n",
    )
    .unwrap();
    let owners_list = sb.create_list("Owners");
    let mut spec = ExportSpec::csv("Owners", &owners, &owners_list);
    spec.mapping.phone_number = Some("phone".into());
    let o = add_export(&ws, &conn.id, spec);
    run(&ws, &o.id, opts()).await.unwrap();

    // The export: 300 people; lines 51 and 202 carry a phone another profile owns.
    let csv = dir.path().join("people.csv");
    let mut text = String::from("email,phone\n");
    for i in 0..300 {
        let phone = match i + 2 {
            51 => "+48601000011",
            202 => "+48601000012",
            _ => "",
        };
        text.push_str(&format!("p{i}@example.com,{phone}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let list = sb.create_list("L");
    let mut spec = ExportSpec::csv("E", &csv, &list);
    spec.mapping.phone_number = Some("phone".into());
    let export = add_export(&ws, &conn.id, spec);
    let first = cancelled_run(&ws, &export.id, || {
        ws.runs(Some(&export.id))
            .ok()
            .and_then(|r| {
                r.first()
                    .map(|r| store_of(&ws).run_jobs(&r.id).unwrap().len())
            })
            .unwrap_or(0)
            == 1
    })
    .await;
    let jobs = store_of(&ws).run_jobs(&first.run.id).unwrap();
    assert_eq!(jobs[0].status, JobState::Accepted, "still open at the stop");

    // Taken up again: the job is polled, its two failures name their true lines.
    let resumed = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!(resumed.run.id, first.run.id);
    assert_eq!(resumed.run.counts.failed_in_klaviyo, 2);
    let lines: Vec<u64> = resumed.rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, [51, 202], "{:?}", resumed.rejects);
    assert_eq!(resumed.rejects[0].identifier, "p49@example.com");

    // The failed rows were not recorded as sent: the next run sends them (only them) again.
    let next = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!((next.run.counts.sent, next.run.counts.unchanged), (2, 298));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_or_expired_job_is_not_acknowledged_its_rows_are_sent_again() {
    let Fixture {
        dir: _dir,
        ws,
        sb,
        csv: _csv,
        list,
        export,
    } = fixture(0..300, &[], ExportMode::Upsert).await;
    // A run that died after Klaviyo had cancelled its first job (lines 2–101) and its second
    // job (lines 102–201) had expired.
    let dead = dead_run(&ws, &export).await;
    for (batch, first, state) in [
        (0u64, 2u64, JobState::Cancelled),
        (1, 102, JobState::Expired),
    ] {
        let lines: Vec<u64> = (first..first + 100).collect();
        store_of(&ws)
            .record_job(&dead.id, batch, &format!("gone{batch}"), &lines)
            .unwrap();
        store_of(&ws)
            .complete_job(&dead.id, batch, state, 0, 0)
            .unwrap();
    }
    let s = run(&ws, &export.id, opts()).await.unwrap();
    assert_eq!(s.run.id, dead.id, "continued");
    assert_eq!(s.run.counts.sent, 300, "those 200 rows are sent again");
    assert_eq!(sb.list_members(&list), emails(0..300));
}

// ---- 1. Ownership: two starts at once, in one process ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_starts_of_one_export_at_the_same_instant_give_exactly_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    // A slow list check: both starts are "planning" at the same time.
    let sb = sandbox_with(20, &["get_list=slow:700@1"], &[]).await;
    let csv = dir.path().join("people.csv");
    write_csv(&csv, HEADER, &rows(0..20_000));
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("L");
    let export = add_export(&ws, &conn.id, ExportSpec::csv("E", &csv, &list));
    let start = || {
        let (ws, id) = (ws.clone(), export.id.clone());
        tokio::spawn(async move { run(&ws, &id, RunOptions::default()).await })
    };
    let (a, b) = (start(), start());
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let (ok, refused) = match (a, b) {
        (Ok(s), Err(e)) | (Err(e), Ok(s)) => (s, e),
        other => panic!("exactly one run expected: {other:?}"),
    };
    assert_eq!(ok.run.status, RunStatus::Succeeded);
    assert_eq!(refused.code(), "run.already_running", "{refused}");
    assert!(refused.to_string().contains("already running"));
    assert_eq!(ws.runs(None).unwrap().len(), 1);
    assert_eq!(sb.request_count(BULK), 2, "one run's two batches");
    assert_eq!(sb.list_members(&list), emails(0..20_000));
}

// ---- 13. Two processes opening an old database at once ----

#[test]
fn opening_an_old_database_from_many_processes_at_once_migrates_it_once() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segport.db");
        segport_core::store::create_at_version(&path, 1).unwrap();
        let barrier = Arc::new(std::sync::Barrier::new(6));
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    Store::open(&path).map(|s| s.user_version().unwrap())
                })
            })
            .collect();
        for h in handles {
            let v = h.join().unwrap();
            assert_eq!(
                v.as_ref().ok().copied(),
                Some(segport_core::store::schema_version() as i64),
                "round {round}: {v:?}"
            );
        }
    }
}

#[test]
fn a_config_file_sets_an_exports_removal_limits_and_exports_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    write_csv(&dir.path().join("c.csv"), HEADER, &rows(0..3));
    let toml = dir.path().join("s.toml");
    std::fs::write(
        &toml,
        r#"version = 1
[[connection]]
name = "C"
base_url = "https://a.klaviyo.com"
api_key_env = "SEGPORT_TRUST_KEY"
[[source]]
name = "S"
kind = "csv"
path = "c.csv"
[[segment]]
name = "All"
source = "S"
[[export]]
name = "E"
segment = "All"
connection = "C"
list_id = "AbC123"
mode = "mirror"
removal_guard = { max_percent = 25, max_count = 50 }
[export.mapping]
email = "email"
"#,
    )
    .unwrap();
    segport_core::config::import(&ws, &toml).unwrap();
    let e = ws.export_named("E").unwrap();
    assert_eq!(
        e.removal_guard,
        RemovalGuard {
            max_percent: 25,
            max_count: 50
        }
    );
    let text = segport_core::config::export(&ws).unwrap();
    assert!(text.contains("max_percent = 25"), "{text}");
    // Written back, it imports to the same.
    std::fs::write(&toml, &text).unwrap();
    segport_core::config::import(&ws, &toml).unwrap();
    assert_eq!(ws.export_named("E").unwrap().removal_guard, e.removal_guard);
}
