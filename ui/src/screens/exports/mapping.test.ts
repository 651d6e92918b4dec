import { describe, expect, it } from "vitest";
import {
  applySuggestion,
  draftFromMapping,
  emptyDraft,
  hasMappingErrors,
  mappingFromDraft,
  newPropertyRow,
  phoneHint,
  validateMapping,
} from "./mapping";

describe("mapping draft", () => {
  it("round-trips a saved mapping, standard attributes, phone options and properties included", () => {
    const saved = {
      email: "E-mail",
      phone_number: "Phone",
      first_name: "First",
      city: "City",
      default_country: "PL",
      invalid_phone: "omit" as const,
      properties: { plan: "Plan", "Loyalty tier": "Tier" },
    };
    expect(mappingFromDraft(draftFromMapping(saved))).toEqual(saved);
  });

  it("leaves unmapped attributes, blank property rows and blank country out; upper-cases the country", () => {
    const draft = emptyDraft();
    draft.columns.email = "mail";
    draft.columns.last_name = "";
    draft.defaultCountry = " de ";
    draft.properties = [newPropertyRow("", ""), newPropertyRow(" plan ", "Plan")];

    expect(mappingFromDraft(draft)).toEqual({
      email: "mail",
      default_country: "DE",
      invalid_phone: "reject",
      properties: { plan: "Plan" },
    });
  });

  it("sends no properties key when there is no complete row", () => {
    const draft = emptyDraft();
    draft.columns.email = "mail";
    draft.properties = [newPropertyRow("plan", "")];
    expect(mappingFromDraft(draft)).not.toHaveProperty("properties");
  });

  it("a suggestion replaces the standard attributes and keeps the user's phone options and properties", () => {
    const draft = draftFromMapping({
      email: "old",
      city: "Town",
      default_country: "US",
      invalid_phone: "omit",
      properties: { plan: "Plan" },
    });
    const next = mappingFromDraft(
      applySuggestion(draft, { mapping: { email: "E-mail", phone_number: "Phone" }, phoneHint: null }),
    );
    expect(next).toEqual({
      email: "E-mail",
      phone_number: "Phone",
      default_country: "US",
      invalid_phone: "omit",
      properties: { plan: "Plan" },
    });
  });
});

describe("the suggested phone default", () => {
  const proposed = {
    mapping: { email: "email", phone_number: "phone", default_country: "PL" },
    phoneHint: "Numbers without a country code (like “601 234 567”) are read as numbers of PL, the most common country in the column “country”.",
  };
  const unmapped = {
    mapping: { email: "email" },
    phoneHint: "Phone not mapped: “phone” has numbers without a country code (like “601 234 567”) — choose the default country, then the phone column.",
  };

  it("a proposed default country replaces the draft's; none keeps it", () => {
    const draft = emptyDraft();
    draft.defaultCountry = "US";
    expect(applySuggestion(draft, proposed).defaultCountry).toBe("PL");
    expect(applySuggestion(draft, unmapped).defaultCountry).toBe("US");
    expect(applySuggestion(draft, unmapped).columns.phone_number).toBe("");
  });

  it("the hint stays while it applies: the proposed country is kept, or no country is chosen yet", () => {
    const draft = applySuggestion(emptyDraft(), proposed);
    expect(phoneHint(draft, proposed)).toBe(proposed.phoneHint);
    expect(phoneHint({ ...draft, defaultCountry: " pl " }, proposed)).toBe(proposed.phoneHint);
    expect(phoneHint({ ...draft, defaultCountry: "DE" }, proposed)).toBeNull();

    const bare = applySuggestion(emptyDraft(), unmapped);
    expect(phoneHint(bare, unmapped)).toBe(unmapped.phoneHint);
    expect(phoneHint({ ...bare, columns: { ...bare.columns, phone_number: "phone" } }, unmapped)).toBe(unmapped.phoneHint);
    expect(phoneHint({ ...bare, defaultCountry: "PL" }, unmapped)).toBeNull();

    expect(phoneHint(bare, null)).toBeNull();
    expect(phoneHint(bare, { mapping: { email: "email" }, phoneHint: null })).toBeNull();
  });
});

describe("mapping validation", () => {
  const columns = ["E-mail", "Plan", "Tier"];

  it("requires the email column (only when strict)", () => {
    const draft = emptyDraft();
    expect(validateMapping(draft, columns).columns.email).toMatch(/email addresses/);
    expect(hasMappingErrors(validateMapping(draft, columns, false))).toBe(false);
  });

  it("property names must be unique and not empty, and need a column", () => {
    const draft = emptyDraft();
    draft.columns.email = "E-mail";
    const a = newPropertyRow("plan", "Plan");
    const b = newPropertyRow(" plan", "Tier");
    const c = newPropertyRow("", "Tier");
    const d = newPropertyRow("tier", "");
    const blank = newPropertyRow();
    draft.properties = [a, b, c, d, blank];

    const errors = validateMapping(draft, columns);
    expect(errors.properties[a.id]).toBeUndefined();
    expect(errors.properties[b.id]).toMatch(/already used.*unique/);
    expect(errors.properties[c.id]).toBe("Give the property a name.");
    expect(errors.properties[d.id]).toBe("Choose the column it comes from.");
    expect(errors.properties[blank.id]).toBeUndefined();

    const lenient = validateMapping(draft, columns, false);
    expect(Object.keys(lenient.properties)).toEqual([String(b.id)]);
  });

  it("flags columns the file no longer has, unless the columns are unknown", () => {
    const draft = draftFromMapping({ email: "E-mail", city: "Town", properties: { x: "Gone" } });
    const errors = validateMapping(draft, columns);
    expect(errors.columns.city).toMatch(/“Town” is not in the file/);
    expect(Object.values(errors.properties)[0]).toMatch(/“Gone” is not in the file/);
    expect(hasMappingErrors(validateMapping(draft, null))).toBe(false);
  });

  it("wants a two-letter default country", () => {
    const draft = emptyDraft();
    draft.columns.email = "E-mail";
    draft.defaultCountry = "POL";
    expect(validateMapping(draft, columns).defaultCountry).toMatch(/two-letter/);
    draft.defaultCountry = "pl";
    expect(validateMapping(draft, columns).defaultCountry).toBeUndefined();
  });
});
