import { describe, expect, it } from "vitest";
import { addRowSample, estimateRemaining, formatRemaining, rowRate } from "./eta";

const counts = (matched: number) => ({
  read: matched,
  sent: 0,
  imported: 0,
  rejected: 0,
  failedInKlaviyo: 0,
  matched,
  unchanged: 0,
  removed: 0,
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

  it("keeps the last half minute of samples", () => {
    let s = [{ t: 0, rows: 0 }];
    s = addRowSample(s, { t: 40_000, rows: 10 });
    expect(s).toEqual([{ t: 40_000, rows: 10 }]);
    s = addRowSample(s, { t: 40_000, rows: 12 });
    expect(s).toEqual([{ t: 40_000, rows: 12 }]);
  });
});
