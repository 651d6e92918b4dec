//! `SandboxConfig::state_file`: a sandbox started again on its file holds the same account,
//! lists, members and profiles (the desktop demo after a restart).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use segport_sandbox::{Sandbox, SandboxConfig, SAVE_INTERVAL};
use serde_json::json;

async fn start_on(file: &Path) -> Sandbox {
    start_with(SandboxConfig {
        job_processing: Duration::from_millis(20),
        state_file: Some(file.to_path_buf()),
        ..Default::default()
    })
    .await
}

async fn account_id(sb: &Sandbox) -> String {
    let (_, body) = get(sb, "/api/accounts").await;
    body["data"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_sandbox_started_again_on_its_state_file_keeps_account_lists_members_and_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo").join("sandbox.json");
    let sb = start_on(&file).await;
    assert!(!sb.restored(), "no file yet: it starts empty");
    let list = sb.create_list("Kept");
    let other = sb.create_list("Other");
    import_and_wait(
        &sb,
        Some(&list),
        vec![
            profile(json!({"email": "Ada@Example.com", "first_name": "Ada"})),
            profile(json!({"email": "grace@example.com", "phone_number": "+48601234567"})),
        ],
    )
    .await;
    let account = account_id(&sb).await;
    sb.shutdown().await;
    assert!(file.exists(), "shutdown writes the state");

    let sb = start_on(&file).await;
    assert!(sb.restored());
    assert_eq!(account_id(&sb).await, account, "the same account");
    assert_eq!(
        sb.list_members(&list),
        vec!["Ada@Example.com", "grace@example.com"]
    );
    assert!(sb.list_members(&other).is_empty());
    let (_, lists) = get(&sb, "/api/lists").await;
    let names: Vec<&str> = lists["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["attributes"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Kept") && names.contains(&"Other"));
    // The profiles are found by their identifiers again (the indexes are rebuilt)...
    let (_, found) = get(
        &sb,
        "/api/profiles?filter=equals(email,%22ada@example.com%22)",
    )
    .await;
    assert_eq!(found["data"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["data"][0]["attributes"]["first_name"], "Ada");
    // ...and an upsert updates them instead of creating others.
    import_and_wait(
        &sb,
        Some(&list),
        vec![profile(
            json!({"email": "ada@example.com", "last_name": "Lovelace"}),
        )],
    )
    .await;
    assert_eq!(sb.list_members(&list).len(), 2);
    let (_, all) = get(&sb, "/api/profiles").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn changes_are_written_about_a_second_later_without_a_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sandbox.json");
    let sb = start_on(&file).await;
    let list = sb.create_list("Live");
    import_and_wait(
        &sb,
        Some(&list),
        vec![profile(json!({"email": "ada@example.com"}))],
    )
    .await;
    // The app may be killed at any moment: the file follows the store on its own.
    let deadline = Instant::now() + SAVE_INTERVAL * 5;
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.contains("ada@example.com") {
            break;
        }
        assert!(Instant::now() < deadline, "not written: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A crash here (no shutdown): the next start still has the list and its member.
    drop(sb);
    let again = start_on(&file).await;
    assert_eq!(again.list_members(&list), vec!["ada@example.com"]);
    // Keys are never written to the file.
    assert!(!std::fs::read_to_string(&file).unwrap().contains(KEY));
}

#[tokio::test]
async fn an_unreadable_state_file_is_kept_aside_and_the_sandbox_starts_empty() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sandbox.json");
    std::fs::write(&file, "{ not json").unwrap();
    let sb = start_on(&file).await;
    assert!(!sb.restored());
    let (status, lists) = send(req(&sb, Method::GET, "/api/lists")).await;
    assert!(status.is_success());
    assert!(lists["data"].as_array().unwrap().is_empty());
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sandbox.json.unreadable-"))
        .collect();
    assert_eq!(aside.len(), 1, "kept aside, not overwritten");
}
