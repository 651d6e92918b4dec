//! Export runs end to end against the sandbox over real HTTP: exactness at 200,000 rows, delta
//! and mirror runs, segment filters and mapping, sources of every kind, dry runs, import errors,
//! faults and a revoked key, schedules.

mod common;

use common::*;
use segport_core::model::*;
use segport_core::schedule::Schedule;
use segport_core::workspace::RunOptions;
use segport_core::{config, sample, ApiKey};
use segport_klaviyo::{Client, Identifier};
use std::collections::BTreeMap;

const FULL: RunOptions = RunOptions {
    full: true,
    dry_run: false,
    restart: false,
    confirm_removals: None,
};
const DRY: RunOptions = RunOptions {
    full: false,
    dry_run: true,
    restart: false,
    confirm_removals: None,
};

fn normal() -> RunOptions {
    RunOptions::default()
}

/// The checkpoint rows of a run must be disjoint batches of at most 10,000 profiles, in line
/// order; returns the profiles they hold in all.
fn checked_checkpoint(ws: &segport_core::workspace::Workspace, run_id: &str) -> u64 {
    let jobs = store_of(ws).run_jobs(run_id).unwrap();
    let mut last = 0;
    for j in &jobs {
        assert!(j.profiles >= 1 && j.profiles <= 10_000, "{j:?}");
        assert!(
            j.first_line > last && j.last_line >= j.first_line,
            "{jobs:?}"
        );
        assert_eq!(j.status, segport_core::store::JobState::Complete, "{j:?}");
        last = j.last_line;
    }
    jobs.iter().map(|j| j.profiles).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_of_200000_rows_equals_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &[], &[]).await;
    let csv = dir.path().join("customers.csv");
    let stats = sample::write_customers_csv(&csv, 200_000, 500, 11).unwrap();
    assert!(stats.invalid_lines.len() > 100);
    let valid = stats.valid_emails.len() as u64;
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("Everyone");
    let mut spec = ExportSpec::csv("Everyone", &csv, &list);
    spec.mapping.first_name = Some("first_name".into());
    spec.mapping.last_name = Some("last_name".into());
    spec.mapping.properties = BTreeMap::from([("orders".into(), "orders".into())]);
    let export = add_export(&ws, &conn.id, spec);

    let s = run(&ws, &export.id, normal()).await.unwrap();

    assert_eq!(sb.list_members(&list), sorted(&stats.valid_emails));
    let c = s.run.counts;
    assert_eq!(s.run.status, RunStatus::Partial, "{:?}", s.run.error);
    assert_eq!(c.read, 200_000);
    assert_eq!(c.matched, 200_000);
    assert_eq!(c.sent, valid);
    assert_eq!(c.imported, valid);
    assert_eq!(c.rejected, stats.invalid_lines.len() as u64);
    assert_eq!(c.failed_in_klaviyo, 0);
    let (rejects, total) = store_of(&ws).rejects(&s.run.id, usize::MAX).unwrap();
    assert_eq!(total, stats.invalid_lines.len() as u64);
    assert_eq!(
        rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
        stats.invalid_lines
    );
    // One bulk import job per checkpoint row: every batch was sent once and acknowledged.
    assert_eq!(checked_checkpoint(&ws, &s.run.id), valid);
    let jobs = store_of(&ws).run_jobs(&s.run.id).unwrap().len() as u64;
    assert_eq!(jobs, 20, "200,000 rows less the rejects need 20 jobs");
    assert_eq!(sb.request_count(BULK), jobs);
    assert_eq!(sb.status_count(202), jobs);
}

