import { describe, expect, it } from "vitest";
import {
  DEFAULT_GUARD,
  draftFromGuard,
  guardFromDraft,
  heldList,
  heldReason,
  heldSentence,
  profiles,
  validateGuard,
} from "./removals";

const HELD =
  "Removals held: 3 profile(s) that left the segment were not removed from the list AbC123, because 2 row(s) of the source could not be read, so their profiles would be removed as if they had left; and the source changed while it was read (size 10 → 12 bytes). Check the source; to remove them, confirm the removal (in the app, or `segport-cli export run NAME --confirm-removals 3`).";

describe("removal guard draft", () => {
  it("starts from the export's guard, or the back end's defaults", () => {
    expect(draftFromGuard(undefined)).toEqual({ percent: "10", count: "1000" });
    expect(draftFromGuard({ maxPercent: 0, maxCount: 25 })).toEqual({ percent: "0", count: "25" });
    expect(DEFAULT_GUARD).toEqual({ maxPercent: 10, maxCount: 1000 });
  });

  it("accepts whole numbers: 0–100 percent, 0 or more profiles", () => {
    expect(validateGuard({ percent: "0", count: "0" })).toEqual({ percent: null, count: null });
    expect(guardFromDraft({ percent: " 100 ", count: "5000000" })).toEqual({ maxPercent: 100, maxCount: 5_000_000 });
    for (const percent of ["101", "-1", "", "2.5", "abc"]) {
      expect(validateGuard({ percent, count: "1" }).percent).toBe("Enter a whole number from 0 to 100.");
    }
    for (const count of ["-1", "", "1.5", "1e3"]) {
      expect(validateGuard({ percent: "1", count }).count).toBe("Enter a whole number, 0 or more.");
    }
    expect(guardFromDraft({ percent: "200", count: "1" })).toBeNull();
  });
});

describe("held removals", () => {
  it("quote the run's reason and its list", () => {
    expect(heldReason(HELD)).toBe(
      "2 row(s) of the source could not be read, so their profiles would be removed as if they had left; and the source changed while it was read (size 10 → 12 bytes)",
    );
    expect(heldList(HELD)).toBe("AbC123");
    expect(heldSentence(3, "Newsletter", HELD)).toBe(
      `3 profiles left the segment; their removal from the list Newsletter is held because ${heldReason(HELD)}.`,
    );
  });

  it("speak of one profile in the singular", () => {
    expect(profiles(1)).toBe("1 profile");
    expect(profiles(1234)).toBe(`${(1234).toLocaleString()} profiles`);
    expect(heldSentence(1, "AbC123", null)).toBe("1 profile left the segment; its removal from the list AbC123 is held.");
  });

  it("do without a reason when the text has another shape", () => {
    expect(heldReason("Something odd.")).toBeNull();
    expect(heldReason(null)).toBeNull();
    expect(heldList("Something odd.")).toBeNull();
    expect(heldReason("Held because the list shrank.")).toBe("the list shrank");
  });
});
