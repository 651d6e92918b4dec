import { useState } from "react";
import * as api from "../api";
import { baseName, formatCount } from "../format";

/** "Save rejects as CSV…": the native save dialog opens on the Rust side, which writes the file. */
export function SaveRejectsButton({ runId }: { runId: string }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);

  async function save() {
    setBusy(true);
    setResult(null);
    try {
      const saved = await api.saveRejectsCsv(runId);
      if (saved) {
        setResult({
          ok: true,
          text: `Saved ${formatCount(saved.rows)} rejected row${saved.rows === 1 ? "" : "s"} to ${baseName(saved.path)}.`,
        });
      }
    } catch (e) {
      setResult({ ok: false, text: api.toAppError(e).message });
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="save-rejects">
      <button type="button" onClick={() => void save()} disabled={busy} data-testid="save-rejects">
        {busy ? "Saving…" : "Save rejects as CSV…"}
      </button>
      {result && (
        <p
          className={result.ok ? "result result-ok" : "result result-error"}
          role={result.ok ? "status" : "alert"}
          data-testid="save-rejects-result"
        >
          {result.text}
        </p>
      )}
    </div>
  );
}