/// `n` customers: email, first_name, country, orders.
fn people(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("p{i}@example.com,Name{i},PL,{}", i % 7))
        .collect()
}
const PEOPLE_HEADER: &str = "email,first_name,country,orders";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_runs_send_only_what_changed_and_full_sends_everything() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &[], &[]).await;
    let csv = dir.path().join("people.csv");
    let mut rows = people(1_500);
    rows.insert(10, "broken-email,Nobody,PL,1".into());
    write_csv(&csv, PEOPLE_HEADER, &rows);
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("Delta");
    let mut spec = ExportSpec::csv("Delta", &csv, &list);
    spec.mapping.first_name = Some("first_name".into());
    let export = add_export(&ws, &conn.id, spec);

    let first = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!(first.run.counts.sent, 1_500);
    assert_eq!(first.run.counts.imported, 1_500);
    assert_eq!(first.run.counts.unchanged, 0);
    let posts = sb.request_count(BULK);

    // Unchanged: nothing is sent, every valid row is unchanged.
    let second = run(&ws, &export.id, normal()).await.unwrap();
    assert_ne!(second.run.id, first.run.id);
    assert_eq!(sb.request_count(BULK), posts, "nothing may be sent");
    let c = second.run.counts;
    assert_eq!(
        (c.read, c.matched, c.sent, c.imported),
        (1_501, 1_501, 0, 0)
    );
    assert_eq!(c.unchanged, 1_500);
    assert_eq!(c.rejected, 1);
    assert_eq!(second.run.status, RunStatus::Partial);

    // Three first names change, two rows are added.
    for i in [3usize, 700, 1_499] {
        let at = if i >= 10 { i + 1 } else { i };
        rows[at] = format!("p{i}@example.com,Renamed{i},PL,{}", i % 7);
    }
    rows.push("new1@example.com,New,PL,1".into());
    rows.push("new2@example.com,New,PL,2".into());
    write_csv(&csv, PEOPLE_HEADER, &rows);
    let third = run(&ws, &export.id, normal()).await.unwrap();
    let c = third.run.counts;
    assert_eq!((c.sent, c.imported, c.unchanged), (5, 5, 1_497));
    assert_eq!(sb.request_count(BULK), posts + 1);
    let members = sb.list_members(&list);
    assert_eq!(members.len(), 1_502);
    assert!(members.contains(&"new1@example.com".to_string()));

    // --full ignores the delta state.
    let full = run(&ws, &export.id, FULL).await.unwrap();
    let c = full.run.counts;
    assert_eq!((c.sent, c.imported, c.unchanged), (1_502, 1_502, 0));
    // … and leaves it right: the next normal run sends nothing again.
    let after = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!(after.run.counts.sent, 0);
    assert_eq!(after.run.counts.unchanged, 1_502);
}

