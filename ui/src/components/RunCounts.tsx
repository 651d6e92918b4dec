import type { RunCounts as Counts } from "../api";
import { formatCount } from "../format";

const ITEMS: { key: keyof Counts; label: string; testId: string; hideWhenZero?: boolean; detailOnly?: boolean }[] = [
  { key: "read", label: "Read", testId: "count-read" },
  { key: "matched", label: "Matched (in the segment)", testId: "count-matched", detailOnly: true },
  { key: "unchanged", label: "Unchanged (skipped)", testId: "count-unchanged", hideWhenZero: true },
  { key: "sent", label: "Sent", testId: "count-sent" },
  { key: "imported", label: "Imported", testId: "count-imported" },
  { key: "rejected", label: "Rejected", testId: "count-rejected" },
  { key: "failedInKlaviyo", label: "Failed in Klaviyo", testId: "count-failed-in-klaviyo" },
  { key: "removed", label: "Removed (left the segment)", testId: "count-removed", hideWhenZero: true },
  { key: "held", label: "Removals held (to confirm)", testId: "count-held", hideWhenZero: true },
];

/**
 * The run's counters. Each number sits alone in its element (data-testid) so tests can read it.
 * `detailed` shows every counter, zeros included (a run's details in History).
 */
export function RunCounts({ counts, detailed = false }: { counts: Counts; detailed?: boolean }) {
  const shown = ITEMS.filter((item) =>
    detailed ? true : !item.detailOnly && (!item.hideWhenZero || counts[item.key] > 0),
  );
  return (
    <dl className="counts">
      {shown.map((item) => (
        <div key={item.key} className={`count count-${item.key}`}>
          <dt>{item.label}</dt>
          <dd data-testid={item.testId} data-value={counts[item.key]}>
            {formatCount(counts[item.key])}
          </dd>
        </div>
      ))}
    </dl>
  );
}
