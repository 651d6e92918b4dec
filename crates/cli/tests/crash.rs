//! Crash safety: one export of 200,000 rows (about 500 with a broken email) is killed with a
//! real SIGKILL at five points, taken up again after each kill, and must end exact.
//!
//! The kill points, in the order they happen (each in a new `segport-cli export run` process
//! that continues the same run):
//!
//! - (a) while reading, before any batch is built or sent (`SEGPORT_TEST_PAUSE_AT=read:5000`);
//! - (b) with batches in flight: three bulk imports are accepted, later ones hang (`slow:`);
//! - (d) while writing a checkpoint: inside the `record_job` transaction of the 2nd batch the
//!   process accepts, before it commits (`checkpoint:2`) — Klaviyo has the job, the checkpoint
//!   does not;
//! - (e) while writing a job's completion: inside the 2nd `complete_job` transaction
//!   (`job-complete:2`);
//! - (c) while polling: every batch is acknowledged, some jobs are still open.
//!
//! Points (a), (d) and (e) use the engine's test hook (see `segport_core::engine`): the process
//! prints `segport-test-paused POINT:N` on stderr and sleeps; the test kills it then.
//!
//! The invariant checked at the end (exact, not "at most"):
//! - the list is exactly the valid profiles; the run's rejects are exactly the broken lines;
//! - every checkpoint row recorded before a kill is still there, unchanged;
//! - each checkpointed job carries exactly the valid lines of its line range that no earlier
//!   process had acknowledged, and Klaviyo's job has that many profiles: every valid line is in
//!   exactly one checkpointed job, so no acknowledged batch was sent again;
//! - the jobs Klaviyo accepted that are in no checkpoint ("orphans") are exactly the jobs it had
//!   accepted but the checkpoint had not recorded when a process was killed (measured after each
//!   kill), so the profiles Klaviyo accepted in all = valid profiles + the profiles of those
//!   in-flight batches, and nothing else;
//! - the last process sends nothing (everything was acknowledged before it) and finishes the run.

mod common;

use common::*;
use segport_core::store::{JobRecord, Store};
use segport_klaviyo::{Client, JobsQuery};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const ROWS: u64 = 200_000;
/// The sandbox keeps each job queued this long: (c) needs jobs still open after the last batch
/// is acknowledged.
const JOB_MS: u64 = 1_500;
const PAUSE: &str = "SEGPORT_TEST_PAUSE_AT";