async fn removal_scenario(mode: ExportMode) -> (Vec<String>, Vec<String>, RunSummary) {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &[], &[]).await;
    let csv = dir.path().join("people.csv");
    let rows = people(2_500);
    write_csv(&csv, PEOPLE_HEADER, &rows);
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("Mirror");
    let mut spec = ExportSpec::csv("Mirror", &csv, &list);
    spec.mode = mode;
    let export = add_export(&ws, &conn.id, spec);
    let first = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!(first.run.status, RunStatus::Succeeded);
    assert_eq!(first.run.counts.removed, 0);
    let before = sb.list_members(&list);
    assert_eq!(before.len(), 2_500);

    // Four rows leave the file (one from each end and two in the middle); nothing else changes.
    let gone = [0usize, 1_000, 1_001, 2_499];
    let kept: Vec<String> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| !gone.contains(i))
        .map(|(_, r)| r.clone())
        .collect();
    write_csv(&csv, PEOPLE_HEADER, &kept);
    let posts = sb.request_count(BULK);
    let second = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!(
        sb.request_count(BULK),
        posts,
        "nothing changed: nothing sent"
    );
    assert_eq!(second.run.counts.unchanged, 2_496);
    (before, sb.list_members(&list), second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_removes_exactly_the_rows_that_left_and_upsert_never_removes() {
    let (before, after, second) = removal_scenario(ExportMode::Mirror).await;
    let removed: Vec<String> = before
        .iter()
        .filter(|e| !after.contains(e))
        .cloned()
        .collect();
    assert_eq!(
        sorted(&removed),
        sorted(&[
            "p0@example.com".to_string(),
            "p1000@example.com".into(),
            "p1001@example.com".into(),
            "p2499@example.com".into()
        ])
    );
    assert_eq!(after.len(), 2_496);
    assert_eq!(second.run.counts.removed, 4);
    assert_eq!(second.run.status, RunStatus::Succeeded);

    let (before, after, second) = removal_scenario(ExportMode::Upsert).await;
    assert_eq!(after, before, "upsert mode never removes");
    assert_eq!(second.run.counts.removed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_forgets_removed_rows_and_a_returning_row_is_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &[], &[]).await;
    let csv = dir.path().join("people.csv");
    let rows = people(30);
    write_csv(&csv, PEOPLE_HEADER, &rows);
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("Mirror");
    let mut spec = ExportSpec::csv("Mirror", &csv, &list);
    spec.mode = ExportMode::Mirror;
    let export = add_export(&ws, &conn.id, spec);
    run(&ws, &export.id, normal()).await.unwrap();
    write_csv(&csv, PEOPLE_HEADER, &rows[1..]);
    assert_eq!(
        run(&ws, &export.id, normal())
            .await
            .unwrap()
            .run
            .counts
            .removed,
        1
    );
    // Removed twice? No: the row is forgotten.
    assert_eq!(
        run(&ws, &export.id, normal())
            .await
            .unwrap()
            .run
            .counts
            .removed,
        0
    );
    // It comes back: sent again (the delta state forgot it), and it is in the list again.
    write_csv(&csv, PEOPLE_HEADER, &rows);
    let back = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!((back.run.counts.sent, back.run.counts.removed), (1, 0));
    assert_eq!(sb.list_members(&list).len(), 30);
}

/// The profiles the sandbox holds for these emails: email → phone_number.
async fn phones(
    sb: &segport_sandbox::Sandbox,
    emails: &[&str],
) -> BTreeMap<String, Option<String>> {
    let client = Client::new(&sb.base_url(), ApiKey::new(KEY.into())).unwrap();
    let emails: Vec<String> = emails.iter().map(|e| e.to_string()).collect();
    client
        .find_profiles(Identifier::Email, &emails)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.email.unwrap_or_default(), p.phone_number))
        .collect()
}

