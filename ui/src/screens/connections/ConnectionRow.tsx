import { useState } from "react";
import * as api from "../../api";
import type { ConnectionView } from "../../api";
import { consentGiver, formatDateTime, USABLE_BY_LABEL } from "../../format";

interface ConnectionRowProps {
  connection: ConnectionView;
  onEdit: () => void;
  onRemove: () => void;
  onVerified: () => Promise<void>;
  /** False for a contributor: Edit and Remove are not offered (the back end refuses them). */
  canManage?: boolean;
}

type VerifyState = { kind: "busy" } | { kind: "ok"; text: string } | { kind: "error"; text: string };

export function ConnectionRow({ connection: c, onEdit, onRemove, onVerified, canManage = true }: ConnectionRowProps) {
  const [verify, setVerify] = useState<VerifyState | null>(null);

  async function connect() {
    setVerify({ kind: "busy" });
    try {
      const updated = await api.verifyConnection(c.id);
      const account = updated.verified?.accountName;
      setVerify({ kind: "ok", text: account ? `Connected to ${account}` : "Connected" });
      await onVerified();
    } catch (e) {
      setVerify({ kind: "error", text: api.toAppError(e).message });
    }
  }

  return (
    <li className="card" data-testid="connection-row" data-connection-id={c.id} data-name={c.name}>
      <div className="card-head">
        <h3 className="card-title">{c.name}</h3>
        <div className="badges">
          {c.keyStored ? (
            <span className="badge badge-ok" data-testid="conn-key-badge">
              key stored
            </span>
          ) : (
            <span className="badge badge-warn" data-testid="conn-key-badge">
              no key
            </span>
          )}
          {!c.usable && (
            <span className="badge badge-warn" title="Record consent (Edit) before this connection can be used">
              not usable yet
            </span>
          )}
        </div>
      </div>
      <dl className="facts">
        <dt>Base URL</dt>
        <dd className="mono">{c.baseUrl}</dd>
        <dt>Klaviyo account</dt>
        <dd data-testid="conn-account">
          {c.verified ? (
            <>
              {c.verified.accountName} <span className="muted">(checked {formatDateTime(c.verified.at)})</span>
            </>
          ) : (
            <span className="muted">Not checked yet — use Connect</span>
          )}
        </dd>
        <dt>Usable by</dt>
        <dd>{USABLE_BY_LABEL[c.usableBy]}</dd>
        <dt>Consent</dt>
        <dd data-testid="conn-consent-info">
          {c.consent ? (
            <>
              Given by {consentGiver(c.consent)} on {formatDateTime(c.consent.at)}
            </>
          ) : (
            <span className="muted">Not recorded — edit the connection to give it</span>
          )}
        </dd>
        {c.exportUser && (
          <>
            <dt>Export user</dt>
            <dd>{c.exportUser}</dd>
          </>
        )}
      </dl>
      <div className="actions">
        <button
          type="button"
          onClick={() => void connect()}
          disabled={verify?.kind === "busy"}
          data-testid="conn-verify"
          aria-label={`Connect ${c.name}`}
        >
          {verify?.kind === "busy" ? "Connecting…" : "Connect"}
        </button>
        {canManage ? (
          <>
            <button type="button" onClick={onEdit} data-testid="conn-edit" aria-label={`Edit ${c.name}`}>
              Edit
            </button>
            <button
              type="button"
              className="button-danger-quiet"
              onClick={onRemove}
              data-testid="conn-remove"
              aria-label={`Remove ${c.name}`}
            >
              Remove
            </button>
          </>
        ) : (
          <span className="hint" data-testid="conn-admin-only">
            Only admins change or remove connections.
          </span>
        )}
      </div>
      {verify && verify.kind !== "busy" && (
        <p
          className={verify.kind === "ok" ? "result result-ok" : "result result-error"}
          role={verify.kind === "ok" ? "status" : "alert"}
          data-testid="verify-result"
          data-ok={verify.kind === "ok" ? "true" : "false"}
        >
          {verify.text}
        </p>
      )}
    </li>
  );
}
