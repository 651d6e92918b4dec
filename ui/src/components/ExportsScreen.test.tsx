import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../api";
import type { RunEvent, RunSummary } from "../api";
import { formatDateTime } from "../format";
import { connection, exportView, fileSegment, fileSource, runView } from "../test/fixtures";
import { ExportsScreen } from "./ExportsScreen";

vi.mock("../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../api")>();
  return {
    ...actual,
    listExports: vi.fn(),
    runExport: vi.fn(),
    cancelRun: vi.fn(),
    startDemo: vi.fn(),
    deleteExport: vi.fn(),
    listSegments: vi.fn(),
    previewSegment: vi.fn(),
    saveExport: vi.fn(),
    inspectSource: vi.fn(),
    previewMapping: vi.fn(),
  };
});

const listExports = vi.mocked(api.listExports);
const runExport = vi.mocked(api.runExport);
const cancelRun = vi.mocked(api.cancelRun);
const deleteExport = vi.mocked(api.deleteExport);
const listSegments = vi.mocked(api.listSegments);
const previewSegment = vi.mocked(api.previewSegment);

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
  deleteExport.mockReset();
  listSegments.mockReset();
  previewSegment.mockReset();
  listExports.mockResolvedValue([exportView()]);
  // The segment's count (the run's total) is unknown unless a test says otherwise.
  listSegments.mockRejectedValue(new api.AppError("test", "not counted"));
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

describe("time left", () => {
  it("is estimated from the segment's count and the pace of the rows handled (not just read)", async () => {
    let emit: (event: RunEvent) => void = () => {};
    runExport.mockImplementation((_id, onEvent) => {
      emit = onEvent;
      return new Promise(() => {});
    });
    listSegments.mockResolvedValue([fileSegment()]);
    previewSegment.mockResolvedValue({ columns: ["E-mail"], total: 1200, matching: 1000, badRows: 0, sample: [] });
    let now = 1_000_000;
    vi.spyOn(Date, "now").mockImplementation(() => now);
    renderScreen();

    await userEvent.click(await screen.findByTestId("run-now"));
    await waitFor(() => expect(previewSegment).toHaveBeenCalledWith("src-vips", null));
    act(() => emit({ runId: "r", phase: "sending", counts: { ...counts(120, 50, 0, 0), matched: 100 }, status: null, message: null }));
    expect(screen.queryByTestId("run-eta")).not.toBeInTheDocument();
    now += 1000;
    act(() => emit({ runId: "r", phase: "sending", counts: { ...counts(240, 150, 0, 0), matched: 200 }, status: null, message: null }));

    // 150 of the 200 rows read are sent; 100 more a second: 850 rows, 8.5 s to go.
    const eta = await screen.findByTestId("run-eta");
    expect(eta).toHaveAttribute("data-value", "9");
    expect(eta).toHaveTextContent("150 of 1,000 rows, about 9 s left");
    expect(screen.getByTestId("run-progress")).toHaveAttribute("value", "150");

    // Every row read: what is left (Klaviyo's import) takes as long as Klaviyo takes.
    now += 1000;
    act(() => emit({ runId: "r", phase: "waiting", counts: { ...counts(1200, 1000, 0, 0), matched: 1000 }, status: null, message: null }));
    expect(screen.queryByTestId("run-eta")).not.toBeInTheDocument();
    expect(screen.getByTestId("run-phase")).toHaveAttribute("data-phase", "waiting");
  });

  it("is not shown when the segment cannot be counted", async () => {
    let emit: (event: RunEvent) => void = () => {};
    runExport.mockImplementation((_id, onEvent) => {
      emit = onEvent;
      return new Promise(() => {});
    });
    let now = 1_000_000;
    vi.spyOn(Date, "now").mockImplementation(() => now);
    renderScreen();

    await userEvent.click(await screen.findByTestId("run-now"));
    act(() => emit({ runId: "r", phase: "reading", counts: counts(100, 0, 0, 0), status: null, message: null }));
    now += 1000;
    act(() => emit({ runId: "r", phase: "sending", counts: counts(200, 100, 0, 0), status: null, message: null }));

    expect(screen.getByTestId("run-rate")).toHaveTextContent("Sending 100 profiles/s");
    expect(screen.queryByTestId("run-eta")).not.toBeInTheDocument();
  });
});

