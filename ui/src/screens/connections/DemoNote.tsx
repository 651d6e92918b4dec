import type { DemoInfo } from "../../api";

/** Explains what the demo set up, and that consent is still the user's to give. */
export function DemoNote({ demo }: { demo: DemoInfo }) {
  return (
    <div className="notice notice-info" role="status" data-testid="demo-note">
      <p>
        <strong>The demo is ready.</strong> Segport started a local imitation of Klaviyo at{" "}
        <span className="mono">{demo.sandboxUrl}</span> and created a sample CSV file with {demo.rows.toLocaleString()}{" "}
        rows and an export that sends it there. Nothing leaves this computer.
      </p>
      <p>
        Before the demo connection can be used, read the terms below and tick the consent box, then save. Segport never
        gives consent for you.
      </p>
    </div>
  );
}
