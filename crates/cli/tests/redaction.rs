//! A server that echoes the API key in an error detail: `segport-cli` never prints it on stderr,
//! and the failed run's recorded error (the runs table of the SQLite file) never holds it.

use std::path::Path;
use std::process::{Command, Output};

const KEY: &str = "pk_cliechoedkey_needle_00000000000";
const KEY_ENV: &str = "SEGPORT_CLI_ECHO_KEY";

fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segport-cli"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env(KEY_ENV, KEY)
        // No keychain: the key comes from api_key_env.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_klaviyo_error_that_echoes_the_key_never_shows_it_on_stderr_or_in_the_runs_table() {
    // Every API answer is a JSON:API 400 whose detail quotes the request's key.
    let faults = vec!["*=echo_key@1".parse().unwrap()];
    let config = segport_sandbox::SandboxConfig {
        faults,
        ..Default::default()
    };
    let sandbox = segport_sandbox::Sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base_url = sandbox.base_url();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(dir.path().join("people.csv"), "email\nada@example.com\n").unwrap();
    let config = dir.path().join("segport.toml");
    std::fs::write(
        &config,
        format!(
            r#"version = 1
[[connection]]
name = "Echo"
base_url = "{base_url}"
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
connection = "Echo"
list_id = "AbC123"
[export.mapping]
email = "email"
"#
        ),
    )
    .unwrap();
    for args in [
        vec!["config", "import", config.to_str().unwrap()],
        vec!["connection", "consent", "Echo", "--yes"],
    ] {
        let o = cli(&data, &args);
        assert!(o.status.success(), "{}", text(&o));
    }

    let verify = cli(&data, &["connection", "verify", "Echo"]);
    let run = cli(&data, &["export", "run", "Newsletter"]);
    let run_json = cli(&data, &["export", "run", "Newsletter", "--json"]);
    for o in [&verify, &run, &run_json] {
        assert_eq!(o.status.code(), Some(1), "{}", text(o));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("cannot be used for this request"),
            "{stderr}"
        );
        assert!(!text(o).contains(KEY), "the key was printed: {}", text(o));
        assert!(stderr.contains("pk_***"), "{stderr}");
    }

    // The runs table holds what Klaviyo said, without the key.
    let store = segport_core::store::Store::open_dir(&data).unwrap();
    let runs = store.runs(None, 10).unwrap();
    assert_eq!(runs.len(), 2);
    for r in &runs {
        let error = r.error.as_deref().unwrap_or_default();
        assert!(error.contains("cannot be used for this request"), "{error}");
        assert!(!error.contains(KEY), "{error}");
    }
    drop(store);
    let mut bytes = std::fs::read(data.join("segport.db")).unwrap();
    if let Ok(wal) = std::fs::read(data.join("segport.db-wal")) {
        bytes.extend(wal);
    }
    assert!(!bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()));
    // Nor do the log files.
    for e in std::fs::read_dir(data.join("logs")).unwrap() {
        let log = std::fs::read_to_string(e.unwrap().path()).unwrap();
        assert!(!log.contains(KEY), "{log}");
    }
}
