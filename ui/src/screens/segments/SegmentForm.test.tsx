import { act, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../../api";
import type { FilterRuleProblem, SegmentPreview } from "../../api";
import { segmentPreview, segmentView, sourceView } from "../../test/fixtures";
import { PREVIEW_DEBOUNCE_MS, RULE_CHECK_DEBOUNCE_MS, SegmentForm } from "./SegmentForm";

vi.mock("../../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api")>();
  return { ...actual, previewSegment: vi.fn(), saveSegment: vi.fn(), checkSegmentRules: vi.fn() };
});

const previewSegment = vi.mocked(api.previewSegment);
const saveSegment = vi.mocked(api.saveSegment);
const checkSegmentRules = vi.mocked(api.checkSegmentRules);

function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function advance(ms: number) {
  await act(async () => {
    vi.advanceTimersByTime(ms);
  });
}

function renderForm(props: Partial<Parameters<typeof SegmentForm>[0]> = {}) {
  const onSaved = vi.fn();
  render(
    <SegmentForm
      existing={null}
      sources={[sourceView(), sourceView({ id: "src-2", name: "leads.jsonl", kind: "jsonl", columns: [{ name: "mail", inferred: "email" }] })]}
      onSaved={onSaved}
      onCancel={vi.fn()}
      {...props}
    />,
  );
  return { onSaved };
}

function typeValue(value: string, index = 0) {
  fireEvent.change(screen.getAllByTestId("rule-value")[index], { target: { value } });
}

beforeEach(() => {
  vi.useFakeTimers();
  previewSegment.mockReset();
  saveSegment.mockReset();
  checkSegmentRules.mockReset();
  previewSegment.mockResolvedValue(segmentPreview());
  checkSegmentRules.mockResolvedValue([]);
});

afterEach(() => {
  vi.useRealTimers();
});

