import type { RunView } from "../api";
import { heldReason, heldSentence } from "../removals";

interface HeldRemovalsProps {
  /** A run whose status is `held`. */
  run: RunView;
  /** How the list is named to the user (its name when known, else its id). */
  list: string;
  exportName: string;
  /** Opens the confirmation; without it the notice says where to confirm (History). */
  onReview?: () => void;
  disabled?: boolean;
  testId?: string;
}

/**
 * A mirror run that held its removals: how many, from which list, why (the run's own
 * explanation), and the way to confirm them ("Review removals…").
 */
export function HeldRemovals({ run, list, exportName, onReview, disabled, testId = "held-removals" }: HeldRemovalsProps) {
  const held = run.counts.held;
  const quoted = heldReason(run.error) !== null;
  return (
    <div className="notice notice-warn held-removals" data-testid={testId} data-held={held}>
      <p data-testid="held-sentence">
        <strong>Removals held.</strong> {heldSentence(held, list, run.error)}
      </p>
      {!quoted && run.error && (
        <p className="hint" data-testid="held-explanation">
          {run.error}
        </p>
      )}
      <p className="hint">
        Nobody was removed. Check the source first; if these people really left the segment, confirm their removal.
      </p>
      {onReview ? (
        <button
          type="button"
          className="button-danger-quiet"
          onClick={onReview}
          disabled={disabled}
          aria-label={`Review removals for ${exportName}`}
          data-testid="review-removals"
        >
          Review removals…
        </button>
      ) : (
        <p className="hint">To remove them, use “Review removals…” on the export in Exports.</p>
      )}
    </div>
  );
}
