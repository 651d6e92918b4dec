import { useState } from "react";
import * as api from "../../api";
import type { DemoInfo } from "../../api";
import { useReportError } from "../../errors";

/** Shown while nothing is configured: a way to try Segport against a local Klaviyo imitation. */
export function WelcomeCard({ onDemoStarted }: { onDemoStarted: (demo: DemoInfo) => Promise<void> }) {
  const report = useReportError();
  const [busy, setBusy] = useState(false);

  async function start() {
    setBusy(true);
    try {
      const demo = await api.startDemo();
      await onDemoStarted(demo);
    } catch (e) {
      report(e);
      setBusy(false);
    }
  }

  return (
    <section className="card welcome" aria-labelledby="welcome-title" data-testid="welcome-card">
      <h2 id="welcome-title">Try Segport without a Klaviyo account</h2>
      <p>
        The demo starts a local imitation of Klaviyo on this computer, with a sample CSV file of customers and an
        export ready to run. No data leaves your computer.
      </p>
      <button
        type="button"
        className="button-primary"
        onClick={() => void start()}
        disabled={busy}
        aria-busy={busy}
        data-testid="start-demo"
      >
        {busy ? "Preparing the demo…" : "Start the demo"}
      </button>
    </section>
  );
}
