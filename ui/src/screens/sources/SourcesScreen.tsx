import { useCallback, useEffect, useRef, useState } from "react";
import * as api from "../../api";
import type { PickedFile, SourceView } from "../../api";
import { useReportError } from "../../errors";
import { useCommand } from "../../hooks/useCommand";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Modal } from "../../components/Modal";
import { SourceForm } from "./SourceForm";
import { SourceRow } from "./SourceRow";

/** How often the list re-detects its files while the screen is shown. */
export const SOURCES_POLL_MS = 3000;

type Editing = { existing: SourceView | null; picked: PickedFile | null };

function sameSource(a: SourceView, b: SourceView): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The new list, reusing the objects of sources that did not change (so their rows do not
 * re-render), and the current array itself when nothing changed at all.
 */
function merge(current: SourceView[] | null, next: SourceView[]): SourceView[] {
  if (current === null) return next;
  const byId = new Map(current.map((s) => [s.id, s]));
  let unchanged = current.length === next.length;
  const merged = next.map((s, index) => {
    const old = byId.get(s.id);
    const kept = old && sameSource(old, s) ? old : s;
    if (kept !== current[index]) unchanged = false;
    return kept;
  });
  return unchanged ? current : merged;
}

function upsert(current: SourceView[] | null, view: SourceView): SourceView[] {
  const list = current ?? [];
  const at = list.findIndex((s) => s.id === view.id);
  if (at === -1) return [...list, view];
  if (sameSource(list[at], view)) return list;
  const next = list.slice();
  next[at] = view;
  return next;
}

function isHidden(): boolean {
  return typeof document !== "undefined" && document.visibilityState === "hidden";
}

