import type { RunStatus } from "../api";
import { STATUS_LABEL } from "../format";

export function StatusBadge({ status, testId }: { status: RunStatus; testId?: string }) {
  return (
    <span className={`badge badge-status badge-${status}`} data-status={status} data-testid={testId}>
      {STATUS_LABEL[status] ?? status}
    </span>
  );
}
