import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../../api";
import type { RunEvent, RunSummary } from "../../api";
import { formatDateTime } from "../../format";
import { connection, exportView, fileSegment, fileSource, runView } from "../../test/fixtures";
import { ExportsScreen } from "./ExportsScreen";

vi.mock("../../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api")>();
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
  return { read, sent, imported, rejected, failedInKlaviyo: 0, matched: read, unchanged: 0, removed: 0, held: 0 };
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

    const rejects = Array.from({ length: 2 }, (_, i) => ({ line: i + 2, identifier: `bad${i}`, code: "reject.recorded" as const, params: { reason: "invalid email" }, reason: "invalid email" }));
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

const HELD_ERROR =
  "Removals held: 12 profile(s) that left the segment were not removed from the list Y6nRLr, because 12 of the 100 profile(s) sent to this list before would be removed — more than 10 % or 1000 (the export's limits). Check the source; to remove them, confirm the removal (in the app, or `segport-cli export run NAME --confirm-removals 12`).";
const HELD_SENTENCE =
  "12 profiles left the segment; their removal from the list Y6nRLr is held because 12 of the 100 profile(s) sent to this list before would be removed — more than 10 % or 1000 (the export's limits).";

function heldRun(id = "run-held") {
  return runView({ id, status: "held", counts: { ...counts(100, 100, 100, 0), held: 12 }, error: HELD_ERROR });
}

describe("resume, start over, send everyone again", () => {
  it("offers Resume and Start over side by side; Start over asks first, then restarts", async () => {
    listExports.mockResolvedValue([exportView({ resumable: true, lastRun: runView({ status: "interrupted" }) })]);
    runExport.mockReturnValue(new Promise(() => {}));
    renderScreen();

    const row = await screen.findByTestId("export-row");
    const resume = within(row).getByTestId("run-now");
    const restart = within(row).getByTestId("run-restart");
    expect(resume).toHaveTextContent("Resume");
    expect(restart).toHaveTextContent("Start over");
    expect(restart).toHaveAccessibleName("Start VIPs over");
    expect(resume.nextElementSibling).toBe(restart);

    await userEvent.click(restart);
    const dialog = screen.getByTestId("confirm-dialog");
    expect(dialog).toHaveTextContent(
      "The stopped run will be closed and a fresh run sends the segment again; profiles Klaviyo already accepted are not lost.",
    );
    expect(within(dialog).getByTestId("confirm-cancel")).toHaveFocus();
    await userEvent.click(within(dialog).getByTestId("confirm-cancel"));
    expect(runExport).not.toHaveBeenCalled();
    expect(screen.queryByTestId("confirm-dialog")).not.toBeInTheDocument();

    await userEvent.click(restart);
    await userEvent.click(within(screen.getByTestId("confirm-dialog")).getByTestId("confirm-ok"));
    expect(runExport).toHaveBeenCalledWith("exp-1", expect.any(Function), { restart: true });
    expect(screen.getByTestId("run-view")).toBeInTheDocument();
  });

  it("has no Start over when there is nothing to resume", async () => {
    renderScreen();
    await screen.findByTestId("run-now");
    expect(screen.queryByTestId("run-restart")).not.toBeInTheDocument();
  });

  it("offers “Send everyone again”, explained, in the More menu", async () => {
    runExport.mockReturnValue(new Promise(() => {}));
    renderScreen();

    const row = await screen.findByTestId("export-row");
    const more = within(row).getByTestId("export-more");
    expect(more).not.toHaveAttribute("open");
    await userEvent.click(within(more).getByTestId("export-more-toggle"));
    expect(within(more).getByTestId("export-more-toggle")).toHaveAccessibleName("More actions for VIPs");
    expect(more).toHaveAttribute("open");
    const full = within(row).getByTestId("run-full");
    expect(full).toHaveAccessibleName("Send everyone again for VIPs");
    expect(full).toHaveAccessibleDescription("Ignores what was sent before: sends every profile of the segment again.");

    await userEvent.click(full);
    expect(runExport).toHaveBeenCalledWith("exp-1", expect.any(Function), { full: true });
    expect(more).not.toHaveAttribute("open");
    expect(screen.getByTestId("run-view")).toBeInTheDocument();
  });

  it("disables every way to run while the export cannot run", async () => {
    listExports.mockResolvedValue([exportView({ resumable: true, connectionId: null })]);
    renderScreen();

    const row = await screen.findByTestId("export-row");
    for (const testId of ["run-now", "run-restart", "run-full"]) expect(within(row).getByTestId(testId)).toBeDisabled();
  });
});

