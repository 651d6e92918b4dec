import { describe, expect, it } from "vitest";
import { exportsInRuns, filterRuns, NO_FILTER, statusesInRuns } from "./history";
import { runView } from "../../test/fixtures";

const runs = [
  runView({ id: "r4", exportId: "b", exportName: "Buyers", status: "failed" }),
  runView({ id: "r3", exportId: "a", exportName: "VIPs", status: "partial" }),
  runView({ id: "r2", exportId: "b", exportName: "Buyers", status: "succeeded" }),
  runView({ id: "r1", exportId: "a", exportName: "VIPs", status: "succeeded" }),
];

describe("history filter", () => {
  it("keeps every run, in order, without a filter", () => {
    expect(filterRuns(runs, NO_FILTER).map((r) => r.id)).toEqual(["r4", "r3", "r2", "r1"]);
  });

  it("filters by export, by status, and by both", () => {
    expect(filterRuns(runs, { exportId: "a", status: null }).map((r) => r.id)).toEqual(["r3", "r1"]);
    expect(filterRuns(runs, { exportId: null, status: "succeeded" }).map((r) => r.id)).toEqual(["r2", "r1"]);
    expect(filterRuns(runs, { exportId: "b", status: "succeeded" }).map((r) => r.id)).toEqual(["r2"]);
    expect(filterRuns(runs, { exportId: "b", status: "partial" })).toEqual([]);
  });

  it("offers each export once, by name, and only the statuses present", () => {
    expect(exportsInRuns(runs)).toEqual([
      { id: "b", name: "Buyers" },
      { id: "a", name: "VIPs" },
    ]);
    expect(statusesInRuns(runs)).toEqual(["succeeded", "partial", "failed"]);
  });

  it("offers held and superseded runs in the status filter, each in its place", () => {
    const more = [
      runView({ id: "r7", status: "superseded" }),
      runView({ id: "r6", status: "held" }),
      runView({ id: "r5", status: "interrupted" }),
      ...runs,
    ];
    expect(statusesInRuns(more)).toEqual(["succeeded", "partial", "held", "failed", "interrupted", "superseded"]);
    expect(filterRuns(more, { exportId: null, status: "held" }).map((r) => r.id)).toEqual(["r6"]);
  });
});
