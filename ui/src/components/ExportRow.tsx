import type { ExportView } from "../api";
import { baseName, formatCount, formatDateTime } from "../format";
import { StatusBadge } from "./StatusBadge";

interface ExportRowProps {
  item: ExportView;
  runDisabledReason: string | null;
  onEdit: () => void;
  onRun: () => void;
  onRemove: () => void;
}

export function ExportRow({ item, runDisabledReason, onEdit, onRun, onRemove }: ExportRowProps) {
  const last = item.lastRun;
  return (
    <li className="card" data-testid="export-row" data-export-id={item.id} data-name={item.name}>
      <div className="card-head">
        <h3 className="card-title">{item.name}</h3>
        {last && <StatusBadge status={last.status} testId="export-last-status" />}
      </div>
      <dl className="facts">
        <dt>Connection</dt>
        <dd>{item.connectionName ?? <span className="warn-text">None — edit to choose one</span>}</dd>
        <dt>Klaviyo list</dt>
        <dd className="mono">{item.listId}</dd>
        <dt>CSV file</dt>
        <dd title={item.csvPath}>
          {baseName(item.csvPath)} <span className="muted">(email in “{item.emailColumn}”)</span>
        </dd>
        <dt>Last run</dt>
        <dd data-testid="export-last-run">
          {last ? (
            <>
              {formatDateTime(last.startedAt)} · {formatCount(last.counts.read)} read,{" "}
              {formatCount(last.counts.imported)} imported, {formatCount(last.counts.rejected)} rejected
            </>
          ) : (
            <span className="muted">Never run</span>
          )}
        </dd>
      </dl>
      <div className="actions">
        <button
          type="button"
          className="button-primary"
          onClick={onRun}
          disabled={runDisabledReason !== null}
          title={runDisabledReason ?? undefined}
          data-testid="run-now"
          aria-label={`Run ${item.name} now`}
        >
          Run now
        </button>
        <button type="button" onClick={onEdit} data-testid="export-edit" aria-label={`Edit ${item.name}`}>
          Edit
        </button>
        <button
          type="button"
          className="button-danger-quiet"
          onClick={onRemove}
          data-testid="export-remove"
          aria-label={`Remove ${item.name}`}
        >
          Remove
        </button>
      </div>
      {runDisabledReason && <p className="hint">{runDisabledReason}</p>}
    </li>
  );
}
