//! Mapping throughput, single-threaded: `cargo run --release -p segport-core --example
//! mapping_bench [ROWS]` (default 1,000,000). Rows cycle through a pool of 65,536 distinct
//! generated rows (email, phone, first and last name, 3 custom properties) so memory stays small.
//! Prints profiles/s per scenario and what phone normalisation costs per row.

use segport_core::mapping::{ColumnTypeHint, Mapper};
use segport_core::model::Mapping;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

const POOL: usize = 65_536;
const FIRST: &[&str] = &[
    "Ada", "Grace", "Zoë", "Łukasz", "Marie", "Alan", "Ñico", "Hedy",
];
const LAST: &[&str] = &[
    "Lovelace", "Hopper", "Curie", "Turing", "Lamarr", "Kowalski",
];
const PLANS: &[&str] = &["free", "pro", "team", "enterprise"];

fn main() {
    let rows: usize = match std::env::args().nth(1).map(|a| a.replace('_', "").parse()) {
        None => 1_000_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("usage: mapping_bench [ROWS]: {e}");
            std::process::exit(2);
        }
    };
    let columns: Vec<String> = [
        "Email",
        "Phone",
        "PhoneE164",
        "First",
        "Last",
        "Plan",
        "Orders",
        "Vip",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // A seeded LCG: the same rows every run.
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    let pool: Vec<Vec<String>> = (0..POOL)
        .map(|i| {
            let mobile = 500_000_000 + next() % 300_000_000;
            vec![
                format!("Customer.{i}+tag@Example{}.com", i % 97),
                format!(
                    "{} {:03} {:03}",
                    mobile / 1_000_000,
                    mobile / 1000 % 1000,
                    mobile % 1000
                ),
                format!("+48{mobile}"),
                FIRST[next() % FIRST.len()].to_string(),
                LAST[next() % LAST.len()].to_string(),
                PLANS[next() % PLANS.len()].to_string(),
                (next() % 500).to_string(),
                if next() % 2 == 0 { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    let types = [
        ColumnTypeHint::Text,
        ColumnTypeHint::Text,
        ColumnTypeHint::Text,
        ColumnTypeHint::Text,
        ColumnTypeHint::Text,
        ColumnTypeHint::Text,
        ColumnTypeHint::Integer,
        ColumnTypeHint::Boolean,
    ];
    let base = Mapping {
        email: "Email".into(),
        first_name: Some("First".into()),
        last_name: Some("Last".into()),
        default_country: Some("PL".into()),
        properties: BTreeMap::from([
            ("plan".to_string(), "Plan".to_string()),
            ("orders".to_string(), "Orders".to_string()),
            ("vip".to_string(), "Vip".to_string()),
        ]),
        ..Mapping::default()
    };
    let email_only = Mapping {
        email: "Email".into(),
        ..Mapping::default()
    };
    let national = Mapping {
        phone_number: Some("Phone".into()),
        ..base.clone()
    };
    let e164 = Mapping {
        phone_number: Some("PhoneE164".into()),
        ..base.clone()
    };

    println!("mapping {rows} rows per scenario, one thread");
    let mut results = vec![];
    for (name, m) in [
        ("email only", &email_only),
        ("email + names + 3 properties", &base),
        ("… + phone \"601 234 567\" (PL default)", &national),
        ("… + phone \"+48601234567\"", &e164),
    ] {
        let mapper = match Mapper::new(m, &columns, Some(&types)) {
            Ok(mapper) => mapper,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        // Warm up (phone metadata is loaded lazily on first use).
        for row in pool.iter().take(1000) {
            let _ = black_box(mapper.map(row));
        }
        let start = Instant::now();
        let (mut ok, mut bytes) = (0usize, 0usize);
        for i in 0..rows {
            if let Ok(p) = black_box(mapper.map(&pool[i % POOL])) {
                ok += 1;
                bytes += p.json.len();
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let ns = secs * 1e9 / rows as f64;
        println!(
            "  {name:<40} {:>12.0} profiles/s  {ns:>7.0} ns/row  ({ok} mapped, {:.0} B/profile)",
            rows as f64 / secs,
            bytes as f64 / ok.max(1) as f64
        );
        results.push(ns);
    }
    println!(
        "phone normalisation costs {:.0} ns/row (national) and {:.0} ns/row (already E.164)",
        results[2] - results[1],
        results[3] - results[1]
    );
}
