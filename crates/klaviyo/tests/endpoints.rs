//! Every endpoint of the client against the sandbox, over real HTTP.

use std::time::{Duration, Instant};

use segport_klaviyo::{
    ApiKey, Client, Error, Identifier, Job, JobStatus, JobsQuery, ListsQuery, RetryPolicy,
    Subscriber,
};
use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};

const KEY: &str = "pk_endpoints_test_0123456789abcdefghij";

async fn start() -> Sandbox {
    let config = SandboxConfig {
        keys: vec![SandboxKey::full(KEY)],
        job_processing: Duration::from_millis(20),
        account_name: "Endpoint Co".to_owned(),
        ..Default::default()
    };
    Sandbox::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox starts")
}

fn client(sb: &Sandbox) -> Client {
    Client::new(&sb.base_url(), ApiKey::new(KEY.to_owned()))
        .expect("client")
        .with_retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(5),
        })
}

fn profile(email: &str) -> String {
    serde_json::json!({ "type": "profile", "attributes": { "email": email } }).to_string()
}

async fn wait_done(c: &Client, id: &str) -> Job {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let j = c.get_bulk_import_job(id).await.expect("job");
        if j.is_finished() {
            return j;
        }
        assert!(Instant::now() < deadline, "job never finished: {j:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn get_accounts_lists_the_one_account() {
    let sb = start().await;
    let accounts = client(&sb).get_accounts().await.expect("accounts");
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].name, "Endpoint Co");
    sb.shutdown().await;
}

