import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../../api";
import { ErrorProvider } from "../../errors";
import { segmentPreview, segmentView, sourceView } from "../../test/fixtures";
import { SegmentsScreen } from "./SegmentsScreen";

vi.mock("../../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api")>();
  return {
    ...actual,
    listSegments: vi.fn(),
    listSources: vi.fn(),
    deleteSegment: vi.fn(),
    saveSegment: vi.fn(),
    previewSegment: vi.fn(),
  };
});

const listSegments = vi.mocked(api.listSegments);
const listSources = vi.mocked(api.listSources);
const deleteSegment = vi.mocked(api.deleteSegment);
const saveSegment = vi.mocked(api.saveSegment);

function renderScreen(onGoToSources = vi.fn()) {
  render(
    <ErrorProvider>
      <SegmentsScreen onGoToSources={onGoToSources} />
    </ErrorProvider>,
  );
  return { onGoToSources };
}

beforeEach(() => {
  listSegments.mockReset();
  listSources.mockReset();
  deleteSegment.mockReset();
  saveSegment.mockReset();
  vi.mocked(api.previewSegment).mockResolvedValue(segmentPreview());
  listSources.mockResolvedValue([sourceView()]);
  listSegments.mockResolvedValue([
    segmentView({
      exports: ["Weekly PL"],
      filter: {
        kind: "group",
        op: "and",
        rules: [
          { kind: "rule", column: "country", cmp: "in", value: ["PL", "CZ"] },
          { kind: "rule", column: "orders", cmp: "gt", value: "3" },
        ],
      },
      filterText: 'country in ["PL", "CZ"] and orders > 3',
    }),
    segmentView({ id: "seg-2", name: "Everyone", filter: null, filterText: null }),
  ]);
});

describe("segments list", () => {
  it("shows each segment's name, source, a summary of its rules and its exports", async () => {
    renderScreen();
    const [first, second] = await screen.findAllByTestId("segment-row");
    expect(first).toHaveAttribute("data-name", "Polish buyers");
    expect(within(first).getByTestId("segment-summary")).toHaveTextContent(
      "Keeps rows where country is one of “PL” or “CZ” and orders is greater than “3”.",
    );
    expect(within(first).getByTestId("segment-source-name")).toHaveTextContent("customers.csv");
    expect(within(first).getByTestId("segment-exports")).toHaveTextContent("Weekly PL");
    expect(within(second).getByTestId("segment-summary")).toHaveTextContent("Keeps every row.");
    expect(within(second).getByTestId("segment-exports")).toHaveTextContent("No export sends it yet");
  });

  it("without sources, points to the Sources tab", async () => {
    listSegments.mockResolvedValue([]);
    listSources.mockResolvedValue([]);
    const { onGoToSources } = renderScreen();
    expect(await screen.findByTestId("segments-empty")).toHaveTextContent("First add a source");
    expect(screen.getByTestId("new-segment")).toBeDisabled();
    await userEvent.click(screen.getByTestId("go-to-sources"));
    expect(onGoToSources).toHaveBeenCalled();
  });

  it("remove asks for confirmation, and a refusal is shown with its message", async () => {
    deleteSegment.mockRejectedValueOnce(
      new api.AppError("config.invalid", 'Segment: "Polish buyers" is sent by the export(s) "Weekly PL". Remove them first, or choose another segment in them.'),
    );
    renderScreen();
    const [first] = await screen.findAllByTestId("segment-row");
    await userEvent.click(within(first).getByTestId("segment-delete"));
    expect(deleteSegment).not.toHaveBeenCalled();
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("Exports send it (Weekly PL)");
    await userEvent.click(screen.getByTestId("confirm-ok"));
    expect(deleteSegment).toHaveBeenCalledWith("seg-1");
    expect(await within(first).findByTestId("segment-row-error")).toHaveTextContent('is sent by the export(s) "Weekly PL"');

    deleteSegment.mockResolvedValueOnce(undefined);
    const second = screen.getAllByTestId("segment-row")[1];
    listSegments.mockResolvedValue([segmentView()]);
    await userEvent.click(within(second).getByTestId("segment-delete"));
    await userEvent.click(screen.getByTestId("confirm-ok"));
    expect(deleteSegment).toHaveBeenLastCalledWith("seg-2");
    expect(await screen.findByTestId("segment-saved")).toHaveTextContent("Removed “Everyone”.");
  });

  it("edits a segment and returns to the list with a notice", async () => {
    saveSegment.mockResolvedValue(segmentView({ name: "Polish buyers" }));
    renderScreen();
    const [first] = await screen.findAllByTestId("segment-row");
    await userEvent.click(within(first).getByTestId("segment-edit"));
    const form = screen.getByTestId("segment-form");
    expect(within(form).getAllByTestId("rule")).toHaveLength(2);
    expect(within(form).getAllByTestId("rule-value")[0]).toHaveValue("PL, CZ");
    await userEvent.click(within(form).getAllByTestId("rule-remove")[1]);
    await userEvent.click(within(form).getByTestId("segment-save"));
    expect(saveSegment).toHaveBeenCalledWith({
      id: "seg-1",
      name: "Polish buyers",
      sourceId: "src-1",
      filter: {
        kind: "group",
        op: "and",
        rules: [{ kind: "rule", column: "country", cmp: "in", value: ["PL", "CZ"] }],
      },
    });
    expect(await screen.findByTestId("segment-saved")).toHaveTextContent("Saved “Polish buyers”.");
    expect(screen.queryByTestId("segment-form")).toBeNull();
  });

  it("Cancel leaves the form without saving", async () => {
    renderScreen();
    await userEvent.click(await screen.findByTestId("new-segment"));
    expect(screen.getByTestId("segment-form")).toBeInTheDocument();
    await userEvent.click(screen.getByTestId("segment-cancel"));
    expect(screen.queryByTestId("segment-form")).toBeNull();
    expect(saveSegment).not.toHaveBeenCalled();
  });
});