describe("held removals", () => {
  it("are explained under the export, and removed only after a confirmation naming the number and the list", async () => {
    let emit: (event: RunEvent) => void = () => {};
    listExports.mockResolvedValue([exportView({ mode: "mirror", lastRun: heldRun() })]);
    runExport.mockImplementation((_id, onEvent) => {
      emit = onEvent;
      return new Promise(() => {});
    });
    renderScreen();

    const row = await screen.findByTestId("export-row");
    expect(within(row).getByTestId("export-last-status")).toHaveTextContent("Removals held");
    expect(within(row).getByTestId("export-last-run")).toHaveTextContent("12 removals held");
    const notice = within(row).getByTestId("export-held");
    expect(within(notice).getByTestId("held-sentence")).toHaveTextContent(HELD_SENTENCE);
    const review = within(notice).getByRole("button", { name: "Review removals for VIPs" });
    expect(review).toHaveTextContent("Review removals…");

    await userEvent.click(review);
    const dialog = screen.getByTestId("confirm-dialog");
    expect(dialog).toHaveTextContent("Remove 12 profiles from the list Y6nRLr?");
    const ok = within(dialog).getByTestId("confirm-ok");
    expect(ok).toHaveTextContent("Remove 12 profiles");
    expect(ok).toHaveClass("button-danger");
    await userEvent.click(within(dialog).getByTestId("confirm-cancel"));
    expect(runExport).not.toHaveBeenCalled();

    await userEvent.click(review);
    await userEvent.click(within(screen.getByTestId("confirm-dialog")).getByTestId("confirm-ok"));
    expect(runExport).toHaveBeenCalledWith("exp-1", expect.any(Function), { confirmRemovals: 12 });
    expect(screen.queryByTestId("confirm-dialog")).not.toBeInTheDocument();

    // That run's progress, like Run now.
    act(() => emit({ runId: "run-9", phase: "removing", counts: counts(100, 0, 0, 0), status: null, message: null }));
    expect(screen.getByTestId("run-phase")).toHaveTextContent("Removing the profiles that left the segment");
    expect(screen.getByTestId("run-cancel")).toBeEnabled();
  });

  it("are announced at the end of a run, and confirmed from the run view", async () => {
    let finish: (summary: RunSummary) => void = () => {};
    runExport.mockImplementationOnce(() => new Promise((resolve) => (finish = resolve)));
    renderScreen();

    await userEvent.click(await screen.findByTestId("run-now"));
    await act(async () => finish({ run: heldRun(), rejects: [], rejectsTotal: 0 }));

    const view = screen.getByTestId("run-view");
    expect(within(view).getByTestId("run-status")).toHaveAttribute("data-status", "held");
    expect(within(view).getByTestId("count-held")).toHaveTextContent("12");
    const held = within(view).getByTestId("run-held");
    expect(held).toHaveTextContent(HELD_SENTENCE);
    expect(within(view).queryByTestId("run-error-detail")).not.toBeInTheDocument();

    let finishRemoval: (summary: RunSummary) => void = () => {};
    runExport.mockImplementationOnce(() => new Promise((resolve) => (finishRemoval = resolve)));
    await userEvent.click(within(held).getByTestId("review-removals"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("Remove 12 profiles from the list Y6nRLr?");
    await userEvent.click(screen.getByTestId("confirm-ok"));

    expect(runExport).toHaveBeenLastCalledWith("exp-1", expect.any(Function), { confirmRemovals: 12 });
    expect(screen.getByTestId("run-view")).toHaveAccessibleName("Running “VIPs”");
    expect(screen.queryByTestId("run-held")).not.toBeInTheDocument();

    await act(async () =>
      finishRemoval({
        run: runView({ id: "run-2", status: "succeeded", counts: { ...counts(100, 0, 0, 0), removed: 12 } }),
        rejects: [],
        rejectsTotal: 0,
      }),
    );
    expect(screen.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded");
    expect(screen.getByTestId("count-removed")).toHaveTextContent("12");
  });

  it("quote the run's whole explanation when it is not in the usual words", async () => {
    listExports.mockResolvedValue([exportView({ mode: "mirror", lastRun: { ...heldRun(), error: "Something odd happened." } })]);
    renderScreen();

    const notice = await screen.findByTestId("export-held");
    expect(within(notice).getByTestId("held-sentence")).toHaveTextContent(
      "12 profiles left the segment; their removal from the list Y6nRLr is held.",
    );
    expect(within(notice).getByTestId("held-explanation")).toHaveTextContent("Something odd happened.");
  });
});

describe("runs that cannot start or do not continue", () => {
  it("shows “already running” in the run's error place", async () => {
    const message =
      "\"VIPs\" is already running: started by bob (schedule, process 4242 on pc-7) at 10:02. Wait for it to finish, or cancel it there.";
    runExport.mockRejectedValue(new api.AppError("run.already_running", message));
    renderScreen();

    await userEvent.click(await screen.findByTestId("run-now"));

    const error = await screen.findByTestId("run-error");
    expect(error).toHaveTextContent("Not started: this export is already running.");
    expect(error).toHaveTextContent(message);
    expect(screen.getByTestId("run-phase")).toHaveTextContent("Not started");
    expect(screen.queryByTestId("run-summary")).not.toBeInTheDocument();
    await userEvent.click(screen.getByTestId("run-close"));
    expect(screen.queryByTestId("run-view")).not.toBeInTheDocument();
    expect(await screen.findByTestId("run-now")).toBeEnabled();
  });

  it("says why the interrupted run was not continued, for the whole run", async () => {
    let emit: (event: RunEvent) => void = () => {};
    let finish: (summary: RunSummary) => void = () => {};
    runExport.mockImplementation((_id, onEvent) => {
      emit = onEvent;
      return new Promise((resolve) => (finish = resolve));
    });
    listExports.mockResolvedValue([exportView({ resumable: true })]);
    renderScreen();
    await userEvent.click(await screen.findByTestId("run-now"));

    const why =
      "The interrupted run was not continued because the source file changed: a fresh run starts (profiles Klaviyo accepted before are not lost; unchanged ones may be sent again).";
    act(() => emit({ runId: "r", phase: "starting", counts: counts(0, 0, 0, 0), status: "running", message: why }));
    const notice = screen.getByTestId("run-not-continued");
    expect(notice).toHaveTextContent(why);
    expect(notice).toHaveClass("notice-info");
    expect(screen.queryByTestId("run-message")).not.toBeInTheDocument();

    act(() => emit({ runId: "r", phase: "sending", counts: counts(10, 10, 0, 0), status: null, message: null }));
    await act(async () => finish({ run: runView({ id: "r" }), rejects: [], rejectsTotal: 0 }));
    expect(screen.getByTestId("run-not-continued")).toHaveTextContent(why);
  });

  it("shows no such notice for a run that continues", async () => {
    let emit: (event: RunEvent) => void = () => {};
    runExport.mockImplementation((_id, onEvent) => {
      emit = onEvent;
      return new Promise(() => {});
    });
    renderScreen();
    await userEvent.click(await screen.findByTestId("run-now"));

    const message = "Continuing the interrupted run: 3 batch(es) already accepted by Klaviyo are not sent again.";
    act(() => emit({ runId: "r", phase: "starting", counts: counts(0, 0, 0, 0), status: "running", message }));
    expect(screen.queryByTestId("run-not-continued")).not.toBeInTheDocument();
    expect(screen.getByTestId("run-message")).toHaveTextContent(message);
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
