//! Rate limiting, retries and cancellation against the sandbox with Klaviyo's real limits and
//! injected faults. Assertions are on counts (429s, requests) and on behaviour, never on speed
//! (the one time bound is a generous "returned long before the 30 s wait" check).

use std::str::FromStr;
use std::time::{Duration, Instant};

use segport_klaviyo::{ApiKey, CancellationToken, Client, Error, RetryPolicy};
use segport_sandbox::{Fault, Limits, Sandbox, SandboxConfig, SandboxKey};

const KEY: &str = "pk_limits_test_0123456789abcdefghijklm";

async fn start(limits: Limits, retry_after: bool) -> Sandbox {
    let config = SandboxConfig {
        keys: vec![SandboxKey::full(KEY)],
        job_processing: Duration::from_millis(50),
        limits,
        retry_after,
        ..Default::default()
    };
    Sandbox::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox starts")
}

fn client(sb: &Sandbox) -> Client {
    Client::new(&sb.base_url(), ApiKey::new(KEY.to_owned())).expect("client")
}

fn fault(spec: &str) -> Fault {
    Fault::from_str(spec).expect("fault spec")
}

fn profiles(batch: usize, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            serde_json::json!({ "type": "profile", "attributes": { "email": format!("b{batch}u{i}@example.com") } })
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_30_bulk_imports_gets_no_429_at_real_limits() {
    let sb = start(Limits::Real, true).await;
    let c = client(&sb);
    let list = sb.create_list("Burst");
    let mut tasks = tokio::task::JoinSet::new();
    for batch in 0..30 {
        let c = c.clone();
        let list = list.clone();
        tasks.spawn(async move { c.bulk_import(&list, &profiles(batch, 50)).await });
    }
    while let Some(res) = tasks.join_next().await {
        res.expect("task").expect("accepted");
    }
    let stats = c.stats();
    assert_eq!(stats.throttled, 0, "{stats:?}");
    assert_eq!(stats.requests, 30, "{stats:?}");
    assert_eq!(sb.status_count(429), 0);
    assert_eq!(sb.request_count("POST /api/profile-bulk-import-jobs"), 30);
    sb.shutdown().await;
}

#[tokio::test]
async fn clients_of_the_same_account_share_the_limiter() {
    let sb = start(Limits::Real, true).await;
    let list = sb.create_list("Shared");
    // Two independently created clients (same base URL and key): 15 requests each would
    // exceed the burst window together if each had its own limiter.
    let a = client(&sb);
    let b = client(&sb);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let c = if i % 2 == 0 { a.clone() } else { b.clone() };
        let list = list.clone();
        tasks.spawn(async move { c.bulk_import(&list, &profiles(i, 2)).await });
    }
    while let Some(res) = tasks.join_next().await {
        res.expect("task").expect("accepted");
    }
    assert_eq!(a.stats().throttled + b.stats().throttled, 0);
    assert_eq!(a.stats().requests + b.stats().requests, 24);
    assert_eq!(sb.status_count(429), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_retried() {
    let sb = start(Limits::Off, true).await;
    sb.set_faults(vec![fault("get_lists=seq:429:1")]);
    let c = client(&sb);
    let page = c.get_lists(None).await.expect("retried after the 429");
    assert!(page.lists.is_empty());
    let stats = c.stats();
    assert_eq!((stats.requests, stats.throttled, stats.retries), (2, 1, 1));
    assert!(
        stats.limiter_wait >= Duration::from_millis(900),
        "{stats:?}"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_429_without_retry_after_uses_the_detail_or_a_backoff() {
    let sb = start(Limits::Off, false).await;
    sb.set_faults(vec![fault("get_lists=seq:429:1,429:1")]);
    let c = client(&sb).with_retry_policy(RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    });
    c.get_lists(None).await.expect("retried after two 429s");
    let stats = c.stats();
    assert_eq!((stats.requests, stats.throttled), (3, 2));
    // "Expected available in 1 seconds" was honoured: about 1 s per 429, not the 10 ms backoff.
    assert!(
        stats.limiter_wait >= Duration::from_millis(1800),
        "{stats:?}"
    );
    assert_eq!(sb.status_count(429), 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn real_limits_without_retry_after_are_still_respected() {
    // get_accounts is 1/s, 15/min: 5 calls must be spaced by the limiter, with no 429.
    let sb = start(Limits::Real, false).await;
    let c = client(&sb);
    for _ in 0..5 {
        c.get_account().await.expect("account");
    }
    assert_eq!(c.stats().throttled, 0);
    assert_eq!(sb.status_count(429), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried_for_idempotent_calls() {
    let sb = start(Limits::Off, true).await;
    sb.set_faults(vec![fault(
        "bulk_import_profiles=seq:503,html504,drop,html524",
    )]);
    let c = client(&sb).with_retry_policy(RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    });
    let list = sb.create_list("Flaky");
    let job = c
        .bulk_import(&list, &profiles(0, 3))
        .await
        .expect("fifth attempt");
    assert_eq!(job.total_count, 3);
    let stats = c.stats();
    assert_eq!((stats.requests, stats.retries), (5, 4), "{stats:?}");
    assert_eq!(stats.server_errors, 3);
    assert_eq!(stats.network_errors, 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn an_html_502_is_a_server_error_with_a_readable_excerpt() {
    let sb = start(Limits::Off, true).await;
    // A proxy's 502 is retried for idempotent calls; one that persists ends as a Server error.
    sb.set_faults(vec![fault("get_accounts=html502@1")]);
    let c = client(&sb);
    let err = c.get_account().await.expect_err("502");
    assert!(c.stats().retries > 0, "{:?}", c.stats());
    match &err {
        Error::Server {
            status: 502,
            body_excerpt,
        } => assert!(!body_excerpt.contains('<'), "{body_excerpt}"),
        other => panic!("expected Server 502, got {other:?}"),
    }
    assert!(err.to_string().contains("HTTP 502"), "{err}");
    assert!(!err.to_string().contains(KEY));
    sb.shutdown().await;
}

#[tokio::test]
async fn a_revoked_key_is_key_rejected_without_retries() {
    let sb = start(Limits::Off, true).await;
    let c = client(&sb);
    c.get_account().await.expect("valid at first");
    sb.revoke_key(KEY);
    let err = c.get_account().await.expect_err("revoked");
    assert!(matches!(err, Error::KeyRejected { .. }), "{err:?}");
    assert_eq!(c.stats().requests, 2);
    assert!(!format!("{err} {err:?}").contains(KEY));
    sb.shutdown().await;
}

#[tokio::test]
async fn cancellation_interrupts_a_limiter_wait() {
    let sb = start(Limits::Off, true).await;
    // One 429 asking for 30 s: the retry waits in the limiter.
    sb.set_faults(vec![fault("get_lists=seq:429:30")]);
    let token = CancellationToken::new();
    let c = client(&sb)
        .with_retry_policy(RetryPolicy {
            max_retry_after: Duration::from_secs(60),
            ..Default::default()
        })
        .with_cancel(token.clone());
    let cancel = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let err = c.get_lists(None).await.expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    assert_eq!(err.code(), "klaviyo.cancelled");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(c.stats().throttled, 1);
    // Another client of the same account is held back by the same 429...
    let other = client(&sb).with_cancel(CancellationToken::new());
    let t = other.clone();
    let waiting = tokio::spawn(async move { t.get_lists(None).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the account's limiter holds it back"
    );
    waiting.abort();
    // ...and a cancelled client refuses at once.
    let err = c.get_account().await.expect_err("still cancelled");
    assert!(matches!(err, Error::Cancelled));
    sb.shutdown().await;
}

#[tokio::test]
async fn cancellation_interrupts_a_backoff_sleep() {
    let sb = start(Limits::Off, true).await;
    sb.set_faults(vec![fault("get_lists=seq:503")]);
    let token = CancellationToken::new();
    let c = client(&sb)
        .with_retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(60),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(60),
        })
        .with_cancel(token.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel();
    });
    let started = Instant::now();
    let err = c.get_lists(None).await.expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(c.stats().server_errors, 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn cancellation_interrupts_a_slow_answer() {
    let sb = start(Limits::Off, true).await;
    sb.set_faults(vec![fault("get_lists=seq:slow:30000")]);
    let token = CancellationToken::new();
    let c = client(&sb).with_cancel(token.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel();
    });
    let started = Instant::now();
    let err = c.get_lists(None).await.expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_sent_bulk_import_is_not_abandoned_by_a_cancel() {
    // The import's answer is slow; the cancel comes while it is on the wire. Klaviyo accepts
    // the job, so the caller must learn its id (to checkpoint it) instead of "cancelled".
    let sb = start(Limits::Off, true).await;
    let list = sb.create_list("L");
    sb.set_faults(vec![fault("bulk_import_profiles=seq:slow:1500")]);
    let token = CancellationToken::new();
    let c = client(&sb).with_cancel(token.clone());
    let cancel = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let profiles = vec![
        serde_json::json!({"type": "profile", "attributes": {"email": "a@example.com"}})
            .to_string(),
    ];
    let job = c
        .bulk_import(&list, &profiles)
        .await
        .expect("the accepted job's answer, not a cancel");
    assert!(!job.id.is_empty());
    assert_eq!(sb.request_count("POST /api/profile-bulk-import-jobs"), 1);
    // Once cancelled, nothing new is sent.
    let err = c
        .bulk_import(&list, &profiles)
        .await
        .expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    assert_eq!(sb.request_count("POST /api/profile-bulk-import-jobs"), 1);
    sb.shutdown().await;
}