export function SourcesScreen() {
  const report = useReportError();
  const list = useCommand(api.listSources, [], { onError: report, merge, fallback: [] });
  const sources = list.data;
  const [editing, setEditing] = useState<Editing | null>(null);
  const [formBusy, setFormBusy] = useState(false);
  const [picking, setPicking] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [removing, setRemoving] = useState<SourceView | null>(null);
  const [removeBusy, setRemoveBusy] = useState(false);
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [refreshing, setRefreshing] = useState<Record<string, boolean>>({});
  const [pollError, setPollError] = useState<string | null>(null);
  const mounted = useRef(true);
  const polling = useRef(false);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const setRowError = useCallback((id: string, message: string | null) => {
    setRowErrors((current) => {
      if (message === null) {
        if (!(id in current)) return current;
        const next = { ...current };
        delete next[id];
        return next;
      }
      return { ...current, [id]: message };
    });
  }, []);

  /** Lists the sources again (each detected afresh) in the background: a failure is shown quietly. */
  const { reload, setData } = list;
  const recheck = useCallback(async () => {
    const outcome = await reload({ quiet: true });
    if (outcome.kind === "ok") setPollError(null);
    else if (outcome.kind === "failed") setPollError(outcome.error.message);
  }, [reload]);

  // Re-detect every few seconds while the window is shown (a changed, moved or fixed file shows
  // up by itself), and at once when the window comes back. One background request at a time.
  useEffect(() => {
    const poll = () => {
      if (isHidden() || polling.current) return;
      polling.current = true;
      void recheck().finally(() => {
        polling.current = false;
      });
    };
    const timer = window.setInterval(poll, SOURCES_POLL_MS);
    document.addEventListener("visibilitychange", poll);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", poll);
    };
  }, [recheck]);

  async function addSource() {
    setNotice(null);
    setPicking(true);
    try {
      const picked = await api.pickSourceFile();
      if (picked) setEditing({ existing: null, picked });
    } catch (e) {
      report(e);
    } finally {
      setPicking(false);
    }
  }

  function onSaved(saved: SourceView, isNew: boolean) {
    setEditing(null);
    list.mutate((current) => upsert(current, saved));
    setNotice(
      isNew
        ? `Added “${saved.name}”. Build segments on it in the Segments tab.`
        : `Saved “${saved.name}”.`,
    );
    setRowError(saved.id, null);
    void recheck();
  }

  const refresh = useCallback(
    async (id: string) => {
      setRefreshing((r) => ({ ...r, [id]: true }));
      setRowError(id, null);
      try {
        const view = await api.inspectSource(id);
        if (mounted.current) setData((current) => upsert(current, view));
      } catch (e) {
        if (mounted.current) setRowError(id, api.toAppError(e).message);
      } finally {
        if (mounted.current) setRefreshing(({ [id]: _, ...rest }) => rest);
      }
    },
    [setData, setRowError],
  );

  const onRefresh = useCallback((id: string) => void refresh(id), [refresh]);
  const onEdit = useCallback((source: SourceView) => {
    setNotice(null);
    setEditing({ existing: source, picked: null });
  }, []);
  const onRemove = useCallback(
    (source: SourceView) => {
      setRowError(source.id, null);
      setRemoving(source);
    },
    [setRowError],
  );

  async function confirmRemove() {
    if (!removing) return;
    const target = removing;
    setRemoveBusy(true);
    try {
      await api.deleteSource(target.id);
      setRemoving(null);
      setNotice(`Removed “${target.name}”.`);
      list.mutate((current) => (current ?? []).filter((s) => s.id !== target.id));
      void recheck();
    } catch (e) {
      setRemoving(null);
      setRowError(target.id, api.toAppError(e).message);
    } finally {
      setRemoveBusy(false);
    }
  }

  return (
    <section className="screen" aria-labelledby="sources-title" data-testid="sources-screen">
      <div className="screen-head">
        <h2 id="sources-title" className="screen-title">
          Sources
        </h2>
        <button
          type="button"
          className="button-primary"
          onClick={() => void addSource()}
          disabled={picking}
          data-testid="new-source"
        >
          {picking ? "Choosing a file…" : "Add a source…"}
        </button>
      </div>
      <p className="lede">
        A source is a file with your customers — CSV, JSON Lines or a SQLite table. Segport reads it where it is, each
        time, and checks it again every few seconds while this tab is open.
      </p>
      {notice && (
        <p className="notice notice-success" role="status" data-testid="source-saved">
          {notice}
        </p>
      )}
      {pollError && (
        <p className="hint warn-text" role="status" data-testid="source-poll-error">
          Could not re-check the files just now: {pollError}
        </p>
      )}
      {sources === null ? (
        <p className="muted">Loading sources…</p>
      ) : sources.length === 0 ? (
        <div className="empty" data-testid="sources-empty">
          <p>No sources yet.</p>
          <p className="muted">
            Add one with “Add a source…”: choose a CSV, JSON Lines or SQLite file. Segport shows its columns and first rows;
            then build segments on it in the Segments tab.
          </p>
        </div>
      ) : (
        <ul className="cards" data-testid="source-list">
          {sources.map((source) => (
            <SourceRow
              key={source.id}
              source={source}
              refreshing={refreshing[source.id] ?? false}
              removeError={rowErrors[source.id] ?? null}
              onRefresh={onRefresh}
              onEdit={onEdit}
              onRemove={onRemove}
            />
          ))}
        </ul>
      )}
      {editing && (
        <Modal
          title={editing.existing ? `Edit source “${editing.existing.name}”` : "Add a source"}
          onClose={formBusy ? undefined : () => setEditing(null)}
          testId="source-dialog"
        >
          <SourceForm
            existing={editing.existing}
            picked={editing.picked}
            onSaved={(saved) => onSaved(saved, editing.existing === null)}
            onCancel={() => setEditing(null)}
            onBusyChange={setFormBusy}
          />
        </Modal>
      )}
      {removing && (
        <ConfirmDialog
          title="Remove source?"
          message={`Remove “${removing.name}”? Segport forgets it; the file itself stays where it is.${
            removing.segments.length > 0
              ? ` Segments use it (${removing.segments.join(", ")}): remove them first.`
              : ""
          }`}
          confirmLabel="Remove source"
          busy={removeBusy}
          busyLabel="Removing…"
          onConfirm={() => void confirmRemove()}
          onCancel={() => setRemoving(null)}
        />
      )}
    </section>
  );
}
