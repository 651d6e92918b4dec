//! Segment filter throughput: `cargo run --release -p segport-core --example filter_bench [ROWS]`.
//!
//! Generates ROWS (default 1,000,000) customer rows in memory, then prints
//! 1. the filter alone over rows already in memory (rows/s),
//! 2. `count_and_sample` consuming the rows,
//! 3. reading the same rows as CSV from memory (csv crate, one `Vec<String>` per row) and counting:
//!    the "count over a file" figure the segment editor shows.
//!
//! Prints numbers only; nothing here asserts on time.

use segport_core::filter::{count_and_sample, try_count_and_sample, Filter};
use std::time::{Duration, Instant};

const FILTERS: [(&str, &str); 3] = [
    ("one equality", r#"country = "PL""#),
    (
        "issue example",
        r#"country = "PL" and (orders >= 3 or vip = "yes") and email is not empty and city in ["Warsaw", "Berlin"] and name contains "ann" and signup > 2024-01-01 and not (plan starts with "free")"#,
    ),
    (
        "or of contains/dates",
        r#"name contains "zz" or email contains "example.org" or signup < 01.01.2020 or orders > 40.5"#,
    ),
];

const COLUMNS: [&str; 8] = [
    "email", "name", "country", "city", "orders", "vip", "signup", "plan",
];

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn generate(n: usize) -> Vec<Vec<String>> {
    let names = [
        "Anna", "Joanna", "Jan", "Piotr", "Hannah", "Zoë", "Marek", "Łucja", "Oliver", "Emma",
    ];
    let countries = ["PL", "pl", "DE", "US", "FR", "GB", " PL "];
    let cities = [
        "Warsaw", "Berlin", "Kraków", "Paris", "berlin", "London", "WARSAW",
    ];
    let plans = ["free", "Free trial", "pro", "business", ""];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|i| {
            let name = rng.pick(&names);
            let orders = rng.next() % 50;
            // One in twenty has no email; a third of the rest are @example.org.
            let email = match (rng.next() % 20, i % 3) {
                (0, _) => String::new(),
                (_, 0) => format!("{}{i}@example.org", name.to_lowercase()),
                _ => format!("{}{i}@example.com", name.to_lowercase()),
            };
            let day = 1 + rng.next() % 28;
            let month = 1 + rng.next() % 12;
            let year = 2018 + rng.next() % 8;
            let signup = match rng.next() % 3 {
                0 => format!("{year}-{month:02}-{day:02}"),
                1 => format!("{day:02}.{month:02}.{year}"),
                _ => format!("{year}-{month:02}-{day:02}T10:{:02}:00Z", rng.next() % 60),
            };
            vec![
                email,
                format!(
                    "{name} {}",
                    rng.pick(&["Kowalska", "Nowak", "Schmidt", "Smith"])
                ),
                rng.pick(&countries).to_string(),
                rng.pick(&cities).to_string(),
                // Some counts written as decimals, as spreadsheets do.
                match orders % 10 {
                    0 => format!("{orders}.0"),
                    _ => orders.to_string(),
                },
                rng.pick(&["yes", "no", "YES", ""]).to_string(),
                signup,
                rng.pick(&plans).to_string(),
            ]
        })
        .collect()
}

fn rate(n: usize, d: Duration) -> String {
    format!("{:>6.1} M rows/s", n as f64 / d.as_secs_f64() / 1e6)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 1_000_000,
    };
    let columns: Vec<String> = COLUMNS.iter().map(|s| s.to_string()).collect();

    let t = Instant::now();
    let rows = generate(n);
    println!("generated {n} rows in {:.2?}", t.elapsed());

    let mut csv_bytes = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut csv_bytes);
        w.write_record(COLUMNS)?;
        for row in &rows {
            w.write_record(row)?;
        }
        w.flush()?;
    }
    println!("as CSV: {:.1} MB\n", csv_bytes.len() as f64 / 1e6);

    for (label, text) in FILTERS {
        let filter = Filter::parse(text)?.compile(&columns)?;
        println!("{label}: {text}");

        // 1. The filter alone, rows in memory; best of 3.
        let mut best = Duration::MAX;
        let mut matched = 0u64;
        for _ in 0..3 {
            let t = Instant::now();
            matched = rows.iter().filter(|r| filter.matches(r)).count() as u64;
            best = best.min(t.elapsed());
        }
        println!(
            "  filter only          {matched:>8} of {n} matched in {:>8.2?}  {}",
            best,
            rate(n, best)
        );

        // 2. count_and_sample consuming owned rows (clone made outside the timing).
        let owned = rows.clone();
        let t = Instant::now();
        let (count, sample) = count_and_sample(owned, &filter, 20);
        let d = t.elapsed();
        println!(
            "  count_and_sample     {count:>8} matched, {} kept in {d:>8.2?}  {}",
            sample.len(),
            rate(n, d)
        );

        // 3. Reading CSV from memory + counting.
        let t = Instant::now();
        let mut reader = csv::Reader::from_reader(csv_bytes.as_slice());
        let records = reader
            .records()
            .map(|r| r.map(|rec| rec.iter().map(str::to_owned).collect::<Vec<String>>()));
        let (count, _) = try_count_and_sample(records, &filter, 20)?;
        let d = t.elapsed();
        println!(
            "  read CSV + count     {count:>8} matched         in {d:>8.2?}  {}\n",
            rate(n, d)
        );
    }
    Ok(())
}
