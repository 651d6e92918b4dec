//! The engine against the sandbox over real HTTP.

mod common;

use common::*;
use segport_core::engine::EventSink;
use segport_core::model::*;
use segport_core::sample;
use segport_core::store::JobState;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

fn recorder() -> (EventSink, Arc<Mutex<Vec<RunEvent>>>) {
    let events = Arc::new(Mutex::new(vec![]));
    let e2 = events.clone();
    (
        Arc::new(move |ev: &RunEvent| e2.lock().unwrap().push(ev.clone())),
        events,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_50k_rows_list_equals_exactly_the_valid_rows_and_each_bad_row_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let sb = sandbox().await;
    let csv = dir.path().join("customers.csv");
    let stats = sample::write_customers_csv(&csv, 50_000, 300, 7).unwrap();
    assert!(
        stats.invalid_lines.len() > 50,
        "the sample must contain bad rows"
    );

    let conn = ws
        .save_connection(connection_input("Sandbox", &sb.base_url(), Some(KEY)))
        .unwrap();
    let list_id = sb.create_list("Customers");
    let export = ws
        .save_export(export_input(&ws, "All customers", &conn.id, &csv, &list_id))
        .unwrap();
    // Saving does not run it.
    assert_eq!(sb.request_count("POST /api/profile-bulk-import-jobs"), 0);
    assert!(ws.runs(Some(&export.id)).unwrap().is_empty());

    let (sink, events) = recorder();
    let summary = ws
        .run_export(
            &export.id,
            RunTrigger::Manual,
            CancellationToken::new(),
            sink,
        )
        .await
        .unwrap();

    let mut expected = stats.valid_emails.clone();
    expected.sort();
    assert_eq!(sb.list_members(&list_id), expected);

    let run = &summary.run;
    assert_eq!(run.status, RunStatus::Partial);
    assert_eq!(run.counts.read, 50_000);
    assert_eq!(run.counts.sent, expected.len() as u64);
    assert_eq!(run.counts.imported, expected.len() as u64);
    assert_eq!(run.counts.rejected, stats.invalid_lines.len() as u64);
    assert_eq!(summary.rejects_total, stats.invalid_lines.len() as u64);
    // Every bad row is reported with its line and a reason.
    let (rejects, _) = store_of(&ws).rejects(&run.id, usize::MAX).unwrap();
    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, stats.invalid_lines);
    assert!(rejects.iter().all(|r| r.reason.contains("email")));
    // At most 10,000 profiles per job: 50,000 rows need at least five jobs.
    assert!(sb.request_count("POST /api/profile-bulk-import-jobs") >= 5);

    // Progress reached the sink and ended on a final event with the same counts.
    let events = events.lock().unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.phase, RunPhase::Finished);
    assert_eq!(last.counts, run.counts);
    assert!(events.iter().all(|e| e.run_id == run.id));
    // The run is in the history with who ran it.
    let history = ws.runs(None).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].who, ws.operator().unwrap().name);
    assert_eq!(history[0].counts, run.counts);
}

#[tokio::test]
async fn missing_email_column_fails_the_run_with_an_actionable_message() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let sb = sandbox().await;
    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, "email,name\na@example.com,A\n").unwrap();
    let (_, export) = connection_and_export(&ws, &sb, &csv, &sb.create_list("L"));
    // The file changes after the export was saved: the column is gone.
    std::fs::write(&csv, "mail,name\na@example.com,A\n").unwrap();
    let (sink, _) = recorder();
    let err = ws
        .run_export(
            &export.id,
            RunTrigger::Manual,
            CancellationToken::new(),
            sink,
        )
        .await
        .unwrap_err();
    // The mapping names the missing column and lists the ones the file has.
    assert_eq!(err.code(), "export.mapping_invalid");
    let msg = err.to_string();
    assert!(
        msg.contains("email") && msg.contains("mail") && msg.contains("name"),
        "{msg}"
    );
    let runs = ws.runs(None).unwrap();
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert!(runs[0].error.as_deref().unwrap().contains("email"));
    assert_eq!(sb.request_count("POST /api/profile-bulk-import-jobs"), 0);
}