describe("export rows", () => {
  it("show the segment and its source, connection, list, schedule with the next run, and the last run", async () => {
    const nextRunAt = "2025-03-04T08:30:00Z";
    listExports.mockResolvedValue([
      exportView({
        segmentName: "Polish buyers",
        sourceName: "Customers",
        sourcePath: "/data/customers.csv",
        schedule: { kind: "every", hours: 6 },
        nextRunAt,
        mode: "mirror",
        lastRun: runView({ status: "partial", counts: counts(10, 10, 9, 1) }),
      }),
    ]);
    renderScreen();

    const row = await screen.findByTestId("export-row");
    expect(within(row).getByTestId("export-segment-name")).toHaveTextContent("Polish buyers from Customers (customers.csv)");
    expect(within(row).getByText("Main store")).toBeInTheDocument();
    expect(within(row).getByText("Y6nRLr")).toBeInTheDocument();
    expect(within(row).getByTestId("export-mode-name")).toHaveTextContent("Mirror");
    expect(within(row).getByTestId("export-schedule")).toHaveTextContent(`Every 6 h · next ${formatDateTime(nextRunAt)}`);
    expect(within(row).getByTestId("export-last-status")).toHaveAttribute("data-status", "partial");
    expect(within(row).getByTestId("export-last-run")).toHaveTextContent("10 read, 9 imported, 1 rejected");
    expect(within(row).getByTestId("run-now")).toHaveTextContent("Run now");
    expect(within(row).getByTestId("run-now")).toHaveAttribute("data-resumable", "false");
  });

  it("say “Resume”, and why, when an earlier run can be continued", async () => {
    listExports.mockResolvedValue([exportView({ resumable: true, lastRun: runView({ status: "cancelled" }) })]);
    runExport.mockReturnValue(new Promise(() => {}));
    renderScreen();

    const button = await screen.findByTestId("run-now");
    expect(button).toHaveTextContent("Resume");
    expect(button).toHaveAttribute("data-resumable", "true");
    expect(button).toHaveAccessibleName("Resume VIPs");
    expect(button).toHaveAccessibleDescription(/continues where it stopped/);
    expect(button.title).toMatch(/continues where it stopped/);

    await userEvent.click(button);
    expect(runExport).toHaveBeenCalledWith("exp-1", expect.any(Function));
  });

  it("tell a contributor that the export's connection is for admins only, not that it was removed", async () => {
    // Contributors are not shown admins-only connections; the export still names its one.
    listExports.mockResolvedValue([exportView({ connectionId: "c-admins", connectionName: "Main store" })]);
    renderScreen({ connections: [connection({ id: "c-shared", name: "Shared" })] });

    const button = await screen.findByTestId("run-now");
    expect(button).toBeDisabled();
    expect(button.title).toBe("Connection “Main store” is for admins only: ask an admin to share it with contributors.");
    expect(button).toHaveAccessibleDescription(/for admins only/);
  });

  it("say that the connection was removed when the export names none", async () => {
    listExports.mockResolvedValue([exportView({ connectionId: "c-gone", connectionName: null })]);
    renderScreen();

    expect((await screen.findByTestId("run-now")).title).toMatch(/connection was removed/);
  });

  it("ask before removing, and show a refusal", async () => {
    deleteExport.mockRejectedValueOnce(
      new api.AppError("forbidden", "This export uses an admins-only connection: only an admin can remove it."),
    );
    renderScreen();

    await userEvent.click(await screen.findByTestId("export-remove"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("Remove “VIPs”?");
    expect(deleteExport).not.toHaveBeenCalled();
    await userEvent.click(screen.getByTestId("confirm-ok"));

    expect(deleteExport).toHaveBeenCalledWith("exp-1");
    expect(await screen.findByTestId("export-remove-error")).toHaveTextContent(
      "“VIPs” was not removed: This export uses an admins-only connection: only an admin can remove it.",
    );
    expect(screen.queryByTestId("confirm-dialog")).not.toBeInTheDocument();

    deleteExport.mockResolvedValueOnce();
    listExports.mockResolvedValue([]);
    await userEvent.click(screen.getByTestId("export-remove"));
    await userEvent.click(screen.getByTestId("confirm-ok"));
    expect(await screen.findByTestId("export-saved")).toHaveTextContent("Removed “VIPs”.");
    expect(screen.queryByTestId("export-remove-error")).not.toBeInTheDocument();
    expect(await screen.findByTestId("exports-empty")).toBeInTheDocument();
  });
});

describe("editing", () => {
  it("saves without running, and says so", async () => {
    vi.mocked(api.saveExport).mockResolvedValue(exportView());
    vi.mocked(api.inspectSource).mockResolvedValue(fileSource());
    vi.mocked(api.previewMapping).mockResolvedValue({ profiles: [] });
    listSegments.mockResolvedValue([fileSegment()]);
    renderScreen();

    await userEvent.click(await screen.findByTestId("export-edit"));
    expect(screen.getByRole("heading", { name: "Edit export “VIPs”" })).toBeInTheDocument();
    await screen.findByTestId("segment-columns");
    await userEvent.click(screen.getByTestId("export-save"));

    expect(await screen.findByTestId("export-saved")).toHaveTextContent(/^Saved\. Saving does not run the export\.$/);
    expect(vi.mocked(api.saveExport)).toHaveBeenCalledOnce();
    expect(runExport).not.toHaveBeenCalled();
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
