//! The sandbox's lists and profiles in a JSON file, so that a sandbox started again (the desktop
//! app's demo after a restart) holds what Klaviyo would still hold: the same account, the same
//! lists with the same members, the same profiles.
//!
//! Kept: the account's ids, lists (with members) and profiles (with their consent flags). Not
//! kept: bulk import jobs (Klaviyo's expire too; a run taken up again after a restart treats a
//! job it cannot find as expired and sends its rows again), request counts and faults. Keys are
//! never written here: the sandbox is always started with its keys.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::{ListRec, ProfileRec, Store};

const VERSION: u32 = 1;

#[derive(Serialize)]
struct SavedRef<'a> {
    version: u32,
    account_id: &'a str,
    public_key: &'a str,
    lists: &'a [ListRec],
    profiles: &'a [ProfileRec],
}

#[derive(Deserialize)]
struct Saved {
    version: u32,
    account_id: String,
    public_key: String,
    lists: Vec<ListRec>,
    profiles: Vec<ProfileRec>,
}

/// What a state file held.
pub(crate) struct Loaded {
    pub account_id: String,
    pub public_key: String,
    pub store: Store,
}

/// The JSON text of the store (taken while the caller holds the store's lock).
pub(crate) fn to_json(
    store: &Store,
    account_id: &str,
    public_key: &str,
) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&SavedRef {
        version: VERSION,
        account_id,
        public_key,
        lists: &store.lists,
        profiles: &store.profiles,
    })
}

/// Write `bytes` to `path` through a temporary file beside it: a crash leaves the old file or
/// the new one, never half of one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = tmp_path(path);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Read a state file: `Ok(None)` when there is none. A file that cannot be read as a state is
/// an error (the caller keeps it aside and starts empty).
pub(crate) fn load(path: &Path) -> io::Result<Option<Loaded>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let saved: Saved = serde_json::from_slice(&bytes).map_err(io::Error::other)?;
    if saved.version != VERSION {
        return Err(io::Error::other(format!(
            "state version {} is not {VERSION}",
            saved.version
        )));
    }
    Ok(Some(Loaded {
        account_id: saved.account_id,
        public_key: saved.public_key,
        store: rebuild(saved.lists, saved.profiles),
    }))
}

/// The store with its indexes built again from the lists and profiles.
fn rebuild(lists: Vec<ListRec>, profiles: Vec<ProfileRec>) -> Store {
    let mut store = Store::default();
    let n = profiles.len() as u32;
    for (i, p) in profiles.iter().enumerate() {
        let i = i as u32;
        store.by_id.insert(p.id.clone(), i);
        if let Some(e) = &p.email {
            store.by_email.insert(e.to_ascii_lowercase().into(), i);
        }
        if let Some(ph) = &p.phone_number {
            store.by_phone.insert(ph.clone(), i);
        }
        if let Some(x) = &p.external_id {
            store.by_external_id.insert(x.clone(), i);
        }
    }
    store.profiles = profiles;
    let mut index = HashMap::new();
    for mut list in lists {
        if index.contains_key(&list.id) {
            continue;
        }
        list.members.retain(|&m| m < n);
        index.insert(list.id.clone(), store.lists.len());
        store.lists.push(list);
    }
    store.list_index = index;
    store
}

/// Where an unreadable state file is kept aside (never overwriting anything).
pub(crate) fn keep_aside(path: &Path) -> io::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".unreadable-{stamp}"));
    let aside = path.with_file_name(name);
    std::fs::rename(path, &aside)?;
    Ok(aside)
}
