import { useState } from "react";
import * as api from "../../api";
import type { SegmentView, SourceView } from "../../api";
import { useReportError } from "../../errors";
import { useCommand } from "../../hooks/useCommand";
import { describeFilter } from "./filterModel";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { SegmentForm } from "./SegmentForm";

interface SegmentsScreenProps {
  onGoToSources: () => void;
}

function SegmentRow({
  segment: g,
  source,
  error,
  onEdit,
  onRemove,
}: {
  segment: SegmentView;
  source: SourceView | undefined;
  error: string | null;
  onEdit: () => void;
  onRemove: () => void;
}) {
  return (
    <li className="card" data-testid="segment-row" data-segment-id={g.id} data-name={g.name}>
      <div className="card-head">
        <h3 className="card-title">{g.name}</h3>
        {source && source.state !== "ok" && (
          <span className="badge badge-warn" title={source.message ?? undefined}>
            {source.state === "missing" ? "source file missing" : "source unreadable"}
          </span>
        )}
      </div>
      <p className="segment-summary" data-testid="segment-summary">
        {describeFilter(g.filter)}
      </p>
      <dl className="facts">
        <dt>Source</dt>
        <dd data-testid="segment-source-name">
          {g.sourceName || <span className="muted">Removed</span>}
          {source && source.fileName !== g.sourceName && <span className="muted mono"> · {source.fileName}</span>}
        </dd>
        {g.filterText && (
          <>
            <dt>As text</dt>
            <dd>
              <code className="muted" data-testid="segment-filter-text">
                {g.filterText}
              </code>
            </dd>
          </>
        )}
        <dt>Exports</dt>
        <dd data-testid="segment-exports">
          {g.exports.length === 0 ? <span className="muted">No export sends it yet</span> : g.exports.join(", ")}
        </dd>
      </dl>
      <div className="actions">
        <button type="button" onClick={onEdit} aria-label={`Edit ${g.name}`} data-testid="segment-edit">
          Edit
        </button>
        <button
          type="button"
          className="button-danger-quiet"
          onClick={onRemove}
          aria-label={`Remove ${g.name}`}
          data-testid="segment-delete"
        >
          Remove
        </button>
      </div>
      {error && (
        <p className="result result-error" role="alert" data-testid="segment-row-error">
          {error}
        </p>
      )}
    </li>
  );
}

/** Both lists, and why one of them could not be read this time (null for it then). */
interface Lists {
  segments: SegmentView[] | null;
  sources: SourceView[] | null;
  /** The first failure, the segments' before the sources' (the banner names one). */
  failure: { error: unknown } | null;
}

/** The segments and the sources, asked together; never rejects (a failure is in `failure`). */
async function loadLists(): Promise<Lists> {
  const [segs, srcs] = await Promise.allSettled([api.listSegments(), api.listSources()]);
  return {
    segments: segs.status === "fulfilled" ? segs.value : null,
    sources: srcs.status === "fulfilled" ? srcs.value : null,
    failure:
      segs.status === "rejected" ? { error: segs.reason } : srcs.status === "rejected" ? { error: srcs.reason } : null,
  };
}

/** A list that could not be read keeps what was shown (empty when nothing was). */
function keepShown(current: Lists | null, next: Lists): Lists {
  return {
    segments: next.segments ?? current?.segments ?? [],
    sources: next.sources ?? current?.sources ?? [],
    failure: next.failure,
  };
}

