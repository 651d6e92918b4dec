//! `segport-cli` as a script would use it: config import, consent, export run --json, exit
//! codes — against the sandbox over real HTTP, with the key from `api_key_env` (headless).

use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const KEY: &str = "pk_clitestkey_needle_0000000000000000";
const KEY_ENV: &str = "SEGPORT_CLI_TEST_KEY";

fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segport-cli"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env(KEY_ENV, KEY)
        // No keychain here on purpose: the key must come from api_key_env.
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn setup() -> (Sandbox, tempfile::TempDir, String) {
    let sb = Sandbox::start(
        SandboxConfig {
            keys: vec![SandboxKey::full(KEY)],
            job_processing: std::time::Duration::from_millis(30),
            ..SandboxConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let list = sb.create_list("CLI");
    std::fs::write(
        dir.path().join("people.csv"),
        "email,first_name\nada@example.com,Ada\nnot-an-email,Bob\ngrace@example.com,Grace\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("segport.toml"),
        format!(
            r#"version = 1
[[connection]]
name = "Sandbox"
base_url = "{}"
api_key_env = "{KEY_ENV}"

[[source]]
name = "People"
kind = "csv"
path = "people.csv"

[[segment]]
name = "Everyone"
source = "People"

[[export]]
name = "Newsletter"
segment = "Everyone"
connection = "Sandbox"
list_id = "{list}"
[export.mapping]
email = "email"
first_name = "first_name"
"#,
            sb.base_url()
        ),
    )
    .unwrap();
    (sb, dir, list)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_consent_and_run_with_ndjson_and_exit_code_3_for_rejects() {
    let (sb, dir, list) = setup().await;
    let data = dir.path().join("data");
    let toml = dir.path().join("segport.toml");

    let o = cli(&data, &["config", "import", toml.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));

    // Without consent the export does not run: a configuration error (exit 2), nothing sent.
    let o = cli(&data, &["export", "run", "Newsletter", "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("consent"));
    assert_eq!(sb.request_count("POST /api/profile-bulk-import-jobs"), 0);

    let o = cli(&data, &["connection", "consent", "Sandbox"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "consent needs --yes: {}",
        text(&o)
    );
    let o = cli(&data, &["connection", "consent", "Sandbox", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));

    let o = cli(&data, &["export", "run", "Newsletter", "--json"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let stdout = String::from_utf8(o.stdout.clone()).unwrap();
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is JSON"))
        .collect();
    let last = events.last().unwrap();
    assert_eq!(last["event"], "finished");
    assert_eq!(last["status"], "partial");
    assert_eq!(last["read"], 3);
    assert_eq!(last["imported"], 2);
    assert_eq!(last["rejected"], 1);
    assert!(events[..events.len() - 1]
        .iter()
        .all(|e| e["event"] == "progress"));
    assert_eq!(
        sb.list_members(&list),
        vec!["ada@example.com", "grace@example.com"]
    );

    // The run is in the history, by the CLI; its rejects can be written to a CSV.
    let o = cli(&data, &["runs", "list"]);
    assert!(text(&o).contains("cli"), "{}", text(&o));
    let run_id = last["run_id"].as_str().unwrap();
    let out = dir.path().join("rejects.csv");
    let o = cli(
        &data,
        &["runs", "show", run_id, "--rejects", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let rejects = std::fs::read_to_string(&out).unwrap();
    assert!(rejects.contains("3,not-an-email,"), "{rejects}");

    // Nothing the CLI printed, nor the config export, holds the key.
    let o2 = cli(&data, &["config", "export"]);
    for o in [&o, &o2] {
        assert!(!text(o).contains(KEY));
    }
    assert!(!stdout.contains(KEY));
    // Nor do the CLI's log files, which do hold the runs (for a support request).
    let logs: Vec<_> = std::fs::read_dir(data.join("logs"))
        .expect("the CLI writes logs under the data folder")
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(!logs.is_empty());
    assert!(logs.iter().any(|l| l.contains(run_id)), "{logs:?}");
    assert!(logs
        .iter()
        .all(|l| !l.contains(KEY) && !l.contains("ada@example.com")));
}

#[tokio::test]
async fn unknown_export_and_bad_config_are_usage_errors() {
    let (_sb, dir, _) = setup().await;
    let data = dir.path().join("data");
    let o = cli(&data, &["export", "run", "Nope"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("Nope"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "version = 1\n[[export]]\nname = \"x\"\n").unwrap();
    let o = cli(&data, &["config", "import", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("bad.toml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_show_writes_rejects_a_spreadsheet_will_not_run_as_formulas() {
    let (_sb, dir, _list) = setup().await;
    // Emails that are not emails, each the start of a spreadsheet formula.
    std::fs::write(
        dir.path().join("people.csv"),
        "email,first_name\nada@example.com,Ada\n\"=HYPERLINK(\"\"http://x\"\")\",Eve\n-2+3,Mal\n@SUM(A1),Sum\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let toml = dir.path().join("segport.toml");
    for args in [
        vec!["config", "import", toml.to_str().unwrap()],
        vec!["connection", "consent", "Sandbox", "--yes"],
    ] {
        let o = cli(&data, &args);
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = cli(&data, &["export", "run", "Newsletter", "--json"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let stdout = String::from_utf8(o.stdout.clone()).unwrap();
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["rejected"], 3, "{stdout}");
    let run_id = last["run_id"].as_str().unwrap();

    let out = dir.path().join("rejects.csv");
    let o = cli(
        &data,
        &["runs", "show", run_id, "--rejects", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let mut r = csv::Reader::from_path(&out).unwrap();
    assert_eq!(r.headers().unwrap(), vec!["line", "identifier", "reason"]);
    let rows: Vec<(String, String)> = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[0].to_owned(), rec[1].to_owned())
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("3".into(), "'=HYPERLINK(\"http://x\")".into()),
            ("4".into(), "'-2+3".into()),
            ("5".into(), "'@SUM(A1)".into()),
        ]
    );
}
