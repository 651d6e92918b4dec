//! Benchmark (not a test): how fast the sandbox ingests bulk import jobs with limits off.
//! `cargo run --release -p segport-sandbox --example ingest_bench` (part of `make bench`).
//! Goal: at least 100,000 profiles a second on a 2-core machine, so the sandbox is never the
//! bottleneck of the export benchmarks.

use std::time::{Duration, Instant};

use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};

const KEY: &str = "pk_throughput_0123456789abcdefghijklmn";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let config = SandboxConfig {
        keys: vec![SandboxKey::full(KEY)],
        job_processing: Duration::ZERO,
        ..Default::default()
    };
    let sb = Sandbox::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start");
    let list = sb.create_list("Big");
    let jobs = 20;
    let per_job = 10_000;
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
    let mut ids = Vec::new();
    for body in bodies {
        let resp = http
            .post(format!("{}/api/profile-bulk-import-jobs", sb.base_url()))
            .header("Authorization", format!("Klaviyo-API-Key {KEY}"))
            .header("revision", "2026-07-15")
            .header("Content-Type", "application/vnd.api+json")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 202);
        let v: serde_json::Value = resp.json().await.expect("json");
        ids.push(v["data"]["id"].as_str().expect("id").to_owned());
    }
    while sb.list_members(&list).len() < jobs * per_job {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = (jobs * per_job) as f64 / secs;
    println!(
        "sandbox ingest: {} profiles in {secs:.2} s = {rate:.0} profiles/s",
        jobs * per_job
    );
    sb.shutdown().await;
}
