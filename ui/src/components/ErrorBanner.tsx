import { useErrorState } from "../errors";

/** The app-wide error area: what happened (the message), and a way to dismiss it. */
export function ErrorBanner() {
  const { error, dismiss } = useErrorState();
  if (!error) return null;
  return (
    <div className="banner banner-error">
      <p role="alert" data-testid="error-banner" data-code={error.code} title={error.code}>
        {error.message}
      </p>
      <button type="button" className="button-quiet" onClick={dismiss} data-testid="error-dismiss">
        Dismiss
      </button>
    </div>
  );
}
