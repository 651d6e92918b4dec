import { useId, useRef } from "react";
import type { ExportView } from "../../api";
import { baseName, formatCount, formatDateTime } from "../../format";
import { COLUMN_KEYS } from "./mapping";
import { describeSchedule } from "./schedule";
import { HeldRemovals } from "../../components/HeldRemovals";
import { MODE_EXPLANATION, MODE_LABEL } from "./ModeChoice";
import { StatusBadge } from "../../components/StatusBadge";

interface ExportRowProps {
  item: ExportView;
  runDisabledReason: string | null;
  onEdit: () => void;
  /** Run now, or Resume an interrupted run. */
  onRun: () => void;
  /** "Start over": close the interrupted run and start afresh (the screen asks first). */
  onRestart: () => void;
  /** "Send everyone again": ignore what was sent before. */
  onFull: () => void;
  /** "Review removals…" of a held mirror run (the screen asks first). */
  onReviewRemovals: () => void;
  onRemove: () => void;
}

export const RESUME_HINT =
  "The last run stopped before the end. Resume continues where it stopped: profiles Klaviyo already accepted are not sent again.";

export const RESTART_HINT =
  "Start over closes the stopped run and starts a fresh one that sends the segment again.";

export const FULL_HINT = "Ignores what was sent before: sends every profile of the segment again.";

/** "email from “E-mail”, and 3 more attributes". */
function describeMapping(item: ExportView): string {
  const m = item.mapping;
  const others =
    COLUMN_KEYS.filter((k) => k !== "email" && m[k]).length + Object.keys(m.properties ?? {}).length;
  const more = others === 0 ? "" : others === 1 ? ", and 1 more attribute" : `, and ${others} more attributes`;
  return `email from “${item.emailColumn}”${more}`;
}

export function ExportRow({
  item,
  runDisabledReason,
  onEdit,
  onRun,
  onRestart,
  onFull,
  onReviewRemovals,
  onRemove,
}: ExportRowProps) {
  const id = useId();
  const more = useRef<HTMLDetailsElement>(null);
  const last = item.lastRun;
  const fileName = baseName(item.sourcePath);
  const resumable = item.resumable;
  const describedBy = [resumable ? `${id}-resume` : null, runDisabledReason ? `${id}-blocked` : null]
    .filter(Boolean)
    .join(" ");
  return (
    <li className="card" data-testid="export-row" data-export-id={item.id} data-name={item.name}>
      <div className="card-head">
        <h3 className="card-title">{item.name}</h3>
        {last && <StatusBadge status={last.status} testId="export-last-status" />}
      </div>
      <dl className="facts">
        <dt>Segment</dt>
        <dd data-testid="export-segment-name" title={item.sourcePath}>
          {item.segmentName}{" "}
          <span className="muted">
            from {item.sourceName}
            {item.sourceName !== fileName ? ` (${fileName})` : ""}
          </span>
        </dd>
        <dt>Connection</dt>
        <dd data-testid="export-connection-name">
          {item.connectionName ?? <span className="warn-text">None — edit to choose one</span>}
        </dd>
        <dt>Klaviyo list</dt>
        <dd className="mono" data-testid="export-list">
          {item.listId}
        </dd>
        <dt>Mapping</dt>
        <dd>{describeMapping(item)}</dd>
        <dt>Mode</dt>
        <dd data-testid="export-mode-name" title={MODE_EXPLANATION[item.mode]}>
          {MODE_LABEL[item.mode]}
        </dd>
        <dt>Schedule</dt>
        <dd data-testid="export-schedule">{describeSchedule(item.schedule, item.nextRunAt)}</dd>
        <dt>Last run</dt>
        <dd data-testid="export-last-run">
          {last ? (
            <>
              {formatDateTime(last.startedAt)} · {formatCount(last.counts.read)} read,{" "}
              {formatCount(last.counts.imported)} imported, {formatCount(last.counts.rejected)} rejected
              {last.counts.held > 0 && <>, {formatCount(last.counts.held)} removals held</>}
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
          title={runDisabledReason ?? (resumable ? RESUME_HINT : undefined)}
          aria-label={resumable ? `Resume ${item.name}` : `Run ${item.name} now`}
          aria-describedby={describedBy || undefined}
          data-testid="run-now"
          data-resumable={resumable ? "true" : "false"}
        >
          {resumable ? "Resume" : "Run now"}
        </button>
        {resumable && (
          <button
            type="button"
            onClick={onRestart}
            disabled={runDisabledReason !== null}
            title={runDisabledReason ?? RESTART_HINT}
            aria-label={`Start ${item.name} over`}
            aria-describedby={runDisabledReason ? `${id}-blocked` : undefined}
            data-testid="run-restart"
          >
            Start over
          </button>
        )}
        <button type="button" onClick={onEdit} data-testid="export-edit" aria-label={`Edit ${item.name}`}>
          Edit
        </button>
        <details ref={more} className="more-menu" data-testid="export-more">
          <summary aria-label={`More actions for ${item.name}`} data-testid="export-more-toggle">
            More
          </summary>
          <div className="more-menu-panel">
            <button
              type="button"
              onClick={() => {
                if (more.current) more.current.open = false;
                onFull();
              }}
              disabled={runDisabledReason !== null}
              aria-label={`Send everyone again for ${item.name}`}
              aria-describedby={`${id}-full`}
              data-testid="run-full"
            >
              Send everyone again
            </button>
            <p id={`${id}-full`} className="hint">
              {FULL_HINT}
            </p>
          </div>
        </details>
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
      {last?.status === "held" && (
        <HeldRemovals
          run={last}
          list={item.listId}
          exportName={item.name}
          onReview={onReviewRemovals}
          disabled={runDisabledReason !== null}
          testId="export-held"
        />
      )}
      {resumable && (
        <p id={`${id}-resume`} className="hint" data-testid="export-resume-hint">
          {RESUME_HINT}
        </p>
      )}
      {runDisabledReason && (
        <p id={`${id}-blocked`} className="hint">
          {runDisabledReason}
        </p>
      )}
    </li>
  );
}