export function SegmentsScreen({ onGoToSources }: SegmentsScreenProps) {
  const report = useReportError();
  const lists = useCommand(loadLists, [], {
    merge: keepShown,
    onData: (loaded) => {
      if (loaded.failure) report(loaded.failure.error);
    },
  });
  const segments = lists.data?.segments ?? null;
  const sources = lists.data?.sources ?? null;
  const reload = lists.reload;
  const [editing, setEditing] = useState<{ item: SegmentView | null } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [removing, setRemoving] = useState<SegmentView | null>(null);
  const [removeBusy, setRemoveBusy] = useState(false);
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});

  function open(item: SegmentView | null) {
    setNotice(null);
    setRowErrors({});
    setEditing({ item });
    // The form offers the columns as the files have them now.
    void api.listSources().then(
      (fresh) => lists.setData((current) => ({ segments: current?.segments ?? null, sources: fresh, failure: null })),
      () => {},
    );
  }

  function onSaved(saved: SegmentView) {
    setEditing(null);
    setNotice(`Saved “${saved.name}”.`);
    void reload();
  }

  async function confirmRemove() {
    if (!removing) return;
    const target = removing;
    setRemoveBusy(true);
    try {
      await api.deleteSegment(target.id);
      setRemoving(null);
      setNotice(`Removed “${target.name}”.`);
      await reload();
    } catch (e) {
      setRemoving(null);
      setRowErrors((current) => ({ ...current, [target.id]: api.toAppError(e).message }));
    } finally {
      setRemoveBusy(false);
    }
  }

  if (editing && sources) {
    return (
      <section className="screen" aria-labelledby="segments-title" data-testid="segments-screen">
        <h2 id="segments-title" className="screen-title">
          {editing.item ? `Edit segment “${editing.item.name}”` : "New segment"}
        </h2>
        <p className="lede">
          A segment is the rows of a source that match your rules. Pick the source, add rules, and watch the count.
        </p>
        <SegmentForm
          key={editing.item?.id ?? "new"}
          existing={editing.item}
          sources={sources}
          onSaved={onSaved}
          onCancel={() => setEditing(null)}
        />
      </section>
    );
  }

  const noSources = sources !== null && sources.length === 0;

  return (
    <section className="screen" aria-labelledby="segments-title" data-testid="segments-screen">
      <div className="screen-head">
        <h2 id="segments-title" className="screen-title">
          Segments
        </h2>
        <button
          type="button"
          className="button-primary"
          onClick={() => open(null)}
          disabled={sources === null || noSources}
          title={noSources ? "Add a source first (Sources tab)." : undefined}
          data-testid="new-segment"
        >
          New segment
        </button>
      </div>
      <p className="lede">
        A segment picks rows of a source with simple rules (“country is PL and orders is greater than 3”). Exports send
        a segment to a Klaviyo list.
      </p>
      {notice && (
        <p className="notice notice-success" role="status" data-testid="segment-saved">
          {notice}
        </p>
      )}
      {segments === null ? (
        <p className="muted">Loading segments…</p>
      ) : segments.length === 0 ? (
        <div className="empty" data-testid="segments-empty">
          <p>No segments yet.</p>
          {noSources ? (
            <>
              <p className="muted">First add a source — the CSV, JSON Lines or SQLite file with your customers.</p>
              <button type="button" onClick={onGoToSources} data-testid="go-to-sources">
                Go to Sources
              </button>
            </>
          ) : (
            <p className="muted">Create one with “New segment”: pick a source and add rules; the count updates as you type.</p>
          )}
        </div>
      ) : (
        <ul className="cards" data-testid="segment-list">
          {segments.map((g) => (
            <SegmentRow
              key={g.id}
              segment={g}
              source={sources?.find((s) => s.id === g.sourceId)}
              error={rowErrors[g.id] ?? null}
              onEdit={() => open(g)}
              onRemove={() => {
                setRowErrors(({ [g.id]: _, ...rest }) => rest);
                setRemoving(g);
              }}
            />
          ))}
        </ul>
      )}
      {removing && (
        <ConfirmDialog
          title="Remove segment?"
          message={`Remove “${removing.name}”? Its rules are deleted; the source and its file stay.${
            removing.exports.length > 0 ? ` Exports send it (${removing.exports.join(", ")}): change them first.` : ""
          }`}
          confirmLabel="Remove segment"
          busy={removeBusy}
          busyLabel="Removing…"
          onConfirm={() => void confirmRemove()}
          onCancel={() => setRemoving(null)}
        />
      )}
    </section>
  );
}
