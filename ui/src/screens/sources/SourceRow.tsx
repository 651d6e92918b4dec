import { memo } from "react";
import type { SourceKind, SourceView } from "../../api";
import { formatCount, formatDateTime } from "../../format";

export const KIND_LABEL: Record<SourceKind, string> = {
  csv: "CSV",
  jsonl: "JSON Lines",
  sqlite: "SQLite",
};

const TYPE_HINT: Record<string, string> = {
  text: "text",
  integer: "whole number",
  number: "number",
  boolean: "yes/no",
  date: "date",
  email: "email",
  phone: "phone",
  empty: "empty",
};

/** "812 B", "14.2 KB", "3.1 MB". */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return "—";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function StateNote({ source }: { source: SourceView }) {
  if (source.state === "ok") {
    return (
      <p className="hint" data-testid="source-state">
        Readable · {formatCount(source.columns.length)} {source.columns.length === 1 ? "column" : "columns"} detected
      </p>
    );
  }
  const missing = source.state === "missing";
  let todo: string;
  if (!missing) {
    todo = `Check that it is a ${KIND_LABEL[source.kind]} file and that you may read it, then Re-detect — or choose another file with Edit.`;
  } else if (source.table) {
    todo =
      "Put the database back at this path (or plug in its drive) and check that it still has this table, or choose another file with Edit.";
  } else {
    todo = "Put the file back at this path (or plug in its drive), or choose another file with Edit.";
  }
  return (
    <div className={missing ? "notice notice-warn" : "notice notice-error"} role="status" data-testid="source-state">
      <p>
        <strong>{missing ? "File missing" : "Can’t read the file"}</strong>
        {source.message ? `: ${source.message}` : ""}
      </p>
      <p className="hint">{todo} Segments on this source can’t be previewed or exported until then.</p>
    </div>
  );
}

interface SourceRowProps {
  source: SourceView;
  refreshing: boolean;
  removeError: string | null;
  onRefresh: (id: string) => void;
  onEdit: (source: SourceView) => void;
  onRemove: (source: SourceView) => void;
}

/**
 * One source: what its file looks like now (columns, first rows) or why it can't be read.
 * Memoised: the list re-detects every few seconds and an unchanged source keeps its DOM (and
 * its sample table's scroll position) untouched.
 */
export const SourceRow = memo(function SourceRow({
  source: s,
  refreshing,
  removeError,
  onRefresh,
  onEdit,
  onRemove,
}: SourceRowProps) {
  const headingId = `source-${s.id}-title`;
  return (
    <li
      className="card source-card"
      data-testid="source-row"
      data-source-id={s.id}
      data-name={s.name}
      data-state={s.state}
      aria-labelledby={headingId}
    >
      <div className="card-head">
        <h3 className="card-title" id={headingId}>
          {s.name}
        </h3>
        <div className="badges">
          <span className="badge" data-testid="source-kind">
            {KIND_LABEL[s.kind]}
          </span>
          {s.state === "ok" ? (
            <span className="badge badge-ok">ready</span>
          ) : s.state === "missing" ? (
            <span className="badge badge-warn">file missing</span>
          ) : (
            <span className="badge badge-failed">unreadable</span>
          )}
        </div>
      </div>
      <dl className="facts">
        <dt>File</dt>
        <dd className="mono" data-testid="source-path">
          {s.path}
        </dd>
        {s.table && (
          <>
            <dt>Table</dt>
            <dd className="mono">{s.table}</dd>
          </>
        )}
        <dt>Size</dt>
        <dd data-testid="source-file-info">
          {s.size === null ? (
            <span className="muted">—</span>
          ) : (
            <>
              {formatBytes(s.size)} <span className="muted">· changed {formatDateTime(s.modifiedAt)}</span>
            </>
          )}
        </dd>
        <dt>Used by</dt>
        <dd data-testid="source-segments">
          {s.segments.length === 0 ? (
            <span className="muted">No segment yet</span>
          ) : (
            s.segments.join(", ")
          )}
        </dd>
      </dl>
      <StateNote source={s} />
      {s.columns.length > 0 && (
        <ul className="chips source-columns" data-testid="source-columns" aria-label={`Columns of ${s.name}`}>
          {s.columns.map((c, index) => (
            <li
              key={`${index}-${c.name}`}
              className="chip"
              data-type={TYPE_HINT[c.inferred] ?? c.inferred}
              title={`${c.name}: looks like ${TYPE_HINT[c.inferred] ?? c.inferred}`}
            >
              {c.name}
            </li>
          ))}
        </ul>
      )}
      {s.state === "ok" && s.columns.length > 0 && (
        <div className="table-scroll sample-scroll" tabIndex={0} aria-label={`First rows of ${s.name}`}>
          <table data-testid="source-sample">
            <caption className="visually-hidden">First rows of {s.name}</caption>
            <thead>
              <tr>
                {s.columns.map((c, index) => (
                  <th key={`${index}-${c.name}`} scope="col">
                    {c.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {s.sample.map((row, r) => (
                <tr key={r}>
                  {s.columns.map((_, index) => (
                    <td key={index}>{row[index] ?? ""}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          {s.sample.length === 0 && <p className="hint sample-empty">The file has no rows yet.</p>}
        </div>
      )}
      <div className="actions">
        <button
          type="button"
          onClick={() => onRefresh(s.id)}
          disabled={refreshing}
          aria-label={`Re-detect ${s.name}`}
          data-testid="source-refresh"
        >
          {refreshing ? "Re-detecting…" : "Re-detect"}
        </button>
        <button type="button" onClick={() => onEdit(s)} aria-label={`Edit ${s.name}`} data-testid="source-edit">
          Edit
        </button>
        <button
          type="button"
          className="button-danger-quiet"
          onClick={() => onRemove(s)}
          aria-label={`Remove ${s.name}`}
          data-testid="source-delete"
        >
          Remove
        </button>
      </div>
      {removeError && (
        <p className="result result-error" role="alert" data-testid="source-row-error">
          {removeError}
        </p>
      )}
    </li>
  );
});
