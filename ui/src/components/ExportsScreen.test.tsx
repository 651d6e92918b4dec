import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../api";
import type { RunEvent, RunSummary } from "../api";
import { connection, exportView, runView } from "../test/fixtures";
import { ExportsScreen } from "./ExportsScreen";

vi.mock("../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../api")>();
  return { ...actual, listExports: vi.fn(), runExport: vi.fn(), cancelRun: vi.fn(), startDemo: vi.fn() };
});

const listExports = vi.mocked(api.listExports);
const runExport = vi.mocked(api.runExport);
const cancelRun = vi.mocked(api.cancelRun);

function counts(read: number, sent: number, imported: number, rejected: number) {
  return { read, sent, imported, rejected, failedInKlaviyo: 0, matched: read, unchanged: 0, removed: 0 };
}

function renderScreen(overrides: Partial<Parameters<typeof ExportsScreen>[0]> = {}) {
  render(
    <ExportsScreen
      info={{ operator: "alice", role: "admin", dataDir: "/d", version: "0.1.0", demoAvailable: false }}
      connections={[connection()]}
      onDemoStarted={vi.fn()}
      onGoToConnections={vi.fn()}
      {...overrides}
    />,
  );
}

beforeEach(() => {
  listExports.mockReset();
  runExport.mockReset();
  cancelRun.mockReset();
  listExports.mockResolvedValue([exportView()]);
});

describe("running an export", () => {
  it("shows live counts, cancels with the run id from the events, then summarises", async () => {
    let emit: (event: RunEvent) => void = () => {};
    let finish: (summary: RunSummary) => void = () => {};
    runExport.mockImplementation((_id, onEvent) => {
      emit = onEvent;
      return new Promise((resolve) => (finish = resolve));
    });
    cancelRun.mockResolvedValue(true);
    renderScreen();

    await userEvent.click(await screen.findByTestId("run-now"));
    const view = screen.getByTestId("run-view");
    expect(runExport).toHaveBeenCalledWith("exp-1", expect.any(Function));
    expect(screen.getByTestId("run-cancel")).toBeDisabled();

    act(() => emit({ runId: "run-7", phase: "sending", counts: counts(120, 100, 0, 3), status: null, message: null }));
    expect(within(view).getByTestId("count-read")).toHaveTextContent("120");
    expect(within(view).getByTestId("count-sent")).toHaveTextContent("100");
    expect(within(view).getByTestId("count-rejected")).toHaveTextContent("3");
    expect(within(view).getByTestId("run-phase")).toHaveTextContent("Sending");

    await userEvent.click(screen.getByTestId("run-cancel"));
    expect(cancelRun).toHaveBeenCalledWith("run-7");

    const rejects = Array.from({ length: 2 }, (_, i) => ({ line: i + 2, identifier: `bad${i}`, reason: "invalid email" }));
    await act(async () =>
      finish({
        run: runView({ id: "run-7", status: "cancelled", counts: counts(120, 100, 97, 3) }),
        rejects,
        rejectsTotal: 250,
      }),
    );

    expect(screen.getByTestId("run-status")).toHaveTextContent("Cancelled");
    expect(screen.getByTestId("run-status")).toHaveAttribute("data-status", "cancelled");
    expect(screen.getByTestId("count-imported")).toHaveTextContent("97");
    expect(screen.getByTestId("run-duration")).toHaveTextContent("5.0 s");
    const table = screen.getByTestId("rejects-table");
    expect(within(table).getAllByRole("row")).toHaveLength(3);
    expect(screen.getByTestId("rejects-more")).toHaveTextContent("248 more");
    expect(screen.queryByTestId("run-cancel")).not.toBeInTheDocument();

    await userEvent.click(screen.getByTestId("run-close"));
    expect(screen.queryByTestId("run-view")).not.toBeInTheDocument();
  });

  it("shows the error when the run cannot happen", async () => {
    runExport.mockRejectedValue(new api.AppError("connection.consent_required", "Record consent first."));
    renderScreen();

    await userEvent.click(await screen.findByTestId("run-now"));

    expect(await screen.findByTestId("run-error")).toHaveTextContent("Record consent first.");
    expect(screen.queryByTestId("run-summary")).not.toBeInTheDocument();
  });
});

describe("welcome", () => {
  it("offers the demo only while nothing is configured", async () => {
    listExports.mockResolvedValue([]);
    renderScreen({
      connections: [],
      info: { operator: "alice", role: "admin", dataDir: "/d", version: "0.1.0", demoAvailable: true },
    });
    expect(screen.getByTestId("start-demo")).toBeInTheDocument();
    expect(await screen.findByTestId("exports-empty")).toBeInTheDocument();
  });
});
