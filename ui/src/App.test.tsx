import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "./api";
import { App } from "./App";
import { ErrorProvider } from "./errors";
import { connection } from "./test/fixtures";

vi.mock("./api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("./api")>();
  return {
    ...actual,
    appInfo: vi.fn(),
    listConnections: vi.fn(),
    listExports: vi.fn(),
    listRuns: vi.fn(),
    startDemo: vi.fn(),
  };
});

const appInfo = vi.mocked(api.appInfo);
const listConnections = vi.mocked(api.listConnections);

function renderApp() {
  render(
    <ErrorProvider>
      <App />
    </ErrorProvider>,
  );
}

beforeEach(() => {
  vi.mocked(api.listExports).mockResolvedValue([]);
  vi.mocked(api.listRuns).mockResolvedValue([]);
  listConnections.mockReset();
  appInfo.mockReset();
});

describe("app shell", () => {
  it("shows the operator and role, and errors in the banner", async () => {
    appInfo.mockResolvedValue({ operator: "alice", role: "contributor", dataDir: "/d", version: "0.1.0", demoAvailable: false });
    listConnections.mockRejectedValue(new api.AppError("store.locked", "The database is busy. Try again."));
    renderApp();

    expect(await screen.findByTestId("operator")).toHaveTextContent("alice");
    expect(screen.getByTestId("operator-role")).toHaveTextContent("Contributor");
    expect(await screen.findByTestId("error-banner")).toHaveTextContent("The database is busy. Try again.");
    expect(screen.getByRole("alert")).toBe(screen.getByTestId("error-banner"));
  });

  it("starts the demo, then opens the demo connection for the user's consent", async () => {
    appInfo
      .mockResolvedValueOnce({ operator: "alice", role: "admin", dataDir: "/d", version: "0.1.0", demoAvailable: true })
      .mockResolvedValue({ operator: "alice", role: "admin", dataDir: "/d", version: "0.1.0", demoAvailable: false });
    const demoConnection = connection({ id: "demo", name: "Demo (sandbox)", consent: null, usable: false });
    listConnections.mockResolvedValueOnce([]).mockResolvedValue([demoConnection]);
    vi.mocked(api.startDemo).mockResolvedValue({
      connectionId: "demo",
      exportId: "exp-demo",
      sandboxUrl: "http://127.0.0.1:4010",
      rows: 1000,
    });
    renderApp();

    await userEvent.click(await screen.findByTestId("start-demo"));

    expect(await screen.findByTestId("connection-form")).toBeInTheDocument();
    expect(screen.getByTestId("conn-name")).toHaveValue("Demo (sandbox)");
    expect(screen.getByTestId("demo-note")).toHaveTextContent(/tick the consent box/);
    expect(screen.getByTestId("conn-consent")).not.toBeChecked();
    expect(screen.getByTestId("nav-connections")).toHaveAttribute("aria-current", "page");
  });
});