#[tokio::test]
async fn get_lists_pages_with_cursors_and_filters_by_name() {
    let sb = start().await;
    let c = client(&sb);
    let mut made: Vec<String> = (0..23)
        .map(|i| sb.create_list(&format!("L{i:02}")))
        .collect();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = c.get_lists(cursor.as_deref()).await.expect("page");
        assert!(page.lists.len() <= 10);
        pages += 1;
        seen.extend(page.lists.into_iter().map(|l| l.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    seen.sort();
    made.sort();
    assert_eq!(seen, made);

    let small = c
        .get_lists_with(&ListsQuery {
            page_size: 4,
            ..Default::default()
        })
        .await
        .expect("page of 4");
    assert_eq!(small.lists.len(), 4);
    assert!(small.next_cursor.is_some());

    let by_name = c
        .get_lists_with(&ListsQuery {
            name: Some("L07".to_owned()),
            ..Default::default()
        })
        .await
        .expect("filtered");
    assert_eq!(by_name.lists.len(), 1);
    assert_eq!(by_name.lists[0].name, "L07");
    assert_eq!(by_name.next_cursor, None);
    sb.shutdown().await;
}

#[tokio::test]
async fn bulk_import_jobs_are_listed_filtered_and_polled_together() {
    let sb = start().await;
    let c = client(&sb);
    let list = sb.create_list("Jobs");
    let mut ids = Vec::new();
    for batch in 0..5 {
        let profiles: Vec<String> = (0..20)
            .map(|i| profile(&format!("b{batch}u{i}@example.com")))
            .collect();
        ids.push(c.bulk_import(&list, &profiles).await.expect("job").id);
    }
    for id in &ids {
        wait_done(&c, id).await;
    }
    let page = c
        .get_bulk_import_jobs(&JobsQuery::default())
        .await
        .expect("jobs");
    assert_eq!(page.items.len(), 5);
    assert_eq!(page.next_cursor, None);
    // Newest first.
    let listed: Vec<&str> = page.items.iter().map(|j| j.id.as_str()).collect();
    let mut newest_first: Vec<&str> = ids.iter().map(String::as_str).collect();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    assert!(page
        .items
        .iter()
        .all(|j| j.status == JobStatus::Complete && j.completed_count == 20));

    let two = c
        .get_bulk_import_jobs(&JobsQuery {
            page_size: 2,
            ..Default::default()
        })
        .await
        .expect("page of 2");
    assert_eq!(two.items.len(), 2);
    let rest = c
        .get_bulk_import_jobs(&JobsQuery {
            page_size: 2,
            cursor: two.next_cursor.clone(),
            ..Default::default()
        })
        .await
        .expect("second page");
    assert_eq!(rest.items[0].id, ids[2]);

    let queued = c
        .get_bulk_import_jobs(&JobsQuery {
            statuses: vec![JobStatus::Queued, JobStatus::Processing],
            ..Default::default()
        })
        .await
        .expect("filtered");
    assert!(queued.items.is_empty(), "{queued:?}");

    let polled = c.poll_jobs(&ids).await.expect("poll");
    assert_eq!(polled.len(), 5);
    // Four calls above, and one for all five jobs.
    assert_eq!(sb.request_count("GET /api/profile-bulk-import-jobs"), 5);
    sb.shutdown().await;
}

#[tokio::test]
async fn import_errors_and_profile_ids_of_a_job() {
    let sb = start().await;
    let c = client(&sb);
    let list = sb.create_list("Errors");
    // Both identifiers of a conflict: the second profile's phone belongs to the first one.
    let profiles = vec![
        serde_json::json!({"type":"profile","attributes":{"email":"one@example.com","phone_number":"+48601000001"}}).to_string(),
        serde_json::json!({"type":"profile","attributes":{"email":"two@example.com","phone_number":"+48601000001"}}).to_string(),
        profile("three@example.com"),
    ];
    let job = c.bulk_import(&list, &profiles).await.expect("job");
    let done = wait_done(&c, &job.id).await;
    let errors = c
        .get_bulk_import_job_errors(&job.id, None)
        .await
        .expect("errors");
    assert_eq!(errors.items.len() as u64, done.failed_count, "{errors:?}");
    for e in &errors.items {
        assert!(e.pointer.is_some(), "{e:?}");
        assert!(e.original_payload.is_some(), "{e:?}");
        assert!(!e.detail.is_empty());
    }
    let ids = c
        .get_bulk_import_job_profile_ids(&job.id, None)
        .await
        .expect("ids");
    assert_eq!(ids.items.len() as u64, done.completed_count);
    assert_eq!(ids.next_cursor, None);
    let err = c
        .get_bulk_import_job_errors("nope", None)
        .await
        .expect_err("404");
    assert!(matches!(err, Error::Invalid { status: 404, .. }), "{err:?}");
    sb.shutdown().await;
}

#[tokio::test]
async fn profiles_by_identifier_list_members_and_removal() {
    let sb = start().await;
    let c = client(&sb);
    let list = sb.create_list("Members");
    let emails: Vec<String> = (0..250).map(|i| format!("m{i:03}@example.com")).collect();
    let profiles: Vec<String> = emails.iter().map(|e| profile(e)).collect();
    let job = c.bulk_import(&list, &profiles).await.expect("job");
    wait_done(&c, &job.id).await;

    // Members, 100 a page.
    let mut member_ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = c
            .get_list_profile_ids(&list, cursor.as_deref())
            .await
            .expect("members");
        assert!(page.items.len() <= 100);
        member_ids.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(member_ids.len(), 250);

    // Leavers by email: 150 values → two filters, with an unknown one and a quote.
    let mut wanted: Vec<String> = emails[..149].to_vec();
    wanted.push("nobody\"here@example.com".to_owned());
    let found = c
        .find_profiles(Identifier::Email, &wanted)
        .await
        .expect("profiles");
    assert_eq!(found.len(), 149);
    assert!(found.iter().all(|p| p
        .email
        .as_deref()
        .is_some_and(|e| emails.contains(&e.to_owned()))));
    let one = c
        .get_profiles(Identifier::Email, &emails[..1], None)
        .await
        .expect("one");
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.items[0].email.as_deref(), Some(emails[0].as_str()));

    // Remove 149 (one request), then the rest except one (in chunks of 1000: one request).
    let leaving: Vec<String> = found.iter().map(|p| p.id.clone()).collect();
    c.remove_profiles_from_list(&list, &leaving)
        .await
        .expect("removed");
    assert_eq!(sb.list_members(&list), emails[149..].to_vec());
    assert_eq!(
        sb.request_count("DELETE /api/lists/{id}/relationships/profiles"),
        1
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn remove_profiles_is_sent_in_requests_of_at_most_1000() {
    let sb = start().await;
    let c = client(&sb);
    let list = sb.create_list("Chunks");
    let ids: Vec<String> = (0..2500).map(|i| format!("01NOPROFILE{i:05}")).collect();
    c.remove_profiles_from_list(&list, &ids).await.expect("ok");
    assert_eq!(
        sb.request_count("DELETE /api/lists/{id}/relationships/profiles"),
        3
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn bulk_subscribe_adds_consenting_profiles_to_the_list() {
    let sb = start().await;
    let c = client(&sb);
    let list = sb.create_list("Newsletter");
    let subs = vec![
        Subscriber {
            email: Some("a@example.com".to_owned()),
            phone_number: None,
        },
        Subscriber {
            email: Some("b@example.com".to_owned()),
            phone_number: Some("+48601234567".to_owned()),
        },
    ];
    c.bulk_subscribe(Some(&list), &subs, Some("Segport"))
        .await
        .expect("accepted");
    let deadline = Instant::now() + Duration::from_secs(5);
    while sb.list_members(&list).len() < 2 {
        assert!(Instant::now() < deadline, "never subscribed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        sb.list_members(&list),
        vec!["a@example.com", "b@example.com"]
    );

    let bad = vec![Subscriber {
        email: None,
        phone_number: Some("0601234567".to_owned()),
    }];
    let err = c.bulk_subscribe(None, &bad, None).await.expect_err("400");
    assert_eq!(
        err.pointers(),
        vec!["/data/attributes/profiles/data/0/attributes/phone_number"]
    );
    sb.shutdown().await;
}
