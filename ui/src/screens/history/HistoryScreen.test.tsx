import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../../api";
import { ErrorProvider } from "../../errors";
import { runView } from "../../test/fixtures";
import { HistoryScreen } from "./HistoryScreen";

vi.mock("../../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api")>();
  return { ...actual, listRuns: vi.fn(), runSummary: vi.fn(), saveRejectsCsv: vi.fn() };
});

const listRuns = vi.mocked(api.listRuns);
const runSummary = vi.mocked(api.runSummary);
const saveRejectsCsv = vi.mocked(api.saveRejectsCsv);

const counts = { read: 10, sent: 9, imported: 8, rejected: 1, failedInKlaviyo: 0, matched: 9, unchanged: 0, removed: 2, held: 0 };
const RUNS = [
  runView({ id: "r3", exportId: "b", exportName: "Buyers", status: "failed", error: "The API key was rejected." }),
  runView({ id: "r2", exportId: "a", exportName: "VIPs", status: "partial", counts, trigger: "schedule", who: "bob" }),
  runView({ id: "r1", exportId: "a", exportName: "VIPs", status: "succeeded" }),
];

function renderScreen() {
  render(
    <ErrorProvider>
      <HistoryScreen />
    </ErrorProvider>,
  );
}

function shownIds() {
  return screen.queryAllByTestId("history-row").map((row) => row.getAttribute("data-run-id"));
}

beforeEach(() => {
  listRuns.mockReset().mockResolvedValue(RUNS);
  runSummary.mockReset();
  saveRejectsCsv.mockReset();
});

describe("history", () => {
  it("filters by export and by status", async () => {
    const user = userEvent.setup();
    renderScreen();
    await screen.findByTestId("history-table");
    expect(shownIds()).toEqual(["r3", "r2", "r1"]);
    expect(screen.getByTestId("history-count")).toHaveTextContent("3 runs");

    await user.selectOptions(screen.getByLabelText("Export"), "VIPs");
    expect(shownIds()).toEqual(["r2", "r1"]);
    await user.selectOptions(screen.getByLabelText("Status"), "Succeeded");
    expect(shownIds()).toEqual(["r1"]);
    expect(screen.getByTestId("history-count")).toHaveTextContent("1 of 3 runs");

    await user.selectOptions(screen.getByLabelText("Export"), "Buyers");
    expect(shownIds()).toEqual([]);
    await user.click(screen.getByRole("button", { name: "Show all runs" }));
    expect(shownIds()).toEqual(["r3", "r2", "r1"]);
  });

  it("shows a run's details and saves its rejects as CSV", async () => {
    const user = userEvent.setup();
    runSummary.mockResolvedValue({
      run: RUNS[1],
      rejects: [{ line: 4, identifier: "broken", code: "reject.recorded", params: { reason: "Not an email address" }, reason: "Not an email address" }],
      rejectsTotal: 1,
    });
    saveRejectsCsv.mockResolvedValue({ path: "/home/bob/rejects-r2.csv", rows: 1 });
    renderScreen();
    await screen.findByTestId("history-table");
    const row = screen.getAllByTestId("history-row")[1];
    await user.click(within(row).getByRole("button", { name: /Details/ }));

    const details = await screen.findByTestId("run-details");
    expect(runSummary).toHaveBeenCalledWith("r2");
    expect(within(details).getByTestId("details-trigger")).toHaveTextContent("Schedule");
    expect(within(details).getByTestId("details-who")).toHaveTextContent("bob");
    expect(within(details).getByTestId("count-matched")).toHaveAttribute("data-value", "9");
    expect(within(details).getByTestId("count-unchanged")).toHaveAttribute("data-value", "0");
    expect(within(details).getByTestId("count-removed")).toHaveAttribute("data-value", "2");
    expect(await within(details).findByTestId("rejects-table")).toHaveTextContent("Not an email address");

    await user.click(within(details).getByRole("button", { name: "Save rejects as CSV…" }));
    expect(saveRejectsCsv).toHaveBeenCalledWith("r2");
    expect(await within(details).findByTestId("save-rejects-result")).toHaveTextContent(
      "Saved 1 rejected row to rejects-r2.csv.",
    );

    await user.click(within(details).getByTestId("details-close"));
    expect(screen.queryByTestId("run-details")).toBeNull();
  });

  it("shows a failed run's error and says nothing when the save dialog is cancelled", async () => {
    const user = userEvent.setup();
    runSummary.mockResolvedValue({ run: RUNS[0], rejects: [], rejectsTotal: 0 });
    renderScreen();
    await screen.findByTestId("history-table");
    await user.click(within(screen.getAllByTestId("history-row")[0]).getByRole("button", { name: /Details/ }));
    const details = await screen.findByTestId("run-details");
    expect(within(details).getByTestId("details-error")).toHaveTextContent("The API key was rejected.");
    expect(await within(details).findByTestId("details-no-rejects")).toBeInTheDocument();
    expect(within(details).queryByRole("button", { name: "Save rejects as CSV…" })).toBeNull();
  });

  it("explains a held run (how many, which list, why) and a superseded run, not as errors", async () => {
    const user = userEvent.setup();
    const held = runView({
      id: "h1",
      status: "held",
      counts: { ...counts, removed: 0, held: 7 },
      error:
        "Removals held: 7 profile(s) that left the segment were not removed from the list XyZ123, because 7 of the 20 profile(s) sent to this list before would be removed — more than 10 % or 1000 (the export's limits). Check the source; to remove them, confirm the removal (in the app, or `segport-cli export run NAME --confirm-removals 7`).",
    });
    const superseded = runView({
      id: "s1",
      status: "superseded",
      error: "Superseded: not continued because the segment's filter changed.",
    });
    listRuns.mockResolvedValue([held, superseded]);
    runSummary.mockImplementation(async (id) => ({ run: id === "h1" ? held : superseded, rejects: [], rejectsTotal: 0 }));
    renderScreen();
    await screen.findByTestId("history-table");
    const [heldRow, supersededRow] = screen.getAllByTestId("history-row");
    expect(heldRow).toHaveTextContent("Removals held");
    expect(supersededRow).toHaveTextContent("Not continued");
    expect(within(screen.getByLabelText("Status")).getByRole("option", { name: "Removals held" })).toBeInTheDocument();

    await user.click(within(heldRow).getByRole("button", { name: /Details/ }));
    let details = await screen.findByTestId("run-details");
    expect(within(details).getByTestId("details-status")).toHaveAttribute("data-status", "held");
    expect(within(details).getByTestId("details-held")).toHaveTextContent(
      "7 profiles left the segment; their removal from the list XyZ123 is held because 7 of the 20 profile(s) sent to this list before would be removed — more than 10 % or 1000 (the export's limits).",
    );
    expect(within(details).getByTestId("details-held")).toHaveTextContent("Review removals…");
    expect(within(details).getByTestId("count-held")).toHaveAttribute("data-value", "7");
    expect(within(details).queryByTestId("details-error")).toBeNull();
    await user.click(within(details).getByTestId("details-close"));

    await user.click(within(supersededRow).getByRole("button", { name: /Details/ }));
    details = await screen.findByTestId("run-details");
    expect(within(details).getByTestId("details-status")).toHaveTextContent("Not continued");
    expect(within(details).getByTestId("details-superseded")).toHaveTextContent(
      "Superseded: not continued because the segment's filter changed.",
    );
    expect(within(details).queryByTestId("details-error")).toBeNull();
  });
});