#[tokio::test]
async fn rejected_key_and_unreachable_host_have_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let sb = sandbox().await;
    let bad = ws
        .save_connection(connection_input(
            "Wrong key",
            &sb.base_url(),
            Some("pk_thiskeyisnotknowntothesandbox0000"),
        ))
        .unwrap();
    let err = ws.verify_connection(&bad.id).await.unwrap_err();
    assert_eq!(err.code(), "klaviyo.key_rejected");

    let good = ws
        .save_connection(connection_input("Right key", &sb.base_url(), Some(KEY)))
        .unwrap();
    let v = ws.verify_connection(&good.id).await.unwrap();
    assert_eq!(v.verified.unwrap().account_name, "Segport Sandbox");

    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = ws
        .save_connection(connection_input(
            "Nowhere",
            &format!("http://127.0.0.1:{port}"),
            Some(KEY),
        ))
        .unwrap();
    let err = ws.verify_connection(&gone.id).await.unwrap_err();
    assert_eq!(err.code(), "klaviyo.unreachable");
    assert!(err.to_string().contains("base URL"), "{err}");
    assert!(!err.to_string().contains(KEY));
}

#[tokio::test]
async fn cancel_stops_the_run_and_records_it_as_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let sb = sandbox().await;
    let csv = dir.path().join("big.csv");
    sample::write_customers_csv(&csv, 60_000, 0, 3).unwrap();
    let (_, export) = connection_and_export(&ws, &sb, &csv, &sb.create_list("L"));
    let cancel = CancellationToken::new();
    cancel.cancel();
    let (sink, _) = recorder();
    let summary = ws
        .run_export(&export.id, RunTrigger::Manual, cancel, sink)
        .await
        .unwrap();
    assert_eq!(summary.run.status, RunStatus::Cancelled);
    assert!(summary.run.counts.read < 60_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_batches_are_on_the_wire_keeps_them_and_the_resume_sends_only_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    // Every import takes 800 ms to answer: a cancel always finds some on the wire.
    let sb = sandbox_with(20, &["bulk_import_profiles=slow:800@1"], &[]).await;
    let csv = dir.path().join("big.csv");
    let stats = sample::write_customers_csv(&csv, 60_000, 0, 3).unwrap();
    let valid = stats.valid_emails.len() as u64;
    let list = sb.create_list("L");
    let (_, export) = connection_and_export(&ws, &sb, &csv, &list);
    let cancel = CancellationToken::new();
    let (sink, _) = recorder();
    let c2 = cancel.clone();
    let sb_count = || sb.request_count("POST /api/profile-bulk-import-jobs");
    let run = {
        let ws = ws.clone();
        let id = export.id.clone();
        tokio::spawn(async move { ws.run_export(&id, RunTrigger::Manual, c2, sink).await })
    };
    while sb_count() < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    cancel.cancel();
    let summary = run.await.unwrap().unwrap();
    assert_eq!(summary.run.status, RunStatus::Cancelled);
    // Every import Klaviyo received is checkpointed: nothing it accepted is forgotten.
    let sent_before = sb_count();
    let jobs = store_of(&ws).run_jobs(&summary.run.id).unwrap();
    assert_eq!(jobs.len() as u64, sent_before, "{jobs:?}");
    let acked: u64 = jobs.iter().map(|j| j.profiles).sum();

    let (sink, _) = recorder();
    let resumed = ws
        .run_export(
            &export.id,
            RunTrigger::Manual,
            CancellationToken::new(),
            sink,
        )
        .await
        .unwrap();
    assert_eq!(
        resumed.run.id,
        summary.run.id,
        "the same run continues: {:?}",
        store_of(&ws).run(&summary.run.id).unwrap().error
    );
    assert_eq!(resumed.run.status, RunStatus::Succeeded);
    let jobs = store_of(&ws).run_jobs(&summary.run.id).unwrap();
    let total: u64 = jobs.iter().map(|j| j.profiles).sum();
    assert_eq!(
        total, valid,
        "each valid profile in exactly one accepted batch"
    );
    assert_eq!(
        jobs.len() as u64,
        sb_count(),
        "no import was sent outside a checkpoint"
    );
    assert!(acked > 0 && acked < valid);
    assert_eq!(sb.list_members(&list).len() as u64, valid);
}

