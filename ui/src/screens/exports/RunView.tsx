import { useEffect, useRef, useState } from "react";
import type { RunCounts as Counts } from "../../api";
import { HeldRemovals } from "../../components/HeldRemovals";
import { estimateRemaining, formatRemaining, handledRows } from "../../eta";
import { durationBetween, formatDuration, PHASE_LABEL, STATUS_HINT } from "../../format";
import { currentRate, formatRate, rateSeries, sparklinePoints } from "../../throughput";
import type { RunState } from "../../hooks/useExportRun";
import { Modal } from "../../components/Modal";
import { RejectsTable } from "../../components/RejectsTable";
import { RunCounts } from "../../components/RunCounts";
import { StatusBadge } from "../../components/StatusBadge";
import { hasCode, type ErrorCodeName } from "../../errors";

const ZERO: Counts = { read: 0, sent: 0, imported: 0, rejected: 0, failedInKlaviyo: 0, matched: 0, unchanged: 0, removed: 0, held: 0 };

interface RunViewProps {
  run: RunState;
  onCancel: () => void;
  onClose: () => void;
  /** Opens the confirmation of the removals a mirror run held (the run ended `held`). */
  onReviewRemovals?: () => void;
}

/** The error code of a run refused because another window or process runs the export. */
export const ALREADY_RUNNING = "run.already_running" satisfies ErrorCodeName;

function useElapsed(since: number, running: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [running]);
  return Math.max(0, now - since);
}

export function RunView({ run, onCancel, onClose, onReviewRemovals }: RunViewProps) {
  const { exportItem, last, summary, error } = run;
  const running = summary === null && error === null;
  const elapsed = useElapsed(run.startedAt, running);
  const counts = summary?.run.counts ?? last?.counts ?? ZERO;
  const closeButton = useRef<HTMLButtonElement>(null);
  // Refused before it started (another window runs it…): no event ever came.
  const notStarted = !running && last === null && summary === null;
  const alreadyRunning = hasCode(error, ALREADY_RUNNING);

  // The Cancel button disappears when the run ends: hand the focus to Close.
  useEffect(() => {
    if (!running) closeButton.current?.focus();
  }, [running]);

  return (
    <Modal
      title={running ? `Running “${exportItem.name}”` : `Run of “${exportItem.name}”`}
      onClose={running ? undefined : onClose}
      testId="run-view"
      wide
    >
      <div className="run-progress">
        <div className="run-phase-line">
          <p
            className="run-phase"
            role="status"
            data-testid="run-phase"
            data-phase={running ? (last?.phase ?? "starting") : notStarted ? "not-started" : "finished"}
          >
            {running ? PHASE_LABEL[last?.phase ?? "starting"] : notStarted ? "Not started" : PHASE_LABEL.finished}
          </p>
          {running && (
            <span className="muted" data-testid="run-elapsed">
              {formatDuration(Math.floor(elapsed / 1000) * 1000)} elapsed
            </span>
          )}
        </div>
        {running && <Throughput run={run} />}
        {running ? (
          <RunProgress run={run} counts={counts} />
        ) : (
          <progress aria-label="Export progress" value={notStarted ? 0 : 1} max={1} />
        )}
        {run.notContinued && (
          <div className="notice notice-info" data-testid="run-not-continued">
            <p>{run.notContinued}</p>
          </div>
        )}
        {running && last?.message && last.message !== run.notContinued && (
          <p className="hint" data-testid="run-message">
            {last.message}
          </p>
        )}
      </div>

      <RunCounts counts={counts} />

      {error && (
        <div className="notice notice-error" role="alert" data-testid="run-error">
          <p>
            <strong>{alreadyRunning ? "Not started: this export is already running." : "The export did not run to the end."}</strong>{" "}
            {error.message}
          </p>
        </div>
      )}

      {summary && (
        <section className="run-summary" data-testid="run-summary" aria-label="Run summary">
          <p>
            <StatusBadge status={summary.run.status} testId="run-status" />{" "}
            <span className="muted">{STATUS_HINT[summary.run.status]}</span>
          </p>
          <AverageRate summary={summary} />
          <p>
            Duration:{" "}
            <span data-testid="run-duration">
              {summary.run.finishedAt
                ? durationBetween(summary.run.startedAt, summary.run.finishedAt)
                : formatDuration(elapsed)}
            </span>
          </p>
          {summary.run.status === "held" ? (
            <HeldRemovals
              run={summary.run}
              list={exportItem.listId}
              exportName={exportItem.name}
              onReview={onReviewRemovals}
              testId="run-held"
            />
          ) : (
            summary.run.error && (
              <p className="result result-error" data-testid="run-error-detail">
                {summary.run.error}
              </p>
            )
          )}
          <RejectsTable rejects={summary.rejects} total={summary.rejectsTotal} runId={summary.run.id} />
        </section>
      )}

      {run.cancelError && (
        <p className="result result-error" role="alert" data-testid="run-cancel-error">
          Could not cancel: {run.cancelError}
        </p>
      )}

      <div className="actions">
        {running ? (
          <button
            type="button"
            className="button-danger"
            onClick={onCancel}
            disabled={!last || run.cancelling}
            title={last ? undefined : "Available once the run has started"}
            data-testid="run-cancel"
          >
            {run.cancelling ? "Cancelling…" : "Cancel run"}
          </button>
        ) : (
          <button
            ref={closeButton}
            type="button"
            className="button-primary"
            onClick={onClose}
            data-testid="run-close"
          >
            Close
          </button>
        )}
      </div>
    </Modal>
  );
}

