import * as api from "../../api";
import type { RunView } from "../../api";
import { useCommand } from "../../hooks/useCommand";
import { durationBetween, formatDateTime, STATUS_HINT, TRIGGER_LABEL } from "../../format";
import { heldList } from "../../removals";
import { HeldRemovals } from "../../components/HeldRemovals";
import { Modal } from "../../components/Modal";
import { RejectsTable } from "../../components/RejectsTable";
import { RunCounts } from "../../components/RunCounts";
import { StatusBadge } from "../../components/StatusBadge";

/**
 * A run's details in History: every count, who, trigger, duration, error (or, for a held or
 * superseded run, its explanation), first rejects.
 */
export function RunDetails({ run, onClose }: { run: RunView; onClose: () => void }) {
  const loaded = useCommand(api.runSummary, [run.id]);
  const summary = loaded.data;
  const error = loaded.error?.message ?? null;

  // Until the summary arrives, show what the list already knows.
  const r = summary?.run ?? run;

  return (
    <Modal title={`Run of “${r.exportName}”`} onClose={onClose} testId="run-details" wide>
      <p>
        <StatusBadge status={r.status} testId="details-status" />{" "}
        <span className="muted">{STATUS_HINT[r.status]}</span>
      </p>
      <dl className="facts">
        <dt>Started</dt>
        <dd>{formatDateTime(r.startedAt)}</dd>
        <dt>Duration</dt>
        <dd data-testid="details-duration">{r.status === "running" ? "running…" : durationBetween(r.startedAt, r.finishedAt)}</dd>
        <dt>Trigger</dt>
        <dd data-testid="details-trigger">{TRIGGER_LABEL[r.trigger] ?? r.trigger}</dd>
        <dt>Who</dt>
        <dd data-testid="details-who">{r.who}</dd>
        <dt>Run id</dt>
        <dd className="mono">{r.id}</dd>
      </dl>
      <RunCounts counts={r.counts} detailed />
      {r.status === "held" ? (
        <HeldRemovals run={r} list={heldList(r.error) ?? "of this export"} exportName={r.exportName} testId="details-held" />
      ) : r.status === "superseded" ? (
        <div className="notice notice-info" data-testid="details-superseded">
          <p>{r.error ?? "This interrupted run was not continued: a fresh run took its place."}</p>
          <p className="hint">Profiles Klaviyo accepted during this run are not lost.</p>
        </div>
      ) : (
        r.error && (
          <p className="result result-error" data-testid="details-error">
            {r.error}
          </p>
        )
      )}
      {error && (
        <p className="result result-error" role="alert" data-testid="details-load-error">
          Could not load the run’s rejects: {error}
        </p>
      )}
      {summary === null && error === null ? (
        <p className="muted">Loading rejects…</p>
      ) : summary && summary.rejectsTotal === 0 ? (
        <p className="muted" data-testid="details-no-rejects">
          No rejected rows.
        </p>
      ) : summary ? (
        <RejectsTable rejects={summary.rejects} total={summary.rejectsTotal} runId={summary.run.id} />
      ) : null}
      <div className="actions">
        <button type="button" className="button-primary" onClick={onClose} data-autofocus data-testid="details-close">
          Close
        </button>
      </div>
    </Modal>
  );
}