const FILTER_CSV: &str = "email,country,orders,phone
a@example.com,PL,5,601 234 567
b@example.com,PL,2,601 234 568
c@example.com,DE,9,
d@example.com,PL,3,+48 602 345 678
e@example.com,PL,10,12
F@Example.com,PL,40,603-456-789
g@example.com,PL,3,
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_filter_and_phone_mapping_reach_the_sandbox_as_filtered_e164() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &[], &[]).await;
    let csv = dir.path().join("customers.csv");
    std::fs::write(&csv, FILTER_CSV).unwrap();
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("Loyal PL");
    let mut spec = ExportSpec::csv("Loyal PL", &csv, &list);
    spec.filter = Some("country = \"PL\" and orders >= 3");
    spec.mapping.phone_number = Some("phone".into());
    spec.mapping.default_country = Some("PL".into());
    let export = add_export(&ws, &conn.id, spec);

    let s = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!(
        sb.list_members(&list),
        vec![
            "a@example.com",
            "d@example.com",
            "f@example.com",
            "g@example.com"
        ]
    );
    let c = s.run.counts;
    assert_eq!((c.read, c.matched, c.sent, c.rejected), (7, 5, 4, 1));
    assert_eq!(s.run.status, RunStatus::Partial);
    assert_eq!(s.rejects.len(), 1);
    assert_eq!(s.rejects[0].line, 6);
    assert_eq!(s.rejects[0].identifier, "e@example.com");
    assert!(s.rejects[0].reason.contains("phone"), "{:?}", s.rejects[0]);
    let stored = phones(
        &sb,
        &[
            "a@example.com",
            "d@example.com",
            "f@example.com",
            "g@example.com",
        ],
    )
    .await;
    assert_eq!(
        stored,
        BTreeMap::from([
            ("a@example.com".into(), Some("+48601234567".into())),
            ("d@example.com".into(), Some("+48602345678".into())),
            ("f@example.com".into(), Some("+48603456789".into())),
            ("g@example.com".into(), None),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_and_sqlite_sources_from_a_config_file_export_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &[], &[]).await;
    let (jsonl_list, sqlite_list) = (sb.create_list("J"), sb.create_list("S"));
    std::fs::write(
        dir.path().join("people.jsonl"),
        "{\"email\":\"j1@example.com\",\"orders\":4}\n\n{\"email\":\"j2@example.com\",\"orders\":1}\n{\"email\":\"nope\",\"orders\":9}\n{\"email\":\"j3@example.com\",\"orders\":7}\n",
    )
    .unwrap();
    {
        let db = rusqlite::Connection::open(dir.path().join("shop.db")).unwrap();
        db.execute_batch(
            "CREATE TABLE customers (email TEXT, orders INTEGER);
             INSERT INTO customers VALUES ('s1@example.com', 3), ('s2@example.com', 0),
                ('broken', 5), ('s3@example.com', 12);",
        )
        .unwrap();
    }
    let toml = format!(
        r#"version = 1
[[connection]]
name = "Sandbox"
base_url = "{}"

[[source]]
name = "J"
kind = "jsonl"
path = "people.jsonl"

[[source]]
name = "S"
kind = "sqlite"
path = "shop.db"
table = "customers"

[[segment]]
name = "J buyers"
source = "J"
filter = "orders >= 3"

[[segment]]
name = "S buyers"
source = "S"
filter = "orders >= 3"

[[export]]
name = "J export"
segment = "J buyers"
connection = "Sandbox"
list_id = "{jsonl_list}"
[export.mapping]
email = "email"

[[export]]
name = "S export"
segment = "S buyers"
connection = "Sandbox"
list_id = "{sqlite_list}"
[export.mapping]
email = "email"
"#,
        sb.base_url()
    );
    let file = dir.path().join("segport.toml");
    std::fs::write(&file, toml).unwrap();
    config::import(&ws, &file).unwrap();
    ws.set_key("Sandbox", KEY).unwrap();
    ws.record_consent("Sandbox").unwrap();

    let j = ws.export_named("J export").unwrap();
    let s = run(&ws, &j.id, normal()).await.unwrap();
    assert_eq!(
        sb.list_members(&jsonl_list),
        vec!["j1@example.com", "j3@example.com"]
    );
    assert_eq!((s.run.counts.read, s.run.counts.matched), (4, 3));
    assert_eq!(s.rejects.len(), 1);
    assert_eq!(s.rejects[0].line, 4, "the JSONL line of the bad row");

    let q = ws.export_named("S export").unwrap();
    let s = run(&ws, &q.id, normal()).await.unwrap();
    assert_eq!(
        sb.list_members(&sqlite_list),
        vec!["s1@example.com", "s3@example.com"]
    );
    assert_eq!((s.run.counts.read, s.run.counts.matched), (4, 3));
    assert_eq!(s.rejects[0].line, 3, "the row's position in the table");
}

fn answered(sb: &segport_sandbox::Sandbox) -> u64 {
    [
        200, 201, 202, 204, 400, 401, 403, 404, 409, 413, 429, 500, 502, 503,
    ]
    .iter()
    .map(|s| sb.status_count(*s))
    .sum::<u64>()
        + sb.dropped_count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_sends_nothing_records_nothing_and_counts_what_it_would_send() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &[], &[]).await;
    let csv = dir.path().join("customers.csv");
    std::fs::write(&csv, FILTER_CSV).unwrap();
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("Dry");
    let mut spec = ExportSpec::csv("Dry", &csv, &list);
    spec.filter = Some("orders >= 3");
    spec.mapping.phone_number = Some("phone".into());
    spec.mapping.default_country = Some("PL".into());
    let export = add_export(&ws, &conn.id, spec);

    let s = run(&ws, &export.id, DRY).await.unwrap();
    let c = s.run.counts;
    // c (DE, 9) matches too; e's phone is rejected.
    assert_eq!((c.read, c.matched, c.sent, c.rejected), (7, 6, 5, 1));
    assert_eq!((c.imported, c.failed_in_klaviyo, c.removed), (0, 0, 0));
    assert_eq!(s.rejects_total, 1);
    assert_eq!(answered(&sb), 0, "a dry run makes no request at all");
    assert_eq!(sb.request_count(BULK), 0);
    assert!(
        ws.runs(None).unwrap().is_empty(),
        "a dry run records no run"
    );
    assert!(sb.list_members(&list).is_empty());

    // A dry run after a real one still counts everything it would send with --full… and
    // does not touch the delta state: the next real run sends nothing.
    let real = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!(real.run.counts.sent, 5);
    let posts = sb.request_count(BULK);
    let again = run(&ws, &export.id, DRY).await.unwrap();
    assert_eq!(sb.request_count(BULK), posts);
    assert_eq!(ws.runs(None).unwrap().len(), 1);
    assert_eq!(again.run.counts.rejected, 1);
    assert_eq!(
        run(&ws, &export.id, normal())
            .await
            .unwrap()
            .run
            .counts
            .sent,
        0
    );
}