const SPARK_W = 160;
const SPARK_H = 28;

/** Rows of the segment handled so far out of its total, when the total is known; else indeterminate. */
function RunProgress({ run, counts }: { run: RunState; counts: Counts }) {
  const phase = run.last?.phase ?? "starting";
  const reading = phase === "starting" || phase === "reading" || phase === "sending";
  if (run.total === null || run.total <= 0 || !reading) return <progress aria-label="Export progress" />;
  return (
    <progress
      aria-label="Export progress"
      value={Math.min(handledRows(counts), run.total)}
      max={run.total}
      data-testid="run-progress"
    />
  );
}

/**
 * Profiles sent per second over the last few seconds, a sparkline of the last minute, and the
 * time left — only while it can be known: the segment's rows were counted when the run started
 * and are still being read (see eta.ts). Otherwise no time left is shown.
 */
function Throughput({ run }: { run: RunState }) {
  const rate = currentRate(run.samples);
  const series = rateSeries(run.samples);
  const counts = run.last?.counts ?? ZERO;
  const remaining = estimateRemaining(run.total, counts, run.last?.phase ?? "starting", run.rows);
  return (
    <div className="run-rate">
      <span data-testid="run-rate" data-value={rate === null ? "" : rate.toFixed(1)}>
        {rate === null ? "Measuring the rate…" : `Sending ${formatRate(rate)}`}
      </span>
      {remaining !== null && run.total !== null && (
        <span data-testid="run-eta" data-value={Math.round(remaining / 1000)}>
          {handledRows(counts).toLocaleString()} of {run.total.toLocaleString()} rows, {formatRemaining(remaining)}
        </span>
      )}
      {series.length > 1 && (
        <svg
          className="sparkline"
          width={SPARK_W}
          height={SPARK_H}
          viewBox={`0 0 ${SPARK_W} ${SPARK_H}`}
          role="img"
          aria-label={`Profiles sent per second over the last ${series.length} seconds`}
          data-testid="run-sparkline"
        >
          <polyline
            points={sparklinePoints(series, SPARK_W, SPARK_H)}
            fill="none"
            stroke="currentColor"
            strokeWidth="1.5"
            strokeLinejoin="round"
          />
        </svg>
      )}
    </div>
  );
}

/** Sent ÷ duration for a finished run (nothing when nothing was sent). */
function AverageRate({ summary }: { summary: NonNullable<RunState["summary"]> }) {
  const { startedAt, finishedAt, counts } = summary.run;
  if (!finishedAt || counts.sent === 0) return null;
  const seconds = (new Date(finishedAt).getTime() - new Date(startedAt).getTime()) / 1000;
  if (!(seconds > 0)) return null;
  return (
    <p data-testid="run-average-rate">
      Average: <span>{formatRate(counts.sent / seconds)}</span>
    </p>
  );
}
