import { describe, expect, it } from "vitest";
import { addSample, currentRate, formatRate, rateSeries, sparklinePoints, type Sample } from "./throughput";

function samples(points: [number, number][]): Sample[] {
  return points.reduce<Sample[]>((acc, [t, sent]) => addSample(acc, { t, sent }), []);
}

describe("throughput", () => {
  it("has no rate until two samples a moment apart", () => {
    expect(currentRate([])).toBeNull();
    expect(currentRate(samples([[1000, 10]]))).toBeNull();
  });

  it("measures profiles per second over the last seconds", () => {
    // 100/s for 10 s, then 1000/s for the last 5 s.
    const s = samples([
      [0, 0],
      [5_000, 500],
      [10_000, 1_000],
      [15_000, 6_000],
    ]);
    expect(currentRate(s, 5_000)).toBe(1_000);
    expect(currentRate(s, 15_000)).toBe(400);
  });

  it("keeps only recent samples and replaces a sample of the same instant", () => {
    let s = samples([
      [0, 0],
      [1_000, 10],
    ]);
    s = addSample(s, { t: 1_000, sent: 20 });
    expect(s).toEqual([
      { t: 0, sent: 0 },
      { t: 1_000, sent: 20 },
    ]);
    s = addSample(s, { t: 200_000, sent: 30 }, 120_000);
    expect(s).toEqual([{ t: 200_000, sent: 30 }]);
  });

  it("buckets the rate per second for the sparkline", () => {
    const s = samples([
      [0, 0],
      [1_000, 100],
      [2_000, 300],
      [3_000, 300],
    ]);
    expect(rateSeries(s)).toEqual([100, 200, 0]);
    const points = sparklinePoints([100, 200, 0], 100, 20).split(" ");
    expect(points).toHaveLength(3);
    expect(points[1]).toBe("50.0,1.0");
    expect(points[2]).toBe("100.0,19.0");
  });

  it("formats the rate", () => {
    expect(formatRate(0.42)).toBe("0.4 profiles/s");
    expect(formatRate(850.4)).toBe("850 profiles/s");
  });
});
