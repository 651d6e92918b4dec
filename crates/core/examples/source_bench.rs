//! Streams a generated CSV, JSON Lines file and SQLite table of N rows (default 1,000,000) and
//! prints rows/s and the process's peak memory. No assertion on time: numbers to compare.
//!
//! cargo run --release -p segport-core --example source_bench [-- ROWS]

use segport_core::source::{self, RowItem, SourceSpec};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let n: u64 = match std::env::args().nth(1) {
        Some(a) => a.parse()?,
        None => 1_000_000,
    };
    let dir = tempfile::tempdir()?;
    println!("rows: {n}  (peak RSS before reading: {})", peak_rss());

    let csv = dir.path().join("bench.csv");
    let mut f = BufWriter::new(std::fs::File::create(&csv)?);
    writeln!(f, "email,first_name,last_name,city,visits,score")?;
    for i in 0..n {
        writeln!(
            f,
            "user{i}@example.com,First{i},\"Last, {i}\",City {},{i},{}.5",
            i % 97,
            i % 1000
        )?;
    }
    f.into_inner()?.sync_all()?;
    run("csv", &SourceSpec::csv(&csv), n)?;

    let jsonl = dir.path().join("bench.jsonl");
    let mut f = BufWriter::new(std::fs::File::create(&jsonl)?);
    for i in 0..n {
        writeln!(
            f,
            r#"{{"email":"user{i}@example.com","first_name":"First{i}","last_name":"Last, {i}","city":"City {}","visits":{i},"score":{}.5}}"#,
            i % 97,
            i % 1000
        )?;
    }
    f.into_inner()?.sync_all()?;
    run("jsonl", &SourceSpec::jsonl(&jsonl), n)?;

    let db = dir.path().join("bench.sqlite");
    make_db(&db, n)?;
    run("sqlite", &SourceSpec::sqlite(&db, "people"), n)?;
    Ok(())
}

fn make_db(path: &Path, n: u64) -> Res<()> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "CREATE TABLE people (email TEXT, first_name TEXT, last_name TEXT, city TEXT, visits INTEGER, score REAL)",
    )?;
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare("INSERT INTO people VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for i in 0..n {
            stmt.execute((
                format!("user{i}@example.com"),
                format!("First{i}"),
                format!("Last, {i}"),
                format!("City {}", i % 97),
                i as i64,
                (i % 1000) as f64 + 0.5,
            ))?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn run(name: &str, spec: &SourceSpec, expected: u64) -> Res<()> {
    let size = std::fs::metadata(spec.path())?.len();
    let start = Instant::now();
    let mut stream = source::open(spec)?;
    let (mut rows, mut bad, mut bytes) = (0u64, 0u64, 0usize);
    while let Some(item) = stream.next_row()? {
        match item {
            RowItem::Row { values, .. } => {
                rows += 1;
                bytes += values.iter().map(String::len).sum::<usize>();
            }
            RowItem::Bad { .. } => bad += 1,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:<7} {rows:>9} rows ({bad} bad) in {secs:6.3} s = {:>10.0} rows/s, {:6.1} MB/s of file ({:.0} MB), {} MB of values; peak RSS {}",
        rows as f64 / secs,
        size as f64 / secs / 1e6,
        size as f64 / 1e6,
        bytes / 1_000_000,
        peak_rss()
    );
    if rows != expected {
        return Err(format!("{name}: expected {expected} rows, read {rows}").into());
    }
    Ok(())
}

/// The process's peak resident memory (Linux), or "?".
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}