describe("live preview", () => {
  it("asks once, 300 ms after the last change, with the source and the filter", async () => {
    renderForm();
    expect(screen.getByTestId("segment-source")).toHaveValue("src-1");
    await advance(PREVIEW_DEBOUNCE_MS - 1);
    expect(previewSegment).not.toHaveBeenCalled();
    await advance(1);
    expect(previewSegment).toHaveBeenCalledTimes(1);
    expect(previewSegment).toHaveBeenLastCalledWith("src-1", null);

    fireEvent.click(screen.getByTestId("add-rule"));
    fireEvent.change(screen.getByTestId("rule-column"), { target: { value: "country" } });
    typeValue("P");
    await advance(100);
    typeValue("PL");
    await advance(PREVIEW_DEBOUNCE_MS - 1);
    expect(previewSegment).toHaveBeenCalledTimes(1);
    await advance(1);
    expect(previewSegment).toHaveBeenCalledTimes(2);
    expect(previewSegment).toHaveBeenLastCalledWith("src-1", {
      kind: "group",
      op: "and",
      rules: [{ kind: "rule", column: "country", cmp: "eq", value: "PL" }],
    });

    // Another source: asked again for that source.
    fireEvent.change(screen.getByTestId("segment-source"), { target: { value: "src-2" } });
    await advance(PREVIEW_DEBOUNCE_MS);
    expect(previewSegment).toHaveBeenLastCalledWith("src-2", expect.objectContaining({ kind: "group" }));
  });

  it("an incomplete rule does not ask again", async () => {
    renderForm();
    await advance(PREVIEW_DEBOUNCE_MS);
    expect(previewSegment).toHaveBeenCalledTimes(1);
    fireEvent.click(screen.getByTestId("add-rule"));
    await advance(PREVIEW_DEBOUNCE_MS * 3);
    expect(previewSegment).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId("segment-missing")).toHaveTextContent("the unfinished rule completed or removed");
  });

  it("shows a loading hint, then the count as 'N of M rows match' and the sample rows", async () => {
    const answer = deferred<SegmentPreview>();
    previewSegment.mockReturnValue(answer.promise);
    renderForm();
    expect(screen.getByTestId("segment-preview-loading")).toBeInTheDocument();
    await advance(PREVIEW_DEBOUNCE_MS);
    expect(screen.getByTestId("segment-preview-loading")).toBeInTheDocument();

    await act(async () =>
      answer.resolve(
        segmentPreview({
          total: 50000,
          matching: 1234,
          badRows: 2,
          sample: [
            ["ann@example.com", "PL", "3"],
            ["cid@example.com", "PL", "7"],
          ],
        }),
      ),
    );
    expect(screen.queryByTestId("segment-preview-loading")).toBeNull();
    const count = screen.getByTestId("segment-count");
    expect(count).toHaveTextContent("1,234 of 50,000 rows match");
    expect(count).toHaveAttribute("data-matching", "1234");
    expect(count).toHaveAttribute("data-total", "50000");
    expect(screen.getByTestId("segment-bad-rows")).toHaveTextContent("2 unreadable rows");
    const table = screen.getByTestId("segment-sample");
    expect(within(table).getAllByRole("columnheader").map((th) => th.textContent)).toEqual(["email", "country", "orders"]);
    expect(within(table).getAllByRole("row")).toHaveLength(3);
    expect(within(table).getByText("cid@example.com")).toBeInTheDocument();
  });

  it("ignores an answer to an older question", async () => {
    const first = deferred<SegmentPreview>();
    const second = deferred<SegmentPreview>();
    previewSegment.mockReturnValueOnce(first.promise).mockReturnValueOnce(second.promise);
    renderForm();
    await advance(PREVIEW_DEBOUNCE_MS);
    fireEvent.click(screen.getByTestId("add-rule"));
    fireEvent.change(screen.getByTestId("rule-cmp"), { target: { value: "isNotEmpty" } });
    await advance(PREVIEW_DEBOUNCE_MS);
    expect(previewSegment).toHaveBeenCalledTimes(2);

    await act(async () => second.resolve(segmentPreview({ total: 10, matching: 7 })));
    expect(screen.getByTestId("segment-count")).toHaveTextContent("7 of 10 rows match");
    // The first question's answer arrives late: it no longer counts.
    await act(async () => first.resolve(segmentPreview({ total: 10, matching: 10 })));
    expect(screen.getByTestId("segment-count")).toHaveTextContent("7 of 10 rows match");
    expect(screen.getByTestId("segment-count")).toHaveAttribute("data-matching", "7");
  });

  it("shows an error inline and keeps the edit", async () => {
    renderForm();
    await advance(PREVIEW_DEBOUNCE_MS);
    previewSegment.mockRejectedValueOnce(
      new api.AppError("filter.invalid", "the rule on `orders` is invalid: `<` needs one value"),
    );
    fireEvent.click(screen.getByTestId("add-rule"));
    fireEvent.change(screen.getByTestId("rule-column"), { target: { value: "orders" } });
    fireEvent.change(screen.getByTestId("rule-cmp"), { target: { value: "lt" } });
    typeValue("ten");
    await advance(PREVIEW_DEBOUNCE_MS);
    expect(screen.getByTestId("segment-error")).toHaveTextContent("`<` needs one value");
    expect(screen.queryByTestId("segment-count")).toBeNull();
    expect(screen.getByTestId("rule-value")).toHaveValue("ten");
    expect(screen.getByTestId("rule-cmp")).toHaveValue("lt");

    typeValue("10");
    await advance(PREVIEW_DEBOUNCE_MS);
    expect(screen.queryByTestId("segment-error")).toBeNull();
    expect(screen.getByTestId("segment-count")).toHaveTextContent("1 of 2 rows match");
  });
});

