//! In-memory state of the sandbox: lists, profiles, bulk import jobs.

use std::collections::{HashMap, HashSet};

use rand::distr::Alphanumeric;
use rand::Rng;

/// Crockford base32 alphabet, as used by ULIDs (Klaviyo's profile and job ids look like ULIDs).
const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID-looking id: 26 characters, time-ordered prefix.
pub fn ulid_like() -> String {
    let millis = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let mut out = String::with_capacity(26);
    for i in (0..10).rev() {
        let idx = ((millis >> (i * 5)) & 0x1f) as usize;
        out.push(CROCKFORD[idx] as char);
    }
    let mut rng = rand::rng();
    for _ in 0..16 {
        out.push(CROCKFORD[rng.random_range(0..32)] as char);
    }
    out
}

/// Random alphanumeric string of `n` characters.
pub fn alnum(n: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// Timestamp in the format Klaviyo uses: `2022-11-08T00:00:00.000000+00:00`.
pub fn now_ts() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

pub fn ts_in(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

pub struct ListRec {
    pub id: String,
    pub name: String,
    pub created: String,
    pub updated: String,
    pub members: HashSet<u32>,
}

pub struct ProfileRec {
    #[allow(dead_code)] // kept for parity with Klaviyo (profile ids); read by future routes
    pub id: String,
    pub email: Option<Box<str>>,
    /// The last profile resource sent for this profile, verbatim.
    #[allow(dead_code)]
    pub raw: Box<str>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum JobStatus {
    Queued,
    Processing,
    Complete,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Processing => "processing",
            JobStatus::Complete => "complete",
        }
    }
}

pub struct ImportErrorRec {
    pub id: String,
    pub detail: String,
    pub pointer: String,
    pub original_payload: Box<str>,
}

pub struct JobRec {
    pub id: String,
    pub status: JobStatus,
    pub total_count: u64,
    pub completed_count: u64,
    pub failed_count: u64,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub expires_at: String,
    pub list_ids: Vec<String>,
    pub errors: Vec<ImportErrorRec>,
}

/// A validated profile waiting for its job to be processed.
pub struct PendingProfile {
    pub email: Option<Box<str>>,
    pub phone_number: Option<Box<str>>,
    pub external_id: Option<Box<str>>,
    pub raw: Box<str>,
}

#[derive(Default)]
pub struct Store {
    pub lists: Vec<ListRec>,
    pub list_index: HashMap<String, usize>,
    pub profiles: Vec<ProfileRec>,
    by_email: HashMap<Box<str>, u32>,
    by_phone: HashMap<Box<str>, u32>,
    by_external_id: HashMap<Box<str>, u32>,
    pub jobs: HashMap<String, JobRec>,
    pub job_order: Vec<String>,
}

impl Store {
    pub fn create_list(&mut self, name: &str) -> &ListRec {
        let mut id = alnum(6);
        while self.list_index.contains_key(&id) {
            id = alnum(6);
        }
        self.insert_list(id, name)
    }

    /// A list with a given id (the demo restores its list after a restart); existing ids are kept.
    pub fn ensure_list(&mut self, id: &str, name: &str) -> &ListRec {
        match self.list_index.get(id) {
            Some(&i) => &self.lists[i],
            None => self.insert_list(id.to_owned(), name),
        }
    }

    fn insert_list(&mut self, id: String, name: &str) -> &ListRec {
        let ts = now_ts();
        self.list_index.insert(id.clone(), self.lists.len());
        self.lists.push(ListRec {
            id,
            name: name.to_owned(),
            created: ts.clone(),
            updated: ts,
            members: HashSet::new(),
        });
        let last = self.lists.len() - 1;
        &self.lists[last]
    }

    pub fn list(&self, id: &str) -> Option<&ListRec> {
        self.list_index.get(id).map(|&i| &self.lists[i])
    }

    pub fn list_members(&self, list_id: &str) -> Option<Vec<String>> {
        let list = self.list(list_id)?;
        let mut emails: Vec<String> = list
            .members
            .iter()
            .filter_map(|&i| {
                self.profiles[i as usize]
                    .email
                    .as_deref()
                    .map(str::to_owned)
            })
            .collect();
        emails.sort();
        Some(emails)
    }

    /// Upserts one profile and returns its index. Matching order: email (case-insensitive),
    /// external_id, phone_number.
    pub fn upsert(&mut self, p: PendingProfile) -> u32 {
        let email_key: Option<Box<str>> = p.email.as_deref().map(|e| e.to_ascii_lowercase().into());
        let existing = email_key
            .as_deref()
            .and_then(|k| self.by_email.get(k))
            .or_else(|| {
                p.external_id
                    .as_deref()
                    .and_then(|k| self.by_external_id.get(k))
            })
            .or_else(|| p.phone_number.as_deref().and_then(|k| self.by_phone.get(k)))
            .copied();
        let idx = match existing {
            Some(idx) => {
                let rec = &mut self.profiles[idx as usize];
                rec.raw = p.raw;
                if rec.email.is_none() {
                    rec.email = p.email;
                }
                idx
            }
            None => {
                let idx = self.profiles.len() as u32;
                self.profiles.push(ProfileRec {
                    id: ulid_like(),
                    email: p.email,
                    raw: p.raw,
                });
                idx
            }
        };
        if let Some(k) = email_key {
            self.by_email.entry(k).or_insert(idx);
        }
        if let Some(k) = p.external_id {
            self.by_external_id.entry(k).or_insert(idx);
        }
        if let Some(k) = p.phone_number {
            self.by_phone.entry(k).or_insert(idx);
        }
        idx
    }
}

/// E.164: `+`, then 2 to 15 digits, the first not zero.
pub fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}
