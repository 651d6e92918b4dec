import { Modal } from "./Modal";

interface ConfirmDialogProps {
  title: string;
  message: string;
  confirmLabel: string;
  busy?: boolean;
  busyLabel?: string;
  onConfirm: () => void;
  onCancel: () => void;
  /** Styles the confirm button as destructive (default). */
  danger?: boolean;
}

/** Asks before a destructive action. The safe choice (Cancel) has the focus. */
export function ConfirmDialog({
  title,
  message,
  confirmLabel,
  busy,
  busyLabel,
  onConfirm,
  onCancel,
  danger = true,
}: ConfirmDialogProps) {
  return (
    <Modal title={title} onClose={busy ? undefined : onCancel} testId="confirm-dialog" role="alertdialog">
      <p>{message}</p>
      <div className="actions">
        <button type="button" onClick={onCancel} disabled={busy} data-autofocus data-testid="confirm-cancel">
          Cancel
        </button>
        <button
          type="button"
          className={danger ? "button-danger" : "button-primary"}
          onClick={onConfirm} disabled={busy} data-testid="confirm-ok">
          {busy ? (busyLabel ?? "Working…") : confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
