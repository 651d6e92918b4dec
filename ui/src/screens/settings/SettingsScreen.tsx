import { useCallback, useId, useState, type FormEvent } from "react";
import * as api from "../../api";
import type { Role, Settings } from "../../api";
import { useReportError } from "../../errors";
import { useCommand } from "../../hooks/useCommand";

interface SettingsScreenProps {
  /** Called after a save, so the header and the screens that depend on the role refresh. */
  onSaved: () => Promise<void>;
}

/** The operator (name and role), the data folder, and the logs folder. */
export function SettingsScreen({ onSaved }: SettingsScreenProps) {
  const report = useReportError();
  const id = useId();
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("admin");
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [logsError, setLogsError] = useState<string | null>(null);
  // The form starts from the settings as loaded (and as saved).
  const fill = useCallback((s: Settings) => {
    setName(s.operator);
    setRole(s.role);
  }, []);
  const loaded = useCommand(api.getSettings, [], { onError: report, onData: fill });
  const settings = loaded.data;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    setSaved(null);
    try {
      const s = await api.saveSettings({ operator: name.trim(), role });
      loaded.mutate(s);
      fill(s);
      setSaved(`Saved. You are ${s.operator}, ${s.role === "admin" ? "an admin" : "a contributor"}.`);
      await onSaved();
    } catch (e) {
      report(e);
    } finally {
      setSaving(false);
    }
  }

  async function openLogs() {
    setLogsError(null);
    try {
      await api.openLogsFolder();
    } catch (e) {
      setLogsError(api.toAppError(e).message);
    }
  }

  const dirty = settings !== null && (name.trim() !== settings.operator || role !== settings.role);

  return (
    <section className="screen" aria-labelledby="settings-title">
      <h2 id="settings-title" className="screen-title">
        Settings
      </h2>
      {settings === null ? (
        <p className="muted">Loading settings…</p>
      ) : (
        <>
          <form className="form" onSubmit={(e) => void submit(e)} data-testid="settings-form" aria-label="Operator">
            <div className="field">
              <label htmlFor={`${id}-name`}>Your name</label>
              <input
                id={`${id}-name`}
                type="text"
                value={name}
                onChange={(e) => setName(e.target.value)}
                aria-describedby={`${id}-name-hint`}
                autoComplete="name"
                data-testid="settings-operator"
              />
              <p className="hint" id={`${id}-name-hint`}>
                Recorded with each run and each consent. Leave it blank to keep the current name.
              </p>
            </div>
            <fieldset className="field" aria-describedby={`${id}-role-hint`}>
              <legend>Role</legend>
              <label className="choice">
                <input
                  type="radio"
                  name={`${id}-role`}
                  value="admin"
                  checked={role === "admin"}
                  onChange={() => setRole("admin")}
                  data-testid="settings-role-admin"
                />
                <span>Admin — adds, changes and removes connections; uses all of them</span>
              </label>
              <label className="choice">
                <input
                  type="radio"
                  name={`${id}-role`}
                  value="contributor"
                  checked={role === "contributor"}
                  onChange={() => setRole("contributor")}
                  data-testid="settings-role-contributor"
                />
                <span>Contributor — runs exports with the connections shared with contributors</span>
              </label>
              <p className="hint" id={`${id}-role-hint`}>
                A guardrail against mistakes on this computer, not a security boundary: anyone using this computer can
                change it here.
              </p>
            </fieldset>
            {saved && (
              <p className="result result-ok" role="status" data-testid="settings-saved">
                {saved}
              </p>
            )}
            <div className="actions">
              <button type="submit" className="button-primary" disabled={saving || !dirty} data-testid="settings-save">
                {saving ? "Saving…" : "Save"}
              </button>
            </div>
          </form>

          <dl className="facts settings-facts">
            <dt>Data folder</dt>
            <dd className="mono" data-testid="settings-data-dir">
              {settings.dataDir}
            </dd>
            <dt>Logs</dt>
            <dd>
              <span className="mono" data-testid="settings-logs-dir">
                {settings.logsDir}
              </span>{" "}
              <button type="button" onClick={() => void openLogs()} data-testid="settings-open-logs">
                Open logs folder
              </button>
              <p className="hint">
                Daily log files, kept for 7 days: ids, statuses and counts, never API keys or row contents. Attach them
                to a support request.
              </p>
              {logsError && (
                <p className="result result-error" role="alert" data-testid="settings-logs-error">
                  {logsError}
                </p>
              )}
            </dd>
            <dt>Appearance</dt>
            <dd>Light or dark follows your system setting.</dd>
          </dl>
          <p className="hint">
            To use another data folder, start Segport with <code>--data-dir FOLDER</code> (or set{" "}
            <code>SEGPORT_DATA_DIR</code>).
          </p>
        </>
      )}
    </section>
  );
}
