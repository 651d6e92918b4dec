//! "One identifier, one profile per run": which emails and phone numbers a run has seen, and
//! the reject reason of a row that repeats one. The mapping preview applies the same rule
//! through [`DuplicateCheck`], so it shows what a run sends.

use crate::error::{DuplicateOf, RejectCode};

/// Longest identifier (and duplicate value) kept in a reject row, in characters.
pub(super) const MAX_IDENTIFIER_CHARS: usize = 200;

/// A map keyed by an XXH3 hash already: no second hash per lookup.
pub(super) type KeyMap<V> = nohash_hasher::IntMap<u64, V>;

/// The identifier key of the delta state and the mirror set: a 64-bit hash of the email.
pub(super) fn key_of(email: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(email.as_bytes())
}

/// The key of an E.164 phone number as the delta state keeps it (0 = no phone).
pub(super) fn phone_key(phone: Option<&str>) -> u64 {
    match phone {
        None => 0,
        Some(p) => key_of(p).max(1),
    }
}

/// First line of each identifier seen in this run (emails and E.164 phones, hashed, in
/// separate maps): "one identifier, one profile per run", and mirror mode's "still in the
/// segment" set.
#[derive(Default)]
pub(super) struct Identities {
    emails: KeyMap<u64>,
    phones: KeyMap<u64>,
}

/// An email seen in the segment whose row was not sent (rejected): still in the segment for
/// mirror mode, but no later row is its duplicate.
const UNSENT: u64 = u64::MAX;

impl Identities {
    /// The email of key `key` (see [`key_of`]) is in the segment (mirror mode keeps its
    /// profile); the line of an earlier row with it that is sent in this run, if any.
    pub(super) fn see_email(&mut self, key: u64) -> Option<u64> {
        match self.emails.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => {
                Some(*e.get()).filter(|&l| l != UNSENT)
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(UNSENT);
                None
            }
        }
    }
    /// The row at `line` with this email is sent (or unchanged since it was): later rows with
    /// the same email are its duplicates.
    pub(super) fn email_sent(&mut self, key: u64, line: u64) {
        let slot = self.emails.entry(key).or_insert(line);
        if *slot == UNSENT {
            *slot = line;
        }
    }
    /// Record the phone of key `key` (see [`phone_key`]; 0 = none) at `line`; the line of an
    /// earlier row with the same phone if any. (Only rows about to be sent get here.)
    pub(super) fn phone(&mut self, key: u64, line: u64) -> Option<u64> {
        if key == 0 {
            return None;
        }
        match self.phones.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => {
                Some(*e.get()).filter(|&first| first != line)
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(line);
                None
            }
        }
    }
    pub(super) fn has_email(&self, email: &str) -> bool {
        self.emails.contains_key(&key_of(email))
    }
}

/// The reject reason of a row whose identifier an earlier row already has.
/// `value` is `None` where only its hash is known (an unchanged row's phone, from the state).
pub(super) fn duplicate_reason(what: DuplicateOf, value: Option<&str>, first: u64) -> RejectCode {
    RejectCode::Duplicate {
        what,
        value: value.map(|v| v.chars().take(MAX_IDENTIFIER_CHARS).collect()),
        first_line: first,
    }
}

/// Applies "one identifier, one profile per run" to mapped rows in order (the mapping
/// preview uses it so that it shows what a run sends).
#[derive(Default)]
pub struct DuplicateCheck {
    ids: Identities,
}

impl DuplicateCheck {
    /// `Some(reason)` when the row at `line`, about to be sent, repeats the email or phone of
    /// an earlier row that is sent; otherwise the row is recorded as sent.
    pub fn check(&mut self, line: u64, email: &str, phone: Option<&str>) -> Option<String> {
        let key = key_of(email);
        if let Some(first) = self.ids.see_email(key) {
            return Some(duplicate_reason(DuplicateOf::Email, Some(email), first).to_string());
        }
        if let Some(first) = self.ids.phone(phone_key(phone), line) {
            return Some(duplicate_reason(DuplicateOf::Phone, phone, first).to_string());
        }
        self.ids.email_sent(key, line);
        None
    }
}
