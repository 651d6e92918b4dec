//! Ingest throughput: `cargo test --release -p segport-sandbox --test throughput -- --ignored`.
//! Ignored by default: timing depends on the build profile and the machine.

use std::time::{Duration, Instant};

use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};

const KEY: &str = "pk_throughput_0123456789abcdefghijklmn";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing; run in release"]
async fn ingests_100k_profiles_per_second() {
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
        assert!(started.elapsed() < Duration::from_secs(60), "too slow");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = (jobs * per_job) as f64 / secs;
    println!(
        "{} profiles in {secs:.2} s = {rate:.0} profiles/s",
        jobs * per_job
    );
    assert!(rate >= 100_000.0, "{rate:.0} profiles/s");
    sb.shutdown().await;
}
