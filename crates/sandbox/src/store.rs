//! In-memory state of the sandbox: lists, profiles, bulk import jobs.

use std::collections::{BTreeSet, HashMap};

use rand::distr::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

#[derive(Serialize, Deserialize)]
pub struct ListRec {
    pub id: String,
    pub name: String,
    pub created: String,
    pub updated: String,
    /// Profile indexes (creation order, so cursors over it are stable).
    pub members: BTreeSet<u32>,
}

/// Names of the plain string attributes of a profile, in [`ProfileFields`] order.
pub const TEXT_FIELDS: [&str; 6] = [
    "first_name",
    "last_name",
    "organization",
    "locale",
    "title",
    "image",
];

/// The plain string attributes, in [`TEXT_FIELDS`] order. `None` = never set.
pub type ProfileFields = [Option<Box<str>>; 6];

#[derive(Serialize, Deserialize)]
pub struct ProfileRec {
    pub id: Box<str>,
    pub email: Option<Box<str>>,
    pub phone_number: Option<Box<str>>,
    pub external_id: Option<Box<str>>,
    pub fields: ProfileFields,
    pub location: Option<Map<String, Value>>,
    pub properties: Option<Map<String, Value>>,
    pub created: Box<str>,
    pub updated: Box<str>,
    /// Set by `POST /api/profile-subscription-bulk-create-jobs` only: list membership and bulk
    /// import never change consent (as in Klaviyo).
    pub email_marketing: bool,
    pub sms_marketing: bool,
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
    pub code: &'static str,
    pub title: &'static str,
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
    /// Indexes of the profiles the job created or updated, in request order.
    pub profiles: Vec<u32>,
}

/// A validated profile waiting for its job to be processed. String fields hold what the request
/// sent; `None` means "omitted or null" (neither changes a stored value).
#[derive(Default)]
pub struct PendingProfile {
    pub email: Option<Box<str>>,
    pub phone_number: Option<Box<str>>,
    pub external_id: Option<Box<str>>,
    pub fields: ProfileFields,
    pub location: Option<Map<String, Value>>,
    pub properties: Option<Map<String, Value>>,
    /// The profile resource as sent (for `original_payload` of an import error).
    pub raw: Box<str>,
}

/// Why an upsert failed.
pub enum UpsertError {
    /// The identifiers belong to different existing profiles (Klaviyo's 409 `duplicate_profile`).
    Conflict(String),
}

#[derive(Default)]
pub struct Store {
    pub lists: Vec<ListRec>,
    pub list_index: HashMap<String, usize>,
    pub profiles: Vec<ProfileRec>,
    pub by_id: HashMap<Box<str>, u32>,
    pub by_email: HashMap<Box<str>, u32>,
    pub by_phone: HashMap<Box<str>, u32>,
    pub by_external_id: HashMap<Box<str>, u32>,
    pub jobs: HashMap<String, JobRec>,
    pub job_order: Vec<String>,
}

/// Merges `src` into `dst` key by key; a null value never replaces anything (the bulk import API
/// "does not support setting fields to null").
fn merge_map(dst: &mut Option<Map<String, Value>>, src: Option<Map<String, Value>>) {
    let Some(src) = src else { return };
    let dst = dst.get_or_insert_with(Map::new);
    for (k, v) in src {
        if !v.is_null() {
            dst.insert(k, v);
        }
    }
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
            members: BTreeSet::new(),
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

    /// Upserts one profile (identity by email, case-insensitive; phone number; external id) and
    /// returns its index. When the identifiers point at two or more different existing profiles
    /// nothing changes and the conflict is returned. Attributes are merged: an omitted or null
    /// attribute keeps the stored value, any other value (including "") replaces it.
    pub fn upsert(&mut self, p: PendingProfile, now: &str) -> Result<u32, UpsertError> {
        let email_key: Option<Box<str>> = p.email.as_deref().map(|e| e.to_ascii_lowercase().into());
        let by_email = email_key
            .as_deref()
            .and_then(|k| self.by_email.get(k))
            .copied();
        let by_phone = p
            .phone_number
            .as_deref()
            .and_then(|k| self.by_phone.get(k))
            .copied();
        let by_ext = p
            .external_id
            .as_deref()
            .and_then(|k| self.by_external_id.get(k))
            .copied();
        let mut found: Option<u32> = None;
        for (what, m) in [
            ("email", by_email),
            ("phone_number", by_phone),
            ("external_id", by_ext),
        ] {
            let Some(m) = m else { continue };
            match found {
                Some(f) if f != m => {
                    return Err(UpsertError::Conflict(format!(
                        "A profile already exists with one of these identifiers: the {what} belongs to profile {} while another identifier belongs to profile {}.",
                        self.profiles[m as usize].id, self.profiles[f as usize].id
                    )))
                }
                _ => found = Some(m),
            }
        }
        let idx = match found {
            Some(idx) => idx,
            None => {
                let idx = self.profiles.len() as u32;
                let id: Box<str> = ulid_like().into();
                self.by_id.insert(id.clone(), idx);
                self.profiles.push(ProfileRec {
                    id,
                    email: None,
                    phone_number: None,
                    external_id: None,
                    fields: Default::default(),
                    location: None,
                    properties: None,
                    created: now.into(),
                    updated: now.into(),
                    email_marketing: false,
                    sms_marketing: false,
                });
                idx
            }
        };
        let rec = &mut self.profiles[idx as usize];
        if let (Some(email), Some(key)) = (p.email, email_key) {
            // The same address in other letter case is the same email: keep the stored one.
            let old_key = rec.email.as_deref().map(str::to_ascii_lowercase);
            if old_key.as_deref() != Some(&*key) {
                if let Some(old_key) = old_key {
                    self.by_email.remove(old_key.as_str());
                }
                rec.email = Some(email);
                self.by_email.insert(key, idx);
            }
        }
        if let Some(phone) = p.phone_number {
            if let Some(old) = rec.phone_number.replace(phone.clone()) {
                if old != phone {
                    self.by_phone.remove(&old);
                }
            }
            self.by_phone.insert(phone, idx);
        }
        if let Some(ext) = p.external_id {
            if let Some(old) = rec.external_id.replace(ext.clone()) {
                if old != ext {
                    self.by_external_id.remove(&old);
                }
            }
            self.by_external_id.insert(ext, idx);
        }
        for (dst, src) in rec.fields.iter_mut().zip(p.fields) {
            if src.is_some() {
                *dst = src;
            }
        }
        merge_map(&mut rec.location, p.location);
        merge_map(&mut rec.properties, p.properties);
        if found.is_some() {
            rec.updated = now.into();
        }
        Ok(idx)
    }

    /// Finds the profile of an email (case-insensitive), phone number or external id.
    pub fn find(&self, field: &str, value: &str) -> Option<u32> {
        match field {
            "email" => self.by_email.get(value.to_ascii_lowercase().as_str()),
            "phone_number" => self.by_phone.get(value),
            "external_id" => self.by_external_id.get(value),
            "id" => self.by_id.get(value),
            _ => None,
        }
        .copied()
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
