//! `segport-cli export run` killed with SIGKILL, then run again: the same run continues from its
//! checkpoint. Against the sandbox (in this process) over real HTTP; the CLI is a child process.

mod common;

use common::*;
use segport_core::store::Store;
use std::process::Output;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_sending_then_run_again_continues_without_resending_acknowledged_batches() {
    // Four bulk imports are accepted; every later one hangs (in flight, never acknowledged).
    let mut seq = vec!["ok"; 4];
    seq.extend(["slow:600000"; 40]);
    let fault = format!("bulk_import_profiles=seq:{}", seq.join(","));
    let s = setup(200_000, 0, 30, &[fault]).await;

    let (mut child, lines) = spawn_run(&s.data);
    wait_until(&mut child, &lines, || {
        s.sb.status_count(202) == 4
            && s.sb.request_count(BULK) >= 6
            && checkpoint(&s.data).1.len() == 4
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (run_id, acked) = checkpoint(&s.data);
    assert_eq!(acked.len(), 4);
    assert!(
        s.sb.request_count(BULK) > 4,
        "batches were in flight at the kill"
    );

    still_recorded_running(&s, &run_id);
    s.sb.set_faults(vec![]);
    let o = cli(&s.data, &["export", "run", "Customers", "--json"]);
    let last = finished_same_run(&o, &run_id, "succeeded", 0);

    let valid = s.valid.len() as u64;
    assert_eq!(valid, 200_000);
    assert_eq!(s.sb.list_members(&s.list), s.valid);
    assert_eq!(last["read"], 200_000);
    assert_eq!(last["sent"], valid);
    assert_eq!(last["imported"], valid);
    assert_eq!(last["rejected"], 0);
    assert_eq!(last["failed_in_klaviyo"], 0);

    // Every batch acknowledged before the kill is still in the checkpoint, as it was, and
    // nothing sent after the kill overlaps its lines.
    let (_, jobs) = checkpoint(&s.data);
    for a in &acked {
        let same = jobs.iter().find(|j| j.batch == a.batch).unwrap();
        assert_eq!(
            (&same.job_id, same.first_line, same.last_line, same.profiles),
            (&a.job_id, a.first_line, a.last_line, a.profiles)
        );
    }
    for j in jobs
        .iter()
        .filter(|j| !acked.iter().any(|a| a.batch == j.batch))
    {
        assert!(
            acked
                .iter()
                .all(|a| j.last_line < a.first_line || j.first_line > a.last_line),
            "batch {j:?} overlaps an acknowledged one"
        );
    }
    assert!(
        jobs.iter()
            .all(|j| j.status == segport_core::store::JobState::Complete),
        "{jobs:?}"
    );
    assert_eq!(jobs.iter().map(|j| j.profiles).sum::<u64>(), valid);
    // Klaviyo accepted exactly one job per checkpoint row: no acknowledged batch was posted
    // again (the batches in flight at the kill were, and count once each, when accepted).
    assert_eq!(s.sb.status_count(202), jobs.len() as u64);
    drop(s.dir);
}

/// Runs the export until its 5 batches are accepted (jobs stay queued for 6 s), kills it with
/// SIGKILL, makes the run stale and runs it again. Returns the rerun's output and the run id.
async fn killed_while_polling(s: &Setup) -> (Output, String) {
    let (mut child, lines) = spawn_run(&s.data);
    wait_until(&mut child, &lines, || {
        let (_, jobs) = checkpoint(&s.data);
        jobs.len() == 5 && s.sb.status_count(202) == 5
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (run_id, acked) = checkpoint(&s.data);
    let open = acked.iter().filter(|j| !j.is_complete()).count();
    assert!(open >= 1, "jobs must still be open at the kill: {acked:?}");
    still_recorded_running(s, &run_id);
    let o = cli(&s.data, &["export", "run", "Customers", "--json"]);
    (o, run_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_polling_then_run_again_polls_the_open_jobs_and_sends_nothing() {
    let s = setup(50_000, 0, 6_000, &[]).await;
    let (o, run_id) = killed_while_polling(&s).await;
    let last = finished_same_run(&o, &run_id, "succeeded", 0);
    let valid = s.valid.len() as u64;
    assert_eq!(s.sb.request_count(BULK), 5, "nothing is sent again");
    assert_eq!(s.sb.list_members(&s.list), s.valid);
    assert_eq!(last["read"], 50_000);
    assert_eq!(last["sent"], valid);
    assert_eq!(last["imported"], valid);
    let (_, jobs) = checkpoint(&s.data);
    assert!(
        jobs.iter()
            .all(|j| j.status == segport_core::store::JobState::Complete),
        "{jobs:?}"
    );
    assert_eq!(jobs.iter().map(|j| j.completed).sum::<u64>(), valid);

    // The re-polled jobs' rows reached the delta state: a new run sends nothing.
    let o = cli(&s.data, &["export", "run", "Customers", "--json"]);
    let ev = events(&o);
    let last = ev.last().unwrap();
    assert_ne!(last["run_id"], run_id.as_str());
    assert_eq!(last["sent"], 0, "{last}");
    assert_eq!(last["unchanged"], valid);
    assert_eq!(s.sb.request_count(BULK), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_rejected_before_a_kill_9_are_all_reported_by_the_resumed_run() {
    let s = setup(50_000, 500, 6_000, &[]).await;
    assert!(s.invalid_lines.len() > 50);
    let (o, run_id) = killed_while_polling(&s).await;
    let last = finished_same_run(&o, &run_id, "partial", 3);
    assert_eq!(s.sb.list_members(&s.list), s.valid);
    assert_eq!(last["rejected"], s.invalid_lines.len() as u64);
    let store = Store::open_dir(&s.data).unwrap();
    let (rejects, _) = store.rejects(&run_id, usize::MAX).unwrap();
    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, s.invalid_lines);
}
