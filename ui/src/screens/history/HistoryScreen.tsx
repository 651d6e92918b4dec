import { useId, useMemo, useState } from "react";
import * as api from "../../api";
import type { RunStatus, RunView } from "../../api";
import { useReportError } from "../../errors";
import { useCommand } from "../../hooks/useCommand";
import { durationBetween, formatCount, formatDateTime, STATUS_LABEL, TRIGGER_LABEL } from "../../format";
import { exportsInRuns, filterRuns, NO_FILTER, statusesInRuns, type RunFilter } from "./history";
import { RunDetails } from "./RunDetails";
import { StatusBadge } from "../../components/StatusBadge";

export function HistoryScreen() {
  const report = useReportError();
  const list = useCommand(api.listRuns, [null], { onError: report, fallback: [] });
  const runs = list.data;
  const busy = list.loading;
  const reload = list.reload;
  const [filter, setFilter] = useState<RunFilter>(NO_FILTER);
  const [details, setDetails] = useState<RunView | null>(null);
  const id = useId();
  const shown = useMemo(() => filterRuns(runs ?? [], filter), [runs, filter]);
  const exportOptions = useMemo(() => exportsInRuns(runs ?? []), [runs]);
  const statusOptions = useMemo(() => statusesInRuns(runs ?? []), [runs]);

  return (
    <section className="screen" aria-labelledby="history-title">
      <div className="screen-head">
        <h2 id="history-title" className="screen-title">
          History
        </h2>
        <button type="button" onClick={() => void reload()} disabled={busy} data-testid="history-refresh">
          {busy ? "Refreshing…" : "Refresh"}
        </button>
      </div>
      <p className="lede">Every run of every export: from this window, the schedule or the command line.</p>
      {runs === null ? (
        <p className="muted">Loading runs…</p>
      ) : runs.length === 0 ? (
        <div className="empty" data-testid="history-empty">
          <p>No runs yet.</p>
          <p className="muted">Run an export from the Exports tab (“Run now”); each run is listed here.</p>
        </div>
      ) : (
        <>
        <div className="filters" role="group" aria-label="Filter runs">
          <div className="field">
            <label htmlFor={`${id}-export`}>Export</label>
            <select
              id={`${id}-export`}
              value={filter.exportId ?? ""}
              onChange={(e) => setFilter((f) => ({ ...f, exportId: e.target.value || null }))}
              data-testid="history-filter-export"
            >
              <option value="">All exports</option>
              {exportOptions.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-status`}>Status</label>
            <select
              id={`${id}-status`}
              value={filter.status ?? ""}
              onChange={(e) => setFilter((f) => ({ ...f, status: (e.target.value || null) as RunStatus | null }))}
              data-testid="history-filter-status"
            >
              <option value="">All statuses</option>
              {statusOptions.map((st) => (
                <option key={st} value={st}>
                  {STATUS_LABEL[st]}
                </option>
              ))}
            </select>
          </div>
          <p className="muted filters-count" role="status" data-testid="history-count">
            {shown.length === runs.length
              ? `${formatCount(runs.length)} run${runs.length === 1 ? "" : "s"}`
              : `${formatCount(shown.length)} of ${formatCount(runs.length)} runs`}
          </p>
        </div>
        {shown.length === 0 ? (
          <div className="empty" data-testid="history-filter-empty">
            <p>No run matches these filters.</p>
            <button type="button" onClick={() => setFilter(NO_FILTER)}>
              Show all runs
            </button>
          </div>
        ) : (
        <div className="table-scroll">
          <table className="history" data-testid="history-table">
            <caption className="visually-hidden">Export runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Export</th>
                <th scope="col">Trigger</th>
                <th scope="col">Who</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Read
                </th>
                <th scope="col" className="num">
                  Imported
                </th>
                <th scope="col" className="num">
                  Rejected
                </th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
                <th scope="col">
                  <span className="visually-hidden">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => (
                <tr key={r.id} data-testid="history-row" data-run-id={r.id}>
                  <td>{r.exportName}</td>
                  <td>{TRIGGER_LABEL[r.trigger] ?? r.trigger}</td>
                  <td>{r.who}</td>
                  <td title={r.error ?? undefined}>
                    <StatusBadge status={r.status} />
                  </td>
                  <td className="num">{formatCount(r.counts.read)}</td>
                  <td className="num">{formatCount(r.counts.imported)}</td>
                  <td className="num">{formatCount(r.counts.rejected)}</td>
                  <td>{formatDateTime(r.startedAt)}</td>
                  <td>{r.status === "running" ? "running…" : durationBetween(r.startedAt, r.finishedAt)}</td>
                  <td>
                    <button
                      type="button"
                      className="button-quiet"
                      onClick={() => setDetails(r)}
                      aria-label={`Details of the run of ${r.exportName} started ${formatDateTime(r.startedAt)}`}
                      data-testid="history-details"
                    >
                      Details
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        )}
        </>
      )}
      {details && <RunDetails run={details} onClose={() => setDetails(null)} />}
    </section>
  );
}
