//! Mirror mode: after a run sent everything, the profiles sent to its destination before
//! that are not in the segment any more are removed from the list — unless that looks like an
//! accident (unreadable rows, a source that changed while it was read, more removals than the
//! export's [`crate::model::RemovalGuard`] allows): then they are held.

use super::progress::add;
use super::{blocking, lock, Ending, RunPlan, Shared};
use crate::fingerprint::SourceIdentity;
use crate::model::RunPhase;
use crate::Result;
use segport_klaviyo::{self as klaviyo, Client, Identifier};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Mirror mode: the profiles sent to this destination by earlier runs that are not in the
/// segment any more are removed from the list (looked up by email, removed 1,000 at a time)
/// and forgotten — or held, when that looks like an accident (see [`RemovalGuard`]).
pub(super) async fn remove_leavers(
    shared: &Arc<Shared>,
    plan: &RunPlan,
    client: &Client,
    before: u64,
) -> Result<Ending> {
    let Some(seen) = lock(&shared.seen).take() else {
        return Ok(Ending::Done);
    };
    shared.counters.set_phase(RunPhase::Removing);
    let s = shared.clone();
    let leavers: Vec<String> = blocking(move || {
        let mut out = Vec::new();
        s.store
            .for_each_export_state(&s.export_id, &s.destination, |id, _, _| {
                if !seen.has_email(id) {
                    out.push(id.to_string());
                }
            })?;
        Ok(out)
    })
    .await?;
    if leavers.is_empty() {
        return Ok(Ending::Done);
    }
    let n = leavers.len() as u64;
    let mut why: Vec<String> = Vec::new();
    let unreadable = shared.counters.unreadable.load(Ordering::Relaxed);
    if unreadable > 0 {
        why.push(format!(
            "{unreadable} row(s) of the source could not be read, so their profiles would be removed as if they had left"
        ));
    }
    if let Some(was) = &plan.source_identity {
        let spec = plan.source.clone();
        let now = blocking(move || SourceIdentity::of(&spec)).await;
        match now {
            Ok(now) => {
                if let Some(change) = was.change(&now) {
                    why.push(format!("the source changed while it was read ({change})"));
                }
            }
            Err(e) => why.push(format!(
                "the source could not be checked after reading: {e}"
            )),
        }
    }
    let guard = plan.export.removal_guard;
    if guard.holds(n, before) {
        why.push(format!(
            "{n} of the {before} profile(s) sent to this list before would be removed — more than {} % or {} (the export's limits)",
            guard.max_percent, guard.max_count
        ));
    }
    let confirmed = plan.confirm_removals.is_some_and(|c| n <= c);
    if !why.is_empty() && !confirmed {
        add(&shared.counters.held, n);
        return Ok(Ending::Held(format!(
            "Removals held: {n} profile(s) that left the segment were not removed from the list {}, because {}. Check the source; to remove them, confirm the removal (in the app, or `segport-cli export run \"{}\" --confirm-removals {n}`).",
            shared.list_id,
            why.join("; and "),
            plan.export.name
        )));
    }
    for chunk in leavers.chunks(klaviyo::MAX_PROFILES_PER_REMOVE) {
        let profiles = client.find_profiles(Identifier::Email, chunk).await?;
        let ids: Vec<String> = profiles.into_iter().map(|p| p.id).collect();
        if !ids.is_empty() {
            client
                .remove_profiles_from_list(&shared.list_id, &ids)
                .await?;
        }
        add(&shared.counters.removed, ids.len() as u64);
        let (s, chunk) = (shared.clone(), chunk.to_vec());
        blocking(move || {
            s.store
                .delete_export_state(&s.export_id, &s.destination, &chunk)
        })
        .await?;
    }
    Ok(Ending::Done)
}
