import { describe, expect, it } from "vitest";
import { formatDateTime } from "../../format";
import { describeSchedule, draftFromSchedule, scheduleFromDraft, shortTime, validateSchedule } from "./schedule";

describe("schedule draft", () => {
  it("becomes the Schedule the back end expects (daily times with seconds)", () => {
    expect(scheduleFromDraft({ kind: "manual", hours: "x", at: "" })).toEqual({ kind: "manual" });
    expect(scheduleFromDraft({ kind: "every", hours: " 6 ", at: "" })).toEqual({ kind: "every", hours: 6 });
    expect(scheduleFromDraft({ kind: "daily", hours: "", at: "09:30" })).toEqual({ kind: "daily", at: "09:30:00" });
  });

  it("accepts 1 to 720 whole hours only", () => {
    for (const hours of ["1", "720"]) expect(validateSchedule({ kind: "every", hours, at: "" })).toBeNull();
    for (const hours of ["0", "721", "", "2.5", "-3", "six"]) {
      expect(validateSchedule({ kind: "every", hours, at: "" })).toMatch(/1 to 720/);
      expect(scheduleFromDraft({ kind: "every", hours, at: "" })).toBeNull();
    }
  });

  it("wants HH:MM for a daily time", () => {
    expect(validateSchedule({ kind: "daily", hours: "", at: "23:59" })).toBeNull();
    for (const at of ["", "24:00", "9:30", "09:60"]) {
      expect(validateSchedule({ kind: "daily", hours: "", at })).toMatch(/HH:MM/);
    }
  });

  it("is filled from a saved schedule", () => {
    expect(draftFromSchedule({ kind: "daily", at: "07:05:00" })).toMatchObject({ kind: "daily", at: "07:05" });
    expect(draftFromSchedule({ kind: "every", hours: 12 })).toMatchObject({ kind: "every", hours: "12" });
    expect(draftFromSchedule({ kind: "manual" }).kind).toBe("manual");
    expect(shortTime("9:05:00")).toBe("09:05");
  });
});

describe("schedule description", () => {
  it("reads Manual, Every N h or Daily at HH:MM, with the next run in local time", () => {
    const next = "2025-03-04T08:30:00Z";
    expect(describeSchedule({ kind: "manual" }, null)).toBe("Manual");
    expect(describeSchedule({ kind: "every", hours: 6 }, next)).toBe(`Every 6 h · next ${formatDateTime(next)}`);
    expect(describeSchedule({ kind: "daily", at: "09:30:00" }, next)).toBe(`Daily at 09:30 · next ${formatDateTime(next)}`);
    expect(describeSchedule({ kind: "daily", at: "09:30:00" }, null)).toBe("Daily at 09:30");
  });
});
