//! A seeded sample customers CSV for the demo, the tests and the benchmark.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::{BufWriter, Write};
use std::path::Path;

const FIRST: &[&str] = &[
    "Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger",
    "Zoë", "Jürgen", "Amélie", "Søren", "Łucja", "Mateo", "Aiko", "Priya", "Olu", "Chen",
];
const LAST: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
    "Allen", "Dijkstra", "Nowak", "Müller", "García", "Tanaka", "Sharma", "Okafor", "Wang",
    "O'Brien", "Smith", "Kowalski",
];
const CITIES: &[&str] = &[
    "Warsaw", "Berlin", "Lisbon", "Austin", "Osaka", "Lagos", "Pune", "Toronto", "Lyon", "Oslo",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "mail.example.net",
    "shop.example.co.uk",
];
const BROKEN: &[&str] = &[
    "not-an-email",
    "missing-at.example.com",
    "two@@example.com",
    "trailing@example.",
    "spaces in@example.com",
    "",
];

/// What was written, so a test can check the list against the file independently of the
/// engine's own validation.
pub struct SampleStats {
    pub rows: u64,
    /// 1-based file lines (the header is line 1) of the rows with a broken email.
    pub invalid_lines: Vec<u64>,
    pub valid_emails: Vec<String>,
}

/// Write `rows` customers to `path`: email, first_name, last_name, city, orders, phone (Polish
/// mobile numbers, half in E.164 and half in national format), with about one broken email in
/// `invalid_every` rows (0 = none). The same seed gives the same file.
pub fn write_customers_csv(
    path: &Path,
    rows: u64,
    invalid_every: u64,
    seed: u64,
) -> std::io::Result<SampleStats> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = csv::Writer::from_writer(BufWriter::new(std::fs::File::create(path)?));
    w.write_record([
        "email",
        "first_name",
        "last_name",
        "city",
        "orders",
        "phone",
    ])?;
    let mut stats = SampleStats {
        rows,
        invalid_lines: vec![],
        valid_emails: Vec::with_capacity(rows as usize),
    };
    for i in 0..rows {
        let first = FIRST[rng.random_range(0..FIRST.len())];
        let last = LAST[rng.random_range(0..LAST.len())];
        let broken = invalid_every > 0 && rng.random_range(0..invalid_every) == 0;
        let email = if broken {
            stats.invalid_lines.push(i + 2);
            BROKEN[rng.random_range(0..BROKEN.len())].to_string()
        } else {
            let local: String = format!("{}.{}", first, last)
                .to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            let e = format!(
                "{local}.{i}@{}",
                DOMAINS[rng.random_range(0..DOMAINS.len())]
            );
            stats.valid_emails.push(e.clone());
            e
        };
        let city = CITIES[rng.random_range(0..CITIES.len())];
        let orders = rng.random_range(0..40u32).to_string();
        // Unique per row (a phone is an identifier in Klaviyo: a shared one merges profiles).
        let subscriber = i % 10_000_000;
        let phone = if i % 2 == 0 {
            format!("+4860{subscriber:07}")
        } else {
            format!(
                "60{} {:03} {:03}",
                subscriber / 1_000_000,
                (subscriber / 1000) % 1000,
                subscriber % 1000
            )
        };
        w.write_record([
            email.as_str(),
            first,
            last,
            city,
            orders.as_str(),
            phone.as_str(),
        ])?;
    }
    w.flush()?;
    let mut inner = w.into_inner().map_err(|e| e.into_error())?;
    inner.flush()?;
    Ok(stats)
}
