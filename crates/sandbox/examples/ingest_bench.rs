//! Benchmark (not a test): how fast the sandbox ingests bulk import jobs.
//! `cargo run --release -p segport-sandbox --example ingest_bench` (part of `make bench`).
//! Goal: at least 100,000 profiles a second on a 2-core machine with limits off, so the sandbox is
//! never the bottleneck of the export benchmarks. A second run with `Limits::Real` (ten jobs, the
//! burst limit) shows that the rate limiter costs nothing measurable per profile.

use std::time::{Duration, Instant};

use segport_sandbox::{Limits, Sandbox, SandboxConfig, SandboxKey};

const KEY: &str = "pk_throughput_0123456789abcdefghijklmn";

async fn run(limits: Limits, jobs: usize, per_job: usize) -> f64 {
    let config = SandboxConfig {
        keys: vec![SandboxKey::full(KEY)],
        job_processing: Duration::ZERO,
        limits,
        ..Default::default()
    };
    let sb = Sandbox::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start");
    let list = sb.create_list("Big");
    let bodies: Vec<String> = (0..jobs)
        .map(|j| {
            let profiles: Vec<String> = (0..per_job)
                .map(|i| format!(r#"{{"type":"profile","attributes":{{"email":"user{j}-{i}@example.com","first_name":"Ann","last_name":"Lee","properties":{{"tier":"gold","n":{i}}}}}}}"#))
                .collect();
            format!(
                r#"{{"data":{{"type":"profile-bulk-import-job","attributes":{{"profiles":{{"data":[{}]}}}},"relationships":{{"lists":{{"data":[{{"type":"list","id":"{list}"}}]}}}}}}}}"#,
                profiles.join(",")
            )
        })
        .collect();
    let http = reqwest::Client::new();
    let started = Instant::now();
    for body in bodies {
        let resp = http
            .post(format!("{}/api/profile-bulk-import-jobs", sb.base_url()))
            .header("Authorization", format!("Klaviyo-API-Key {KEY}"))
            .header("revision", segport_sandbox::REVISION)
            .header("Content-Type", "application/vnd.api+json")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 202);
    }
    while sb.list_members(&list).len() < jobs * per_job {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = (jobs * per_job) as f64 / secs;
    println!(
        "sandbox ingest ({limits:?}): {} profiles in {jobs} jobs, {secs:.2} s = {rate:.0} profiles/s",
        jobs * per_job
    );
    sb.shutdown().await;
    rate
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    run(Limits::Off, 20, 10_000).await;
    // 10 jobs: the burst limit of bulk_import_profiles (10/s) is not hit, so this measures the
    // cost of counting and of the RateLimit-* headers, not waiting.
    run(Limits::Real, 10, 10_000).await;
}