describe("values that do not fit their column", () => {
  const decimalComma: FilterRuleProblem = {
    column: "orders",
    cmp: "gt",
    value: "1,5",
    expected: "integer",
    message: "`orders` holds numbers, and “1,5” is not a number: the decimal separator is a dot — write 1.5.",
  };

  it("are shown beside the rule's value before anything is saved, and Save waits for a fix", async () => {
    checkSegmentRules.mockImplementation(async (_source, filter) =>
      JSON.stringify(filter).includes('"1,5"') ? [decimalComma] : [],
    );
    renderForm();
    fireEvent.change(screen.getByTestId("segment-name"), { target: { value: "Regulars" } });
    fireEvent.click(screen.getByTestId("add-rule"));
    fireEvent.change(screen.getByTestId("rule-column"), { target: { value: "orders" } });
    fireEvent.change(screen.getByTestId("rule-cmp"), { target: { value: "gt" } });
    typeValue("1,5");
    await advance(RULE_CHECK_DEBOUNCE_MS);
    expect(checkSegmentRules).toHaveBeenLastCalledWith("src-1", {
      kind: "group",
      op: "and",
      rules: [{ kind: "rule", column: "orders", cmp: "gt", value: "1,5" }],
    });
    const problem = screen.getByTestId("rule-type-problem");
    expect(problem).toHaveTextContent("the decimal separator is a dot — write 1.5");
    const input = screen.getByTestId("rule-value");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(input.getAttribute("aria-describedby")).toContain(problem.id);
    expect(screen.getByTestId("segment-save")).toBeDisabled();
    expect(screen.getByTestId("segment-missing")).toHaveTextContent("the value that does not fit its column corrected");
    expect(saveSegment).not.toHaveBeenCalled();

    // Fixed: the message goes at once (it was about "1,5"), the check agrees, Save is back.
    typeValue("1.5");
    expect(screen.queryByTestId("rule-type-problem")).toBeNull();
    await advance(RULE_CHECK_DEBOUNCE_MS);
    expect(screen.queryByTestId("rule-type-problem")).toBeNull();
    expect(screen.getByTestId("rule-value")).not.toHaveAttribute("aria-invalid");
    expect(screen.getByTestId("segment-save")).toBeEnabled();
  });

  it("a check that fails shows nothing (saving checks again)", async () => {
    checkSegmentRules.mockRejectedValue(new api.AppError("source.missing", "gone"));
    renderForm();
    fireEvent.change(screen.getByTestId("segment-name"), { target: { value: "Regulars" } });
    fireEvent.click(screen.getByTestId("add-rule"));
    fireEvent.change(screen.getByTestId("rule-column"), { target: { value: "orders" } });
    typeValue("abc");
    await advance(RULE_CHECK_DEBOUNCE_MS);
    expect(checkSegmentRules).toHaveBeenCalled();
    expect(screen.queryByTestId("rule-type-problem")).toBeNull();
    expect(screen.getByTestId("segment-save")).toBeEnabled();
  });
});

describe("saving", () => {
  it("saves the name, the source and the filter", async () => {
    const saved = segmentView({ name: "Big buyers" });
    saveSegment.mockResolvedValue(saved);
    const { onSaved } = renderForm();
    expect(screen.getByTestId("segment-save")).toBeDisabled();
    fireEvent.change(screen.getByTestId("segment-name"), { target: { value: " Big buyers " } });
    fireEvent.click(screen.getByTestId("add-rule"));
    fireEvent.change(screen.getByTestId("rule-column"), { target: { value: "orders" } });
    fireEvent.change(screen.getByTestId("rule-cmp"), { target: { value: "ge" } });
    typeValue("10");
    expect(screen.getByTestId("segment-sentence")).toHaveTextContent("Keeps rows where orders is at least “10”.");
    fireEvent.click(screen.getByTestId("segment-save"));
    await act(async () => {});
    expect(saveSegment).toHaveBeenCalledWith({
      id: null,
      name: "Big buyers",
      sourceId: "src-1",
      filter: { kind: "group", op: "and", rules: [{ kind: "rule", column: "orders", cmp: "ge", value: "10" }] },
    });
    expect(onSaved).toHaveBeenCalledWith(saved);
  });

  it("edits an existing segment: its rules are loaded, a refusal is shown", async () => {
    saveSegment.mockRejectedValue(new api.AppError("config.invalid", "unknown column `country`; the source has: `mail`"));
    renderForm({ existing: segmentView({ sourceId: "src-2" }) });
    expect(screen.getByTestId("segment-name")).toHaveValue("Polish buyers");
    expect(screen.getByTestId("segment-source")).toHaveValue("src-2");
    expect(screen.getByTestId("rule-column")).toHaveValue("country");
    expect(screen.getByTestId("rule-value")).toHaveValue("PL");
    fireEvent.click(screen.getByTestId("segment-save"));
    await act(async () => {});
    expect(saveSegment).toHaveBeenCalledWith(expect.objectContaining({ id: "seg-1", sourceId: "src-2" }));
    expect(screen.getByTestId("segment-save-error")).toHaveTextContent("unknown column `country`");
    expect(screen.getByTestId("rule-value")).toHaveValue("PL");
  });
});
