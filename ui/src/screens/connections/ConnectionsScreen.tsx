import { useState } from "react";
import * as api from "../../api";
import type { AppInfo, ConnectionView, DemoInfo } from "../../api";
import { useReportError } from "../../errors";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ConnectionForm } from "./ConnectionForm";
import { ConnectionRow } from "./ConnectionRow";
import { DemoNote } from "./DemoNote";

interface ConnectionsScreenProps {
  info: AppInfo | null;
  connections: ConnectionView[] | null;
  onChanged: () => Promise<void>;
  editRequest: { id: string; demo: DemoInfo | null } | null;
  onGoToExports: () => void;
}

type Editing = { connection: ConnectionView | null; demo: DemoInfo | null };

/** Why a contributor's New / Edit / Remove are unavailable (the back end refuses them too). */
export const ONLY_ADMINS = "Only admins add, change or remove connections.";

export function ConnectionsScreen({ info, connections, onChanged, editRequest, onGoToExports }: ConnectionsScreenProps) {
  const report = useReportError();
  const [editing, setEditing] = useState<Editing | null>(() => {
    if (!editRequest) return null;
    const connection = connections?.find((c) => c.id === editRequest.id);
    return connection ? { connection, demo: editRequest.demo } : null;
  });
  const [notice, setNotice] = useState<{ text: string; demo: boolean } | null>(null);
  const [removing, setRemoving] = useState<ConnectionView | null>(null);
  const [removeBusy, setRemoveBusy] = useState(false);
  // Until the role is known, assume admin (the back end has the last word either way).
  const canManage = info?.role !== "contributor";

  async function onSaved(saved: ConnectionView, wasDemo: boolean) {
    setEditing(null);
    await onChanged();
    setNotice({
      text: saved.usable
        ? `Saved “${saved.name}”. Use Connect to check the key with Klaviyo.`
        : `Saved “${saved.name}”.`,
      demo: wasDemo,
    });
  }

  async function confirmRemove() {
    if (!removing) return;
    setRemoveBusy(true);
    try {
      await api.deleteConnection(removing.id);
      setNotice({ text: `Removed “${removing.name}”.`, demo: false });
      setRemoving(null);
      await onChanged();
    } catch (e) {
      setRemoving(null);
      report(e);
    } finally {
      setRemoveBusy(false);
    }
  }

  if (editing && canManage) {
    return (
      <section className="screen" aria-labelledby="connections-title">
        <h2 id="connections-title" className="screen-title">
          {editing.connection ? `Edit connection “${editing.connection.name}”` : "New connection"}
        </h2>
        {editing.demo && <DemoNote demo={editing.demo} />}
        <ConnectionForm
          key={editing.connection?.id ?? "new"}
          existing={editing.connection}
          operator={info?.operator ?? null}
          onSaved={(saved) => void onSaved(saved, editing.demo !== null)}
          onCancel={() => setEditing(null)}
        />
      </section>
    );
  }

  return (
    <section className="screen" aria-labelledby="connections-title">
      <div className="screen-head">
        <h2 id="connections-title" className="screen-title">
          Connections
        </h2>
        <button
          type="button"
          className="button-primary"
          onClick={() => {
            setNotice(null);
            setEditing({ connection: null, demo: null });
          }}
          disabled={!canManage}
          aria-describedby={canManage ? undefined : "contributor-note"}
          title={canManage ? undefined : ONLY_ADMINS}
          data-testid="new-connection"
        >
          New connection
        </button>
      </div>
      <p className="lede">
        A connection is a Klaviyo account Segport sends profiles to. Its API key is kept in your OS keychain, never in
        Segport’s files.
      </p>
      {!canManage && (
        <p className="notice" id="contributor-note" data-testid="contributor-note">
          You are a contributor: only admins add, change or remove connections, and you see and use only the ones shared
          with contributors. This is a guardrail on this computer, not a security boundary (an admin can change roles
          in Settings).
        </p>
      )}
      {notice && (
        <div className="notice notice-success" role="status" data-testid="conn-saved">
          <span>{notice.text}</span>
          {notice.demo && (
            <button type="button" className="button-link" onClick={onGoToExports}>
              Go to Exports to run the demo export
            </button>
          )}
        </div>
      )}
      {connections === null ? (
        <p className="muted">Loading connections…</p>
      ) : connections.length === 0 ? (
        <div className="empty" data-testid="connections-empty">
          <p>No connections yet.</p>
          <p className="muted">
            Create one with a Klaviyo private API key (Klaviyo → Settings → API keys) that can read accounts and lists
            and write profiles and lists.
          </p>
        </div>
      ) : (
        <ul className="cards" data-testid="connection-list">
          {connections.map((connection) => (
            <ConnectionRow
              key={connection.id}
              connection={connection}
              onEdit={() => {
                setNotice(null);
                setEditing({ connection, demo: null });
              }}
              onRemove={() => setRemoving(connection)}
              canManage={canManage}
              onVerified={onChanged}
            />
          ))}
        </ul>
      )}
      {removing && (
        <ConfirmDialog
          title="Remove connection?"
          message={`Remove “${removing.name}”? Its API key is deleted from your OS keychain. Exports that send to it stop working until you choose another connection.`}
          confirmLabel="Remove connection"
          busy={removeBusy}
          busyLabel="Removing…"
          onConfirm={() => void confirmRemove()}
          onCancel={() => setRemoving(null)}
        />
      )}
    </section>
  );
}
