import { useId, useState, type FormEvent } from "react";
import * as api from "../../api";
import type { ConnectionView, UsableBy } from "../../api";
import { useReportError } from "../../errors";
import { consentGiver, formatDateTime } from "../../format";
import { FormActions } from "../../components/FormActions";

export const DEFAULT_BASE_URL = "https://a.klaviyo.com";

/** The scheme, host and port of a base URL (empty: Klaviyo's) — what a stored key and a consent
 * belong to; a trailing slash or a path does not change it. */
export function addressOf(baseUrl: string): string {
  const text = baseUrl.trim() || DEFAULT_BASE_URL;
  try {
    return new URL(text).origin;
  } catch {
    return text.replace(/\/+$/, "");
  }
}

interface ConnectionFormProps {
  /** null for a new connection. */
  existing: ConnectionView | null;
  operator: string | null;
  onSaved: (saved: ConnectionView) => void;
  onCancel: () => void;
}

export function ConnectionForm({ existing, operator, onSaved, onCancel }: ConnectionFormProps) {
  const report = useReportError();
  const id = useId();
  const [name, setName] = useState(existing?.name ?? "");
  // The key is write-only: never prefilled, sent only when the user types one.
  const [apiKey, setApiKey] = useState("");
  const [baseUrl, setBaseUrl] = useState(existing?.baseUrl ?? "");
  const [usableBy, setUsableBy] = useState<UsableBy>(existing?.usableBy ?? "admins");
  const [exportUser, setExportUser] = useState(existing?.exportUser ?? "");
  const [consentKept, setConsentKept] = useState(existing?.consent != null);
  // For another address the consent is given again (Segport drops the old one with the key).
  const [consentAgain, setConsentAgain] = useState(false);
  const [saving, setSaving] = useState(false);

  const isNew = existing === null;
  const hostChanged = existing !== null && addressOf(baseUrl) !== addressOf(existing.baseUrl);
  const consent = hostChanged ? consentAgain : consentKept;
  const setConsent = hostChanged ? setConsentAgain : setConsentKept;
  const customBaseUrl = existing && existing.baseUrl !== DEFAULT_BASE_URL ? existing.baseUrl : null;
  const missing: string[] = [];
  if (!name.trim()) missing.push("a name");
  if (isNew && !apiKey.trim()) missing.push("an API key");
  if (hostChanged && !apiKey.trim()) missing.push("the API key for the new address");
  if (!consent) missing.push("your consent");
  const canSave = missing.length === 0 && !saving;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!canSave) return;
    setSaving(true);
    try {
      const saved = await api.saveConnection({
        id: existing?.id ?? null,
        name: name.trim(),
        baseUrl: baseUrl.trim() || null,
        usableBy,
        apiKey: apiKey.trim() || null,
        consent,
        exportUser: exportUser.trim() || null,
      });
      setApiKey("");
      onSaved(saved);
    } catch (e) {
      report(e);
    } finally {
      setSaving(false);
    }
  }

  return (
    <form className="form" onSubmit={(e) => void submit(e)} data-testid="connection-form" noValidate>
      <div className="field">
        <label htmlFor={`${id}-name`}>Name</label>
        <input
          id={`${id}-name`}
          type="text"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="e.g. Main store"
          autoComplete="off"
          required
          data-testid="conn-name"
        />
      </div>

      <div className="field">
        <label htmlFor={`${id}-key`}>Klaviyo private API key</label>
        <input
          id={`${id}-key`}
          type="password"
          value={apiKey}
          onChange={(e) => setApiKey(e.target.value)}
          placeholder="pk_… — stored in your OS keychain"
          autoComplete="off"
          spellCheck={false}
          aria-describedby={`${id}-key-hint`}
          data-testid="conn-key"
        />
        <p id={`${id}-key-hint`} className="hint" data-testid="conn-key-hint">
          {hostChanged
            ? "Enter the key for the new address: the stored key was given for the old one and is removed."
            : existing?.keyStored
            ? "A key is stored — type a new one to replace it."
            : existing
              ? "No key is stored for this connection yet — paste one so Segport can connect."
              : "The key goes to your OS keychain, never to Segport’s files, and is never shown again."}
        </p>
      </div>

      <details className="advanced">
        <summary data-testid="conn-advanced">
          Advanced{customBaseUrl ? <span className="muted"> · base URL {customBaseUrl}</span> : null}
        </summary>
        <div className="field">
          <label htmlFor={`${id}-base`}>Base URL</label>
          <input
            id={`${id}-base`}
            type="url"
            value={baseUrl}
            onChange={(e) => setBaseUrl(e.target.value)}
            placeholder={DEFAULT_BASE_URL}
            autoComplete="off"
            spellCheck={false}
            aria-describedby={`${id}-base-hint`}
            data-testid="conn-base-url"
          />
          <p id={`${id}-base-hint`} className="hint">
            Leave empty for Klaviyo itself. Change it only for a test server (http:// only on this computer).
          </p>
          {hostChanged && existing && (
            <p className="hint warn-text" role="status" data-testid="conn-host-changed">
              Another address than {addressOf(existing.baseUrl)}: the stored key, the consent and the checked
              account were given for that one. Enter the key for the new address and give your consent again.
            </p>
          )}
        </div>
        <fieldset className="field">
          <legend>Usable by</legend>
          <label className="choice">
            <input
              type="radio"
              name={`${id}-usable-by`}
              value="admins"
              checked={usableBy === "admins"}
              onChange={() => setUsableBy("admins")}
              data-testid="conn-usable-admins"
            />
            Admins only
          </label>
          <label className="choice">
            <input
              type="radio"
              name={`${id}-usable-by`}
              value="contributors"
              checked={usableBy === "contributors"}
              onChange={() => setUsableBy("contributors")}
              data-testid="conn-usable-contributors"
            />
            Admins and contributors
          </label>
        </fieldset>
        <div className="field">
          <label htmlFor={`${id}-user`}>Export user (optional)</label>
          <input
            id={`${id}-user`}
            type="text"
            value={exportUser}
            onChange={(e) => setExportUser(e.target.value)}
            autoComplete="off"
            aria-describedby={`${id}-user-hint`}
            data-testid="conn-export-user"
          />
          <p id={`${id}-user-hint`} className="hint">
            The person answerable for exports through this connection, if not you.
          </p>
        </div>
      </details>

      <div className="field consent">
        <label className="choice">
          <input
            type="checkbox"
            checked={consent}
            onChange={(e) => setConsent(e.target.checked)}
            data-testid="conn-consent"
          />
          <span>
            I agree to the data privacy and compliance terms: profiles exported from Segport are sent to Klaviyo, and I
            confirm that the people in them may lawfully be added to Klaviyo lists and contacted from there.
          </span>
        </label>
        {existing?.consent && !hostChanged ? (
          <p className="hint" data-testid="conn-consent-recorded">
            Consent recorded by {consentGiver(existing.consent)} on {formatDateTime(existing.consent.at)}.
          </p>
        ) : (
          <p className="hint">
            Your consent is recorded{operator ? ` as ${operator}` : ""} with the time. The connection cannot be used
            without it.
          </p>
        )}
      </div>

      <FormActions
        testid="conn"
        saveLabel="Save connection"
        canSave={canSave}
        saving={saving}
        missing={missing}
        onCancel={onCancel}
      />
    </form>
  );
}
