import { useId, useState } from "react";
import * as api from "../../api";
import type { PickedFile, SegmentView, SourceView } from "../../api";

interface SegmentChooserProps {
  /** null while loading. */
  segments: SegmentView[] | null;
  /** Shown as an option while the segments load (an existing export's segment). */
  fallback: { id: string; name: string } | null;
  value: string;
  onChange: (segmentId: string) => void;
  /** A segment made from a picked file ("All rows of …"): add it to the list and choose it. */
  onAdded: (segment: SegmentView) => void;
  /** The chosen segment's source, detected from its file; null while loading or none chosen. */
  source: SourceView | null;
  sourceLoading: boolean;
  /** Why the segments or the source could not be read. */
  loadError: string | null;
  /** Validation message for the field. */
  error: string | null;
  disabled?: boolean;
}

/**
 * The segment an export sends, or a new one from a file ("New from a file…": the native dialog,
 * then for SQLite the table), with the file and the columns of the chosen segment's source.
 */
export function SegmentChooser({
  segments,
  fallback,
  value,
  onChange,
  onAdded,
  source,
  sourceLoading,
  loadError,
  error,
  disabled,
}: SegmentChooserProps) {
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [pending, setPending] = useState<PickedFile | null>(null);
  const [table, setTable] = useState("");
  const [pickError, setPickError] = useState<string | null>(null);

  async function add(file: PickedFile, tableName: string | null) {
    const segment = await api.addFileSegment(file.path, file.kind, tableName);
    setPending(null);
    onAdded(segment);
  }

  async function pick() {
    setBusy(true);
    setPickError(null);
    setPending(null);
    try {
      const file = await api.pickSourceFile();
      if (!file) return;
      if (file.kind === "sqlite") {
        if (file.tables.length === 0) {
          setPickError(`“${file.fileName}” has no tables: choose another file.`);
          return;
        }
        setTable(file.tables[0]);
        setPending(file);
        return;
      }
      await add(file, null);
    } catch (e) {
      setPickError(api.toAppError(e).message);
    } finally {
      setBusy(false);
    }
  }

  async function confirmTable() {
    if (!pending || !table) return;
    setBusy(true);
    setPickError(null);
    try {
      await add(pending, table);
    } catch (e) {
      setPickError(api.toAppError(e).message);
    } finally {
      setBusy(false);
    }
  }

  const options = segments ?? (fallback ? [fallback] : []);
  const describedBy = [`${id}-hint`, error ? `${id}-error` : null].filter(Boolean).join(" ");

  return (
    <fieldset className="group">
      <legend>People to send</legend>
      <div className="field">
        <label htmlFor={`${id}-segment`}>Segment</label>
        <div className="segment-pick">
          <select
            id={`${id}-segment`}
            value={value}
            onChange={(e) => onChange(e.target.value)}
            disabled={disabled || busy}
            required
            aria-invalid={error ? true : undefined}
            aria-describedby={describedBy}
            data-testid="export-segment"
          >
            {value === "" && (
              <option value="" disabled>
                {segments === null ? "Loading segments…" : segments.length === 0 ? "No segments yet" : "Choose a segment"}
              </option>
            )}
            {options.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
          <button type="button" onClick={() => void pick()} disabled={disabled || busy} data-testid="export-pick-file">
            New from a file…
          </button>
        </div>
        <p id={`${id}-hint`} className="hint">
          A segment is the rows of a source that match its rules (see Segments). “New from a file…” uses every row of a
          CSV, JSON Lines or SQLite file.
        </p>
        {error && (
          <p id={`${id}-error`} className="field-error" data-testid="export-segment-error">
            {error}
          </p>
        )}
      </div>

      {pending && (
        <div className="field pick-table" data-testid="export-pick-table-panel">
          <label htmlFor={`${id}-table`}>Table in “{pending.fileName}”</label>
          <div className="segment-pick">
            <select
              id={`${id}-table`}
              value={table}
              onChange={(e) => setTable(e.target.value)}
              disabled={busy}
              data-testid="export-pick-table"
            >
              {pending.tables.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
            <button
              type="button"
              className="button-primary"
              onClick={() => void confirmTable()}
              disabled={busy || !table}
              data-testid="export-pick-table-ok"
            >
              Use this table
            </button>
            <button type="button" onClick={() => setPending(null)} disabled={busy} data-testid="export-pick-table-cancel">
              Cancel
            </button>
          </div>
        </div>
      )}
      {busy && !pending && <p className="hint">Reading the file…</p>}
      {pickError && (
        <p className="result result-error" role="alert" data-testid="export-pick-error">
          {pickError}
        </p>
      )}
      {loadError && (
        <p className="result result-error" role="alert" data-testid="export-source-error">
          {loadError}
        </p>
      )}

      {value !== "" && (sourceLoading || source) && (
        <div className="segment-source" aria-live="polite">
          {sourceLoading && !source ? (
            <p className="hint">Reading the source…</p>
          ) : source ? (
            <>
              <p>
                <span className="muted">File: </span>
                <span className="file-name mono" title={source.path} data-testid="segment-file-name">
                  {source.fileName}
                </span>
                {source.table && <span className="muted"> · table {source.table}</span>}
              </p>
              {source.state !== "ok" ? (
                <p className="result result-error" data-testid="segment-source-state" data-state={source.state}>
                  {source.state === "missing" ? "File missing" : "File unreadable"}
                  {source.message ? `: ${source.message}` : ""}
                </p>
              ) : (
                <div className="headers">
                  <span className="hint" id={`${id}-columns`}>
                    {source.columns.length} columns:
                  </span>
                  <ul className="chips" aria-labelledby={`${id}-columns`} data-testid="segment-columns">
                    {source.columns.map((c) => (
                      <li key={c.name} className="chip" title={c.inferred}>
                        {c.name}
                      </li>
                    ))}
                  </ul>
                </div>
              )}
            </>
          ) : null}
        </div>
      )}
    </fieldset>
  );
}