#[tokio::test]
async fn a_wrong_list_id_or_rejected_key_stops_the_run_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let sb = sandbox().await;
    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, "email\na@example.com\nbroken\n").unwrap();
    let (conn, export) = connection_and_export(&ws, &sb, &csv, "NoSuch");
    let (sink, _) = recorder();
    let err = ws
        .run_export(
            &export.id,
            RunTrigger::Manual,
            CancellationToken::new(),
            sink.clone(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NoSuch"), "{err}");
    let run = &ws.runs(None).unwrap()[0];
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.counts.read, 0);

    // Replace the key with one Klaviyo rejects, and point the export at a real list.
    let mut input = connection_input("S", &sb.base_url(), Some("pk_revokedkey000000000000"));
    input.id = Some(conn.id.clone());
    ws.save_connection(input).unwrap();
    let mut e = store_of(&ws).export(&export.id).unwrap();
    e.list_id = sb.create_list("L");
    store_of(&ws).put_export(&e).unwrap();
    let err = ws
        .run_export(
            &export.id,
            RunTrigger::Manual,
            CancellationToken::new(),
            sink,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "klaviyo.key_rejected");
    assert_eq!(ws.runs(None).unwrap()[0].counts.read, 0);
    assert_eq!(
        store_of(&ws)
            .rejects(&ws.runs(None).unwrap()[0].id, 10)
            .unwrap()
            .1,
        0
    );
    assert_eq!(sb.request_count("POST /api/profile-bulk-import-jobs"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_run_never_makes_a_batch_that_spans_an_acknowledged_one() {
    // The run died with batches 0 (lines 2–10001) and 1 (lines 15002–25001) acknowledged but
    // lines 10002–15001 not (their answer came after batch 1's, then the process was killed).
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let sb = sandbox().await;
    let csv = dir.path().join("c.csv");
    let stats = sample::write_customers_csv(&csv, 30_000, 0, 5).unwrap();
    assert_eq!(stats.valid_emails.len(), 30_000);
    let list = sb.create_list("L");
    let (_, export) = connection_and_export(&ws, &sb, &csv, &list);
    let run = insert_running_run(&ws, &export);
    record_fingerprint(&ws, &run.id, &export.id).await;
    for (batch, lines) in [(0, (2u64, 10_001u64)), (1, (15_002, 25_001))] {
        let job = format!("acked{batch}");
        let lines: Vec<u64> = (lines.0..=lines.1).collect();
        store_of(&ws)
            .record_job(&run.id, batch, &job, &lines)
            .unwrap();
        store_of(&ws)
            .complete_job(&run.id, batch, JobState::Complete, 10_000, 0)
            .unwrap();
    }
    store_of(&ws)
        .finish_run(&run.id, RunStatus::Interrupted, &RunCounts::default(), None)
        .unwrap();

    let (sink, _) = recorder();
    let summary = ws
        .run_export(
            &export.id,
            RunTrigger::Manual,
            CancellationToken::new(),
            sink,
        )
        .await
        .unwrap();
    assert_eq!(summary.run.id, run.id, "the interrupted run continues");
    assert_eq!(summary.run.status, RunStatus::Succeeded);
    // Only the 10,000 unacknowledged rows were sent…
    assert_eq!(sb.list_members(&list).len(), 10_000);
    // …in batches that stop short of the acknowledged range: no two ranges overlap, so a later
    // resume attributes every line to the job that really holds it.
    let mut ranges: Vec<(u64, u64)> = store_of(&ws)
        .run_jobs(&run.id)
        .unwrap()
        .iter()
        .map(|j| (j.first_line, j.last_line))
        .collect();
    ranges.sort_unstable();
    assert_eq!(ranges.len(), 4, "{ranges:?}");
    for w in ranges.windows(2) {
        assert!(w[0].1 < w[1].0, "overlapping ranges: {ranges:?}");
    }
    assert_eq!(ranges[1], (10_002, 15_001));
    assert_eq!(ranges[3], (25_002, 30_001));
}