/// Every bulk import job the sandbox accepted: id → profiles.
async fn accepted_jobs(s: &Setup) -> BTreeMap<String, u64> {
    let client = Client::new(&s.sb.base_url(), segport_core::ApiKey::new(KEY.into())).unwrap();
    let mut q = JobsQuery::default();
    let mut out = BTreeMap::new();
    loop {
        let page = client.get_bulk_import_jobs(&q).await.unwrap();
        for j in page.items {
            out.insert(j.id, j.total_count);
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

/// What a kill left behind.
struct Kill {
    point: &'static str,
    /// The checkpoint just after the kill.
    checkpoint: Vec<JobRecord>,
    /// Jobs Klaviyo had accepted that the checkpoint did not hold: batches in flight.
    in_flight: BTreeMap<String, u64>,
}

struct Harness {
    s: Setup,
    store: Store,
    run_id: String,
    kills: Vec<Kill>,
}

impl Harness {
    /// The checkpoint of the export's only run (empty before it is recorded).
    fn jobs(&self) -> Vec<JobRecord> {
        let runs = self.store.runs(None, 2).unwrap();
        assert!(runs.len() <= 1, "one run: {runs:?}");
        match runs.first() {
            Some(run) => self.store.run_jobs(&run.id).unwrap(),
            None => vec![],
        }
    }

    /// SIGKILL, then record what the checkpoint and Klaviyo hold, and make the run stale so the
    /// next process may take it up.
    async fn kill(&mut self, mut run: Running, point: &'static str) -> &Kill {
        run.child.kill().unwrap(); // SIGKILL
        run.child.wait().unwrap();
        // Let the sandbox finish requests that were being processed when the process died.
        let mut accepted = accepted_jobs(&self.s).await;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let again = accepted_jobs(&self.s).await;
            if again == accepted {
                break;
            }
            accepted = again;
        }
        let (run_id, checkpoint) = checkpoint(&self.s.data);
        assert!(!run_id.is_empty(), "the run was recorded before ({point})");
        if self.run_id.is_empty() {
            self.run_id = run_id.clone();
        }
        assert_eq!(run_id, self.run_id, "one run, continued");
        let known: BTreeSet<&str> = self
            .kills
            .iter()
            .flat_map(|k| k.in_flight.keys().map(String::as_str))
            .chain(checkpoint.iter().map(|j| j.job_id.as_str()))
            .collect();
        let in_flight = accepted
            .into_iter()
            .filter(|(id, _)| !known.contains(id.as_str()))
            .collect();
        assert_left_running(&self.store, &self.run_id);
        self.kills.push(Kill {
            point,
            checkpoint,
            in_flight,
        });
        self.kills.last().unwrap()
    }
}

/// Waits for the hook's line on stderr.
async fn paused_at(run: &mut Running, point: &str) {
    let marker = format!("segport-test-paused {point}");
    let stderr = run.stderr.clone();
    let started = Instant::now();
    wait_until(&mut run.child, &run.stdout, || {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no `{marker}` on stderr: {:?}",
            stderr.lock().unwrap()
        );
        stderr.lock().unwrap().iter().any(|l| l == &marker)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_killed_at_every_point_ends_exact_with_nothing_sent_twice() {
    let started = Instant::now();
    let s = setup(ROWS, 400, JOB_MS, &[]).await;
    let valid = s.valid.len() as u64;
    let invalid = s.invalid_lines.len() as u64;
    assert!(invalid > 300, "{invalid}");
    let store = Store::open_dir(&s.data).unwrap();
    let mut h = Harness {
        s,
        store,
        run_id: String::new(),
        kills: vec![],
    };

    // (a) While reading: nothing built, nothing sent.
    let mut run = spawn_run_with(&h.s.data, &[(PAUSE, "read:5000")]);
    paused_at(&mut run, "read:5000").await;
    let k = h.kill(run, "a: reading").await;
    assert!(k.checkpoint.is_empty() && k.in_flight.is_empty());
    assert_eq!(h.s.sb.request_count(BULK), 0);

    // (b) Batches in flight: three bulk imports are accepted, the next ones hang.
    let mut plan = vec!["ok"; 3];
    plan.extend(["slow:600000"; 30]);
    h.s.sb
        .set_faults(vec![format!("bulk_import_profiles=seq:{}", plan.join(","))
            .parse()
            .unwrap()]);
    let mut run = spawn_run_with(&h.s.data, &[]);
    wait_until(&mut run.child, &run.stdout, || {
        h.s.sb.request_count(BULK) >= 5 && h.jobs().len() == 3
    })
    .await;
    let k = h.kill(run, "b: batch in flight").await;
    assert_eq!(k.checkpoint.len(), 3);
    assert!(
        k.in_flight.is_empty(),
        "the hanging imports were not accepted"
    );
    h.s.sb.set_faults(vec![]);

    // (d) Inside a checkpoint transaction, before it commits.
    let mut run = spawn_run_with(&h.s.data, &[(PAUSE, "checkpoint:2")]);
    paused_at(&mut run, "checkpoint:2").await;
    let k = h.kill(run, "d: writing a checkpoint").await;
    assert_eq!(
        k.checkpoint.len(),
        4,
        "the 2nd batch's checkpoint was rolled back"
    );
    assert!(
        (1..=6).contains(&k.in_flight.len()),
        "the batch being checkpointed (and those waiting to be) were accepted but are not acknowledged: {:?}",
        k.in_flight
    );

    // (e) Inside a job-complete transaction.
    let mut run = spawn_run_with(&h.s.data, &[(PAUSE, "job-complete:2")]);
    paused_at(&mut run, "job-complete:2").await;
    let k = h.kill(run, "e: writing a job's completion").await;
    let complete = k.checkpoint.iter().filter(|j| j.is_complete()).count();
    assert!(complete >= 1, "the first completion was committed");

    // (c) While polling: every batch acknowledged, jobs still open.
    let mut run = spawn_run_with(&h.s.data, &[]);
    wait_until(&mut run.child, &run.stdout, || {
        let jobs = h.jobs();
        jobs.iter().map(|j| j.profiles).sum::<u64>() == valid
            && jobs.iter().any(|j| !j.is_complete())
    })
    .await;
    let k = h.kill(run, "c: polling").await;
    assert!(k.in_flight.is_empty());
    let open_at_c = k.checkpoint.iter().filter(|j| !j.is_complete()).count();
    assert!(open_at_c >= 1);

    // The last process: polls the open jobs, sends nothing, finishes the run.
    let posts = h.s.sb.request_count(BULK);
    let o = cli(&h.s.data, &["export", "run", "Customers", "--json"]);
    let last = finished_same_run(&o, &h.run_id, "partial", 3);
    assert_eq!(h.s.sb.request_count(BULK), posts, "nothing is sent again");

    // The list and the rejects.
    assert_eq!(h.s.sb.list_members(&h.s.list), h.s.valid);
    assert_eq!(last["read"], ROWS);
    assert_eq!(last["sent"], valid);
    assert_eq!(last["imported"], valid);
    assert_eq!(last["rejected"], invalid);
    assert_eq!(last["failed_in_klaviyo"], 0);
    let (rejects, total) = h.store.rejects(&h.run_id, usize::MAX).unwrap();
    assert_eq!(total, invalid);
    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, h.s.invalid_lines);

    // Checkpoint rows survive every later process unchanged.
    let fin = h.jobs();
    assert!(
        fin.iter()
            .all(|j| j.status == segport_core::store::JobState::Complete),
        "{fin:?}"
    );
    for k in &h.kills {
        for j in &k.checkpoint {
            let now = fin.iter().find(|f| f.batch == j.batch).unwrap();
            assert_eq!(
                (&now.job_id, now.first_line, now.last_line, now.profiles),
                (&j.job_id, j.first_line, j.last_line, j.profiles),
                "acknowledged at {}",
                k.point
            );
        }
    }

    // No two checkpointed jobs' line ranges overlap, even across resumes: a batch made after a
    // restart never spans a range acknowledged before it (a later resume finds each line's job
    // by its range, and must not credit one job with another's rows).
    let mut ranges: Vec<(u64, u64, u64)> = fin
        .iter()
        .map(|j| (j.first_line, j.last_line, j.batch))
        .collect();
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        assert!(w[0].1 < w[1].0, "overlapping checkpoint ranges: {w:?}");
    }

    // Each checkpointed job holds exactly the valid lines of its range that no earlier process
    // had acknowledged; together they hold every valid line once.
    let broken: BTreeSet<u64> = h.s.invalid_lines.iter().copied().collect();
    let accepted = accepted_jobs(&h.s).await;
    let mut covered: BTreeSet<u64> = BTreeSet::new();
    let mut earlier: BTreeSet<&str> = BTreeSet::new();
    let segments = h
        .kills
        .iter()
        .map(|k| &k.checkpoint)
        .chain(std::iter::once(&fin));
    for segment in segments {
        let fresh: Vec<&JobRecord> = segment
            .iter()
            .filter(|j| !earlier.contains(j.job_id.as_str()))
            .collect();
        let mut mine: BTreeSet<u64> = BTreeSet::new();
        for j in &fresh {
            let lines: Vec<u64> = (j.first_line..=j.last_line)
                .filter(|l| !broken.contains(l) && !covered.contains(l))
                .collect();
            assert_eq!(lines.len() as u64, j.profiles, "{j:?}");
            assert_eq!(accepted.get(&j.job_id), Some(&j.profiles), "{j:?}");
            for l in lines {
                assert!(mine.insert(l), "line {l} is in two batches of one process");
            }
        }
        covered.extend(mine);
        earlier.extend(fresh.iter().map(|j| j.job_id.as_str()));
    }
    // (Covered lines are valid lines of the file: as many as there are means all of them.)
    assert_eq!(
        covered.len() as u64,
        valid,
        "every valid line in exactly one job"
    );

    // Klaviyo accepted the checkpointed jobs and exactly the batches in flight at the kills.
    let in_flight: BTreeMap<String, u64> =
        h.kills.iter().flat_map(|k| k.in_flight.clone()).collect();
    let orphans: BTreeMap<String, u64> = accepted
        .iter()
        .filter(|(id, _)| !fin.iter().any(|j| &j.job_id == *id))
        .map(|(id, n)| (id.clone(), *n))
        .collect();
    assert_eq!(orphans, in_flight);
    let sent_in_all: u64 = accepted.values().sum();
    let resent: u64 = in_flight.values().sum();
    assert_eq!(sent_in_all, valid + resent);

    for k in &h.kills {
        println!(
            "kill {}: {} batches acknowledged, {} in flight ({} profiles accepted by Klaviyo, not acknowledged)",
            k.point,
            k.checkpoint.len(),
            k.in_flight.len(),
            k.in_flight.values().sum::<u64>()
        );
    }
    println!(
        "crash: {} kills survived; {} jobs checkpointed, {valid} profiles, {invalid} rejects; Klaviyo accepted {sent_in_all} profiles = {valid} + {resent} in flight at a kill; {:.1} s",
        h.kills.len(),
        fin.len(),
        started.elapsed().as_secs_f64()
    );
}
