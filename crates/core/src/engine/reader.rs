//! Reading: stage 1 of a run, on a blocking thread — the source's rows, filtered by the
//! segment, checked against the delta state and the identifiers already seen, mapped and
//! batched, handed to the sender through a bounded channel.

use super::batcher::{Batch, Batcher};
use super::identities::{duplicate_reason, key_of, phone_key, Identities, KeyMap};
use super::jobs::{Acked, SentRow};
use super::progress::add;
use super::{lock, Shared};
use crate::error::DuplicateOf;
use crate::filter::{CompiledFilter, Filter};
use crate::mapping::{Mapper, TypeSampler, TYPE_SAMPLE_ROWS};
use crate::model::Mapping;
use crate::source::{self, RowItem, SourceError, SourceSpec};
use crate::{CoreError, Result};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What the reader hands to the sender.
pub(super) enum Item {
    Batch(Batch),
    /// A row of a batch acknowledged before the restart whose job is still open: its delta
    /// state is saved when that job completes.
    Reopened {
        batch: u64,
        line: u64,
        row: SentRow,
    },
}

/// Stage 1 of a run: everything it reads from, and the channel to the sender.
pub(super) struct Reader {
    pub(super) spec: SourceSpec,
    pub(super) filter: Option<Filter>,
    pub(super) mapping: Mapping,
    pub(super) shared: Arc<Shared>,
    /// The delta state: identifier key → (content hash, phone key) as last sent; empty when
    /// every row is sent (a full or dry run).
    pub(super) state: KeyMap<(u64, u64)>,
    /// The batches acknowledged before a restart: their rows are never sent again.
    pub(super) acked: Acked,
    /// Index of the first new batch (after the checkpoint's last one).
    pub(super) first_index: u64,
    pub(super) cancel: CancellationToken,
    pub(super) tx: mpsc::Sender<Item>,
}