/// Bulk-import `profiles` (JSON attribute objects) into a new list and wait for the job.
async fn import_directly(sb: &segport_sandbox::Sandbox, profiles: &[&str]) {
    let client = Client::new(&sb.base_url(), ApiKey::new(KEY.into())).unwrap();
    let list = sb.create_list("Existing");
    let profiles: Vec<String> = profiles
        .iter()
        .map(|a| format!("{{\"type\":\"profile\",\"attributes\":{a}}}"))
        .collect();
    let job = client.bulk_import(&list, &profiles).await.unwrap();
    loop {
        let j = client.get_bulk_import_job(&job.id).await.unwrap();
        if j.is_finished() {
            assert_eq!(j.completed_count, profiles.len() as u64);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_klaviyo_fails_in_processing_is_a_reject_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &[], &[]).await;
    // Two existing profiles; the file gives the first one's email with the second one's phone.
    import_directly(
        &sb,
        &[
            r#"{"email":"ann@example.com","phone_number":"+48601000001"}"#,
            r#"{"email":"bob@example.com","phone_number":"+48601000002"}"#,
        ],
    )
    .await;
    let csv = dir.path().join("c.csv");
    std::fs::write(
        &csv,
        "email,phone\ncid@example.com,+48601000003\nann@example.com,+48601000002\ndan@example.com,\n",
    )
    .unwrap();
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("Target");
    let mut spec = ExportSpec::csv("Target", &csv, &list);
    spec.mapping.phone_number = Some("phone".into());
    let export = add_export(&ws, &conn.id, spec);

    let s = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!(
        sb.list_members(&list),
        vec!["cid@example.com", "dan@example.com"]
    );
    let c = s.run.counts;
    assert_eq!(s.run.status, RunStatus::Partial);
    assert_eq!((c.sent, c.imported, c.failed_in_klaviyo), (3, 2, 1));
    assert_eq!(c.rejected, 1, "counted once, as a reject");
    assert_eq!(s.rejects.len(), 1);
    let r = &s.rejects[0];
    assert_eq!((r.line, r.identifier.as_str()), (3, "ann@example.com"));
    assert!(r.reason.contains("Klaviyo failed it"), "{r:?}");
    // The failed row is not in the delta state: the next run tries it again.
    let next = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!((next.run.counts.sent, next.run.counts.unchanged), (1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_on_bulk_import_are_retried_and_counts_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &["bulk_import_profiles=seq:503,html502,drop,ok"], &[]).await;
    let csv = dir.path().join("customers.csv");
    let stats = sample::write_customers_csv(&csv, 30_000, 0, 5).unwrap();
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("Faults");
    let export = add_export(&ws, &conn.id, ExportSpec::csv("Faults", &csv, &list));

    let s = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!(s.run.status, RunStatus::Succeeded, "{:?}", s.run.error);
    assert_eq!(sb.list_members(&list), sorted(&stats.valid_emails));
    let c = s.run.counts;
    assert_eq!((c.sent, c.imported, c.rejected), (30_000, 30_000, 0));
    assert_eq!(checked_checkpoint(&ws, &s.run.id), 30_000);
    let jobs = store_of(&ws).run_jobs(&s.run.id).unwrap().len() as u64;
    assert_eq!(sb.status_count(202), jobs, "one accepted job per batch");
    assert_eq!(sb.status_count(503), 1);
    assert_eq!(sb.status_count(502), 1);
    assert_eq!(sb.dropped_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_503_and_dropped_connections_are_retried_and_counts_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &["bulk_import_profiles=seq:503,drop,504,ok"], &[]).await;
    let csv = dir.path().join("customers.csv");
    let stats = sample::write_customers_csv(&csv, 30_000, 0, 5).unwrap();
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("Faults");
    let export = add_export(&ws, &conn.id, ExportSpec::csv("Faults", &csv, &list));

    let s = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!(s.run.status, RunStatus::Succeeded, "{:?}", s.run.error);
    assert_eq!(sb.list_members(&list), sorted(&stats.valid_emails));
    let c = s.run.counts;
    assert_eq!((c.sent, c.imported, c.rejected), (30_000, 30_000, 0));
    assert_eq!(checked_checkpoint(&ws, &s.run.id), 30_000);
    let jobs = store_of(&ws).run_jobs(&s.run.id).unwrap().len() as u64;
    assert_eq!(jobs, 3);
    assert_eq!(sb.status_count(202), jobs, "one accepted job per batch");
    assert_eq!(sb.status_count(503), 1);
    assert_eq!(sb.status_count(504), 1);
    assert_eq!(sb.dropped_count(), 1);
}

const KEY2: &str = "pk_integrationtestkeytwo00000000000000";

/// A run stopped by a revoked key, then the key is replaced. Returns what the second run
/// returned, with the first run's id and its checkpoint.
async fn revoked_key_scenario() -> (
    segport_sandbox::Sandbox,
    tempfile::TempDir,
    sample::SampleStats,
    String,
    RunSummary,
    RunSummary,
    Vec<segport_core::store::JobRecord>,
) {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(
        20,
        &[&format!("revoke:{KEY}@after:2:bulk_import_profiles")],
        &[KEY2],
    )
    .await;
    let csv = dir.path().join("customers.csv");
    let stats = sample::write_customers_csv(&csv, 60_000, 0, 9).unwrap();
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("Revoked");
    let export = add_export(&ws, &conn.id, ExportSpec::csv("Revoked", &csv, &list));

    let first = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!(first.run.status, RunStatus::Failed);
    let error = first.run.error.clone().unwrap_or_default();
    assert!(error.contains("rejected the API key"), "{error}");
    assert!(!error.contains(KEY));
    let checkpoint = store_of(&ws).run_jobs(&first.run.id).unwrap();
    assert_eq!(
        checkpoint.len(),
        2,
        "two batches were accepted before the key was revoked"
    );
    assert_eq!(sb.status_count(202), 2);

    // The admin pastes a new key.
    let mut input = connection_input("Sandbox", &sb.base_url(), Some(KEY2));
    input.id = Some(conn.id.clone());
    ws.save_connection(input).unwrap();
    let second = run(&ws, &export.id, normal()).await.unwrap();
    assert_eq!(
        second.run.status,
        RunStatus::Succeeded,
        "{:?}",
        second.run.error
    );
    assert_eq!(sb.list_members(&list), sorted(&stats.valid_emails));
    let id = first.run.id.clone();
    (sb, dir, stats, id, first, second, checkpoint)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_fails_the_run_clearly_and_a_new_key_completes_the_list() {
    let (_sb, _dir, stats, _, _, second, _) = revoked_key_scenario().await;
    assert_eq!(second.run.counts.imported, stats.valid_emails.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_revoked_key_the_next_run_resumes_without_resending_acknowledged_batches() {
    let (sb, dir, stats, first_id, _, second, checkpoint) = revoked_key_scenario().await;
    assert_eq!(second.run.id, first_id, "the failed run is taken up again");
    let ws = workspace(&dir.path().join("data"));
    let jobs = store_of(&ws).run_jobs(&second.run.id).unwrap();
    assert!(checkpoint
        .iter()
        .all(|j| jobs.iter().any(|k| k.job_id == j.job_id)));
    assert_eq!(
        sb.status_count(202),
        jobs.len() as u64,
        "no batch sent twice"
    );
    assert_eq!(second.run.counts.sent, stats.valid_emails.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hourly_export_is_due_after_two_hours_and_not_after_a_run_and_manual_never() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let sb = sandbox_with(20, &[], &[]).await;
    let csv = dir.path().join("people.csv");
    write_csv(&csv, PEOPLE_HEADER, &people(20));
    let conn = sandbox_connection(&ws, &sb);
    let list = sb.create_list("Hourly");
    let mut spec = ExportSpec::csv("Hourly", &csv, &list);
    spec.schedule = Schedule::parse("every 1h").unwrap();
    let hourly = add_export(&ws, &conn.id, spec);
    let manual = add_export(&ws, &conn.id, ExportSpec::csv("Manual", &csv, &list));
    let now = chrono::Utc::now();
    let ago = |h: i64| {
        (now - chrono::Duration::hours(h)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let due = |at| -> Vec<String> {
        ws.due_exports(at)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect()
    };

    // Just created: not due yet (the hour counts from its creation).
    assert!(due(now).is_empty());
    // A run that started two hours ago, for both.
    for e in [&hourly, &manual] {
        let old = RunView {
            id: new_id(),
            export_id: e.id.clone(),
            export_name: e.name.clone(),
            trigger: RunTrigger::Schedule,
            who: "test".into(),
            status: RunStatus::Succeeded,
            counts: RunCounts::default(),
            started_at: ago(2),
            finished_at: Some(ago(2)),
            error: None,
        };
        store_of(&ws).insert_run(&old, "test").unwrap();
    }
    assert_eq!(due(now), vec!["Hourly"]);
    // Later still, it is just as due (missed slots run once, not once each).
    assert_eq!(due(now + chrono::Duration::hours(5)), vec!["Hourly"]);

    let s = ws
        .run_export_with(
            &hourly.id,
            RunTrigger::Schedule,
            normal(),
            tokio_util::sync::CancellationToken::new(),
            std::sync::Arc::new(|_: &RunEvent| {}),
        )
        .await
        .unwrap();
    assert_eq!(s.run.trigger, RunTrigger::Schedule);
    assert_eq!(s.run.status, RunStatus::Succeeded);
    assert!(due(now).is_empty());
    assert!(due(chrono::Utc::now() + chrono::Duration::minutes(59)).is_empty());
    assert_eq!(
        due(chrono::Utc::now() + chrono::Duration::minutes(61)),
        vec!["Hourly"]
    );
    // Manual: never, however old its last run or its creation.
    assert!(!due(now + chrono::Duration::days(400)).contains(&"Manual".to_string()));
}
