import { useCallback, useEffect, useState } from "react";
import * as api from "../api";
import type { RunView } from "../api";
import { useReportError } from "../errors";
import { durationBetween, formatCount, formatDateTime, TRIGGER_LABEL } from "../format";
import { StatusBadge } from "./StatusBadge";

export function HistoryScreen() {
  const report = useReportError();
  const [runs, setRuns] = useState<RunView[] | null>(null);
  const [busy, setBusy] = useState(false);

  const reload = useCallback(async () => {
    setBusy(true);
    try {
      setRuns(await api.listRuns(null));
    } catch (e) {
      setRuns((current) => current ?? []);
      report(e);
    } finally {
      setBusy(false);
    }
  }, [report]);

  useEffect(() => {
    void reload();
  }, [reload]);

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
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
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
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
