//! Trust through the front door a script uses: two `segport-cli` processes on one export, a
//! live run that is slow (never taken over), a run killed and started again at once, mirror
//! removals held until `--confirm-removals`, and `segport-cli … | head`.

mod common;

use common::*;
use segport_core::store::Store;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The run row's heartbeat, set far in the past: what another process sees after the owner
/// has been slow for a long time (a laptop asleep, a hanging list check).
fn age_heartbeats(data: &std::path::Path) {
    let store = Store::open_dir(data).unwrap();
    store
        .transaction(|tx| {
            tx.execute(
                "UPDATE runs SET heartbeat_at = '2000-01-01T00:00:00.000Z'",
                [],
            )?;
            Ok(())
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_run_however_slow_is_never_taken_over_and_a_killed_one_continues_at_once() {
    // The owner's list check hangs for 8 s before anything is sent.
    let s = setup(30_000, 0, 30, &["get_list=slow:8000@1".into()]).await;
    let mut first = spawn_run_with(&s.data, &[]);
    let started = Instant::now();
    while s.sb.request_count("GET /api/lists/{id}") == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "no list check");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // However old its heartbeat looks, the run is alive: a second process is refused, says
    // who runs it, and sends nothing.
    age_heartbeats(&s.data);
    s.sb.set_faults(vec![]);
    let o = cli(&s.data, &["export", "run", "Customers", "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("already running"), "{t}");
    assert!(t.contains(&format!("process {}", first.child.id())), "{t}");
    assert_eq!(s.sb.request_count(BULK), 0);

    // The owner is killed (SIGKILL) while it waits: the next start continues at once.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let (run_id, _) = checkpoint(&s.data);
    let t0 = Instant::now();
    let o = cli(&s.data, &["export", "run", "Customers", "--json"]);
    let last = events(&o).last().cloned().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    if !run_id.is_empty() {
        assert_eq!(
            last["run_id"],
            run_id.as_str(),
            "the killed run is continued"
        );
    }
    assert_eq!(
        checkpoint(&s.data).0,
        last["run_id"].as_str().unwrap(),
        "one run"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(25),
        "no waiting for a heartbeat to age"
    );
    assert_eq!(s.sb.list_members(&s.list), s.valid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cli_processes_started_at_once_give_one_run_and_the_other_is_told_who() {
    let s = setup(30_000, 0, 30, &["get_list=slow:1500@1".into()]).await;
    let a = command(&s.data, &["export", "run", "Customers", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = command(&s.data, &["export", "run", "Customers", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(2)], "{}\n{}", text(&a), text(&b));
    let refused = if a.status.code() == Some(2) { &a } else { &b };
    assert!(
        text(refused).contains("already running"),
        "{}",
        text(refused)
    );
    let store = Store::open_dir(&s.data).unwrap();
    assert_eq!(store.runs(None, 10).unwrap().len(), 1, "exactly one run");
    assert_eq!(s.sb.request_count(BULK), 3, "one run's batches, once");
    assert_eq!(s.sb.list_members(&s.list), s.valid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_file_cut_short_exits_4_with_removals_held_until_confirmed() {
    let s = setup(3_000, 0, 20, &[]).await;
    // The imported export becomes a mirror export.
    let toml = s.dir.path().join("mirror.toml");
    let base = std::fs::read_to_string(s.dir.path().join("segport.toml")).unwrap();
    std::fs::write(
        &toml,
        base.replace("list_id = ", "mode = \"mirror\"\nlist_id = "),
    )
    .unwrap();
    let o = cli(&s.data, &["config", "import", toml.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = cli(&s.data, &["export", "run", "Customers", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(s.sb.list_members(&s.list).len(), 3_000);

    // The file is cut to its first ten rows.
    let csv = s.dir.path().join("customers.csv");
    let text_now = std::fs::read_to_string(&csv).unwrap();
    let cut: Vec<&str> = text_now.lines().take(11).collect();
    std::fs::write(&csv, cut.join("\n") + "\n").unwrap();
    let o = cli(&s.data, &["export", "run", "Customers", "--json"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let last = events(&o).last().cloned().unwrap();
    assert_eq!(last["status"], "held");
    assert_eq!(last["held"], 2_990);
    assert!(last["message"]
        .as_str()
        .unwrap()
        .contains("--confirm-removals 2990"));
    assert_eq!(s.sb.list_members(&s.list).len(), 3_000, "nobody removed");

    let o = cli(
        &s.data,
        &[
            "export",
            "run",
            "Customers",
            "--json",
            "--confirm-removals",
            "2990",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let last = events(&o).last().cloned().unwrap();
    assert_eq!(last["removed"], 2_990);
    assert_eq!(s.sb.list_members(&s.list).len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_into_a_closed_pipe_ends_quietly() {
    let s = setup(10, 0, 20, &[]).await;
    assert!(cli(&s.data, &["export", "run", "Customers"])
        .status
        .success());
    for args in [&["config", "export"][..], &["runs", "list"][..]] {
        let mut child = command(&s.data, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -0`: the reader is gone before the program writes.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
    }
}
