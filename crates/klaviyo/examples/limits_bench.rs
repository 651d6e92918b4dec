//! How fast a 1M-profile export can go at Klaviyo's real rate limits, and how many 429s it
//! gets: an in-process sandbox with `Limits::Real` and a 1 s job processing time, 100 bulk
//! imports of 10,000 small profiles through one `Client` with a few concurrent workers, then
//! polling every job with `poll_jobs` (the jobs collection, 100 a page) until all are complete.
//!
//! ```text
//! cargo run --release -p segport-klaviyo --example limits_bench -- [JOBS] [CONCURRENCY]
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use segport_klaviyo::{ApiKey, Client, MAX_PROFILES_PER_JOB};
use segport_sandbox::{Limits, Sandbox, SandboxConfig, SandboxKey};

const KEY: &str = "pk_limits_bench_0123456789abcdefghijkl";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let jobs: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(6);

    let config = SandboxConfig {
        keys: vec![SandboxKey::full(KEY)],
        job_processing: Duration::from_secs(1),
        limits: Limits::Real,
        ..Default::default()
    };
    let sb = Sandbox::start(config, "127.0.0.1:0".parse()?).await?;
    let list = sb.create_list("Bench 1M");
    let client = Client::new(&sb.base_url(), ApiKey::new(KEY.to_owned()))?;

    // Small profiles, built before the clock starts.
    let batches: Arc<Vec<Vec<String>>> = Arc::new(
        (0..jobs)
            .map(|b| {
                (0..MAX_PROFILES_PER_JOB)
                    .map(|i| {
                        format!(
                            r#"{{"type":"profile","attributes":{{"email":"u{b}x{i}@example.com"}}}}"#
                        )
                    })
                    .collect()
            })
            .collect(),
    );
    let bytes: usize = batches[0].iter().map(String::len).sum();
    println!(
        "{jobs} jobs x {MAX_PROFILES_PER_JOB} profiles ({} profiles, ~{} KB a request), concurrency {concurrency}, sandbox at real limits, 1 s job processing",
        jobs * MAX_PROFILES_PER_JOB,
        bytes / 1024
    );

    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, list, batches, next) =
            (client.clone(), list.clone(), batches.clone(), next.clone());
        workers.spawn(async move {
            let mut ids = Vec::new();
            loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= batches.len() {
                    return Ok::<_, segport_klaviyo::Error>(ids);
                }
                ids.push(client.bulk_import(&list, &batches[b]).await?.id);
            }
        });
    }
    let mut ids = Vec::with_capacity(jobs);
    while let Some(res) = workers.join_next().await {
        ids.extend(res??);
    }
    let submitted = started.elapsed();

    let mut polls = 0;
    loop {
        polls += 1;
        let states = client.poll_jobs(&ids).await?;
        let done = states.iter().filter(|j| j.is_finished()).count();
        if done == ids.len() {
            let profiles: u64 = states.iter().map(|j| j.completed_count).sum();
            let failed: u64 = states.iter().map(|j| j.failed_count).sum();
            println!("all {done} jobs complete: {profiles} profiles imported, {failed} failed");
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let wall = started.elapsed();
    let stats = client.stats();
    println!("submitted in      {:.2} s", submitted.as_secs_f64());
    println!("all complete in   {:.2} s (wall)", wall.as_secs_f64());
    println!(
        "requests          {} ({} bulk imports, {} job-list polls in {polls} rounds)",
        stats.requests,
        sb.request_count("POST /api/profile-bulk-import-jobs"),
        sb.request_count("GET /api/profile-bulk-import-jobs")
    );
    println!(
        "429s              {} seen by the client, {} sent by the sandbox ({:.2} % of requests)",
        stats.throttled,
        sb.status_count(429),
        100.0 * stats.throttled as f64 / stats.requests.max(1) as f64
    );
    println!(
        "retries           {}, limiter wait {:.1} s summed over requests",
        stats.retries,
        stats.limiter_wait.as_secs_f64()
    );
    println!(
        "profiles/s        {:.0} (submission), {:.0} (until complete)",
        (jobs * MAX_PROFILES_PER_JOB) as f64 / submitted.as_secs_f64(),
        (jobs * MAX_PROFILES_PER_JOB) as f64 / wall.as_secs_f64()
    );
    let members = sb.list_members(&list).len();
    println!("list members      {members}");
    sb.shutdown().await;
    Ok(())
}
