import { describe, expect, it } from "vitest";
import { addRowSample, estimateRemaining, formatRemaining, handledRows, rowRate } from "./eta";

const counts = (matched: number) => ({
  read: matched,
  sent: matched,
  imported: 0,
  rejected: 0,
  failedInKlaviyo: 0,
  matched,
  unchanged: 0,
  removed: 0,
  held: 0,
});

describe("time left", () => {
  const samples = [
    { t: 0, rows: 100 },
    { t: 1000, rows: 200 },
  ];

  it("is the rows still to read at the current pace", () => {
    expect(rowRate(samples)).toBe(100);
    expect(estimateRemaining(1000, counts(200), "sending", samples)).toBe(8000);
    expect(formatRemaining(8000)).toBe("about 8 s left");
    expect(formatRemaining(185_000)).toBe("about 3 min 5 s left");
  });

  it("is not estimated without a total, a pace, or once every row is read", () => {
    expect(estimateRemaining(null, counts(200), "sending", samples)).toBeNull();
    expect(estimateRemaining(1000, counts(200), "sending", samples.slice(0, 1))).toBeNull();
    expect(estimateRemaining(200, counts(200), "sending", samples)).toBeNull();
    expect(estimateRemaining(1000, counts(200), "waiting", samples)).toBeNull();
    expect(estimateRemaining(1000, counts(200), "removing", samples)).toBeNull();
  });

  it("counts the rows handled, not the rows read ahead of the network", () => {
    const c = { ...counts(1000), sent: 100, rejected: 5, unchanged: 20 };
    expect(handledRows(c)).toBe(125);
    // 875 of 1000 rows still to handle at 100 rows/s.
    expect(estimateRemaining(1000, c, "sending", samples)).toBe(8750);
    expect(handledRows({ ...c, sent: 2000 })).toBe(1000);
  });

  it("keeps the last half minute of samples", () => {
    let s = [{ t: 0, rows: 0 }];
    s = addRowSample(s, { t: 40_000, rows: 10 });
    expect(s).toEqual([{ t: 40_000, rows: 10 }]);
    s = addRowSample(s, { t: 40_000, rows: 12 });
    expect(s).toEqual([{ t: 40_000, rows: 12 }]);
  });
});