impl Reader {
    /// Read the source to the end: every row counted, filtered, deduplicated, checked against
    /// the delta state and the acknowledged batches, mapped and batched. At the end the
    /// identifiers seen are left in [`Shared::seen`] for mirror mode.
    pub(super) fn run(self) -> Result<()> {
        let Reader {
            spec,
            filter,
            mapping,
            shared,
            state,
            mut acked,
            first_index,
            cancel,
            tx,
        } = self;
        let mut rows = source::open(&spec)?;
        let columns = rows.columns().to_vec();
        let filter: Option<CompiledFilter> = filter.map(|f| f.compile(&columns)).transpose()?;
        let c = &shared.counters;
        let send =
            |item: Item| -> Result<()> { tx.blocking_send(item).map_err(|_| CoreError::Cancelled) };

        let head = read_head(rows.as_mut())?;
        if head.is_empty() {
            return Err(SourceError::NoRows(spec.path().to_path_buf()).into());
        }
        let mapper = head_mapper(&mapping, &columns, &head)?;
        let mut batcher = Batcher::new(&shared.list_id, first_index);
        let mut ids = Identities::default();

        let mut handle = |item: RowItem| -> Result<()> {
            add(&c.read, 1);
            crate::failpoint::pause_at("read");
            let (line, values) = match item {
                RowItem::Bad { line, reason } => {
                    add(&c.unreadable, 1);
                    shared.rejects.push(c, line, "", reason);
                    return Ok(());
                }
                RowItem::Row { line, values } => (line, values),
            };
            if let Some(f) = &filter {
                if !f.matches(&values) {
                    return Ok(());
                }
            }
            add(&c.matched, 1);
            // The identifier and a hash of every value the mapping reads: enough to skip an
            // unchanged row (or one sent before a restart) without mapping it.
            let (email, hash) = mapper.input_key(&values);
            // One identifier, one profile per run: the first row sent wins (a resumed run sees the
            // same rows in the same order, so it decides the same way).
            let key = key_of(&email);
            if let Some(first) = ids.see_email(key) {
                shared.rejects.push(
                    c,
                    line,
                    &email,
                    duplicate_reason(DuplicateOf::Email, Some(&email), first),
                );
                return Ok(());
            }
            // Sent before the restart: never again. (Its rows are still mapped, so the rows it
            // rejected are reported again — the reject table keeps one per line.)
            if let Some((batch, complete)) = acked.find(line) {
                // A batch being built stops here: it must not span an acknowledged one, or a
                // later resume (which finds a line's job by its first..last range) would credit
                // one job with the other's rows. At most one short batch per acknowledged range.
                if let Some(partial) = batcher.take() {
                    send(Item::Batch(partial))?;
                }
                match mapper.map(&values) {
                    Err(r) => shared.rejects.push(c, line, &r.identifier, r.code),
                    Ok(m) => {
                        let phone = phone_key(m.phone.as_deref());
                        if let Some(first) = ids.phone(phone, line) {
                            let reason =
                                duplicate_reason(DuplicateOf::Phone, m.phone.as_deref(), first);
                            shared.rejects.push(c, line, &m.email, reason);
                        } else {
                            ids.email_sent(key, line);
                            if !complete {
                                send(Item::Reopened {
                                    batch,
                                    line,
                                    row: (email, hash, phone),
                                })?;
                            }
                        }
                    }
                }
                return Ok(());
            }
            if let Some(&(sent, phone)) = state.get(&key) {
                if sent == hash {
                    // Unchanged since it was sent; its phone (as the state recorded it, so no
                    // parsing) still belongs to it in this run.
                    if let Some(first) = ids.phone(phone, line) {
                        let reason = duplicate_reason(DuplicateOf::Phone, None, first);
                        shared.rejects.push(c, line, &email, reason);
                        return Ok(());
                    }
                    ids.email_sent(key, line);
                    add(&c.unchanged, 1);
                    return Ok(());
                }
            }
            let m = match mapper.map(&values) {
                Ok(m) => m,
                Err(r) => {
                    shared.rejects.push(c, line, &r.identifier, r.code);
                    return Ok(());
                }
            };
            let phone = phone_key(m.phone.as_deref());
            if let Some(first) = ids.phone(phone, line) {
                let reason = duplicate_reason(DuplicateOf::Phone, m.phone.as_deref(), first);
                shared.rejects.push(c, line, &m.email, reason);
                return Ok(());
            }
            ids.email_sent(key, line);
            if let Some(full) = batcher.push(line, m.email, hash, phone, m.json) {
                send(Item::Batch(full))?;
            }
            Ok(())
        };
        for item in head {
            handle(item)?;
        }
        let mut n: u32 = 0;
        while let Some(item) = rows.next_row()? {
            handle(item)?;
            n = n.wrapping_add(1);
            if n.is_multiple_of(1024) && cancel.is_cancelled() {
                return Err(CoreError::Cancelled);
            }
        }
        if let Some(last) = batcher.take() {
            send(Item::Batch(last))?;
        }
        *lock(&shared.seen) = Some(ids);
        Ok(())
    }
}

/// The first [`TYPE_SAMPLE_ROWS`] rows of a stream: they decide the custom properties' types
/// (numbers, booleans…) for the whole run — see [`head_mapper`].
pub(crate) fn read_head(rows: &mut dyn source::RowStream) -> Result<Vec<RowItem>> {
    let mut head: Vec<RowItem> = Vec::with_capacity(TYPE_SAMPLE_ROWS);
    while head.len() < TYPE_SAMPLE_ROWS {
        match rows.next_row()? {
            Some(item) => head.push(item),
            None => break,
        }
    }
    Ok(head)
}

/// `mapping` resolved with the property types the readable rows of `head` show: what a run
/// sends (the mapping preview uses it too, so it shows exactly that).
pub(crate) fn head_mapper(
    mapping: &Mapping,
    columns: &[String],
    head: &[RowItem],
) -> Result<Mapper> {
    let mut sampler = TypeSampler::new(columns.len());
    for item in head {
        if let RowItem::Row { values, .. } = item {
            sampler.observe(values);
        }
    }
    Ok(Mapper::new(mapping, columns, Some(&sampler.finish()))?)
}
