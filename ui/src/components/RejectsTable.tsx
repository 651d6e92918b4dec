import type { RejectRow } from "../api";
import { formatCount } from "../format";
import { SaveRejectsButton } from "./SaveRejectsButton";

export function RejectsTable({ rejects, total, runId }: { rejects: RejectRow[]; total: number; runId: string }) {
  if (total === 0) return null;
  const more = total - rejects.length;
  return (
    <div className="rejects">
      <div className="table-scroll">
        <table data-testid="rejects-table">
          <caption>Rejected rows</caption>
          <thead>
            <tr>
              <th scope="col">Line</th>
              <th scope="col">Identifier</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {rejects.map((r, index) => (
              <tr key={`${r.line}-${index}`}>
                <td className="num">{r.line}</td>
                <td className="mono">{r.identifier}</td>
                <td>{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {more > 0 && (
        <p className="hint" data-testid="rejects-more">
          {formatCount(more)} more not shown. “Save rejects as CSV…” saves all of them (or run{" "}
          <code>segport-cli runs show {runId} --rejects rejects.csv</code>).
        </p>
      )}
      <SaveRejectsButton runId={runId} />
    </div>
  );
}
