// The export form's mapping: what the editor holds (a draft) and the `Mapping` it sends.
//
// Pure functions only (no React, no IPC), so the rules are tested on their own:
// - a standard attribute mapped to "" is not sent (its key is left out of the Mapping);
// - custom properties are rows (name → column) in the editor and an object in the Mapping;
//   a row left completely blank is ignored, any other incomplete row is a validation error;
// - the default country is trimmed and upper-cased; blank = none.

import type { InvalidPhone, Mapping, MappingSuggestion } from "../../api";
import type { ListsAll } from "../../unions";

/**
 * The standard attributes the editor offers a column select for: the `Mapping` keys (generated
 * from Rust) that name a column, i.e. all but the three settings.
 */
export type ColumnKey = Exclude<keyof Mapping, "default_country" | "invalid_phone" | "properties">;

export interface FieldInfo {
  key: ColumnKey;
  label: string;
  hint?: string;
}

const MAIN = [
  { key: "email", label: "Email", hint: "Required: Klaviyo matches profiles by email address." },
  { key: "phone_number", label: "Phone number", hint: "Sent in international format (E.164)." },
  { key: "external_id", label: "External ID", hint: "Your own ID for the person. Never guessed: a wrong one merges profiles." },
  { key: "first_name", label: "First name" },
  { key: "last_name", label: "Last name" },
  { key: "organization", label: "Organization" },
  { key: "title", label: "Job title" },
] as const satisfies readonly FieldInfo[];

const MORE = [
  { key: "address1", label: "Address" },
  { key: "address2", label: "Address line 2" },
  { key: "city", label: "City" },
  { key: "region", label: "Region or state" },
  { key: "country", label: "Country" },
  { key: "zip", label: "ZIP or postal code" },
  { key: "timezone", label: "Time zone", hint: "An IANA name, e.g. Europe/Warsaw." },
  { key: "locale", label: "Locale", hint: "e.g. en-US." },
  { key: "image", label: "Image URL" },
  { key: "latitude", label: "Latitude", hint: "Decimal degrees, −90 to 90." },
  { key: "longitude", label: "Longitude", hint: "Decimal degrees, −180 to 180." },
  { key: "ip", label: "IP address" },
] as const satisfies readonly FieldInfo[];

// Every column attribute of the Rust `Mapping` has a field: one added there fails to compile
// here until it is offered.
true satisfies ListsAll<ColumnKey, (typeof MAIN)[number]["key"] | (typeof MORE)[number]["key"]>;

/** Shown first: who the person is. */
export const MAIN_FIELDS: readonly FieldInfo[] = MAIN;
/** Under "More attributes": where the person is, and the rarer ones. */
export const MORE_FIELDS: readonly FieldInfo[] = MORE;

export const COLUMN_KEYS: ColumnKey[] = [...MAIN_FIELDS, ...MORE_FIELDS].map((f) => f.key);

export interface PropertyRow {
  /** Stable key for React (rows are added and removed). */
  id: number;
  name: string;
  column: string;
}

export interface MappingDraft {
  /** Column name per attribute; "" = not sent. */
  columns: Record<ColumnKey, string>;
  defaultCountry: string;
  invalidPhone: InvalidPhone;
  properties: PropertyRow[];
}

let nextRowId = 1;

/** A fresh custom-property row (blank, or with the given name and column). */
export function newPropertyRow(name = "", column = ""): PropertyRow {
  return { id: nextRowId++, name, column };
}

function emptyColumns(): Record<ColumnKey, string> {
  return Object.fromEntries(COLUMN_KEYS.map((k) => [k, ""])) as Record<ColumnKey, string>;
}

export function emptyDraft(): MappingDraft {
  return { columns: emptyColumns(), defaultCountry: "", invalidPhone: "reject", properties: [] };
}

/** The editor's state for a saved (or suggested) mapping. */
export function draftFromMapping(mapping: Mapping): MappingDraft {
  const columns = emptyColumns();
  for (const key of COLUMN_KEYS) columns[key] = mapping[key] ?? "";
  return {
    columns,
    defaultCountry: mapping.default_country ?? "",
    invalidPhone: mapping.invalid_phone ?? "reject",
    properties: Object.entries(mapping.properties ?? {}).map(([name, column]) => newPropertyRow(name, column)),
  };
}

/**
 * A suggestion for a (new) segment: its standard attributes replace the draft's, and so does
 * the default country when the suggestion proposes one (the file's numbers need it); otherwise
 * the default country, the invalid-phone choice and the custom properties the user set are kept.
 */
export function applySuggestion(draft: MappingDraft, suggestion: MappingSuggestion): MappingDraft {
  const suggested = draftFromMapping(suggestion.mapping);
  return {
    ...draft,
    columns: suggested.columns,
    defaultCountry: suggested.defaultCountry || draft.defaultCountry,
  };
}

/**
 * The suggestion's hint for the phone field, while it still applies: a proposed default country
 * is explained while that country is still the one chosen; "phone not mapped: choose the
 * default country" is shown until a default country is chosen.
 */
export function phoneHint(draft: MappingDraft, suggestion: MappingSuggestion | null): string | null {
  if (!suggestion?.phoneHint) return null;
  const chosen = draft.defaultCountry.trim().toUpperCase();
  const proposed = suggestion.mapping.default_country ?? "";
  if (proposed) return chosen === proposed.toUpperCase() ? suggestion.phoneHint : null;
  return chosen === "" ? suggestion.phoneHint : null;
}

/** A property row that sends something: both a name and a column. */
function complete(row: PropertyRow): boolean {
  return row.name.trim() !== "" && row.column !== "";
}

/**
 * The Mapping the draft describes: unmapped attributes left out, incomplete property rows
 * left out (they are validation errors, see `validateMapping`), the invalid-phone choice
 * always explicit.
 */
export function mappingFromDraft(draft: MappingDraft): Mapping {
  const mapping: Mapping = { email: draft.columns.email };
  for (const key of COLUMN_KEYS) {
    if (key === "email") continue;
    const column = draft.columns[key];
    if (column) mapping[key] = column;
  }
  const country = draft.defaultCountry.trim().toUpperCase();
  if (country) mapping.default_country = country;
  mapping.invalid_phone = draft.invalidPhone;
  const properties: Record<string, string> = {};
  for (const row of draft.properties) {
    if (complete(row)) properties[row.name.trim()] = row.column;
  }
  if (Object.keys(properties).length > 0) mapping.properties = properties;
  return mapping;
}

export interface MappingErrors {
  /** Per attribute (e.g. the email column is missing, or a column is not in the file). */
  columns: Partial<Record<ColumnKey, string>>;
  defaultCountry?: string;
  /** Per property row id. */
  properties: Record<number, string>;
}

export function hasMappingErrors(errors: MappingErrors): boolean {
  return (
    Object.keys(errors.columns).length > 0 ||
    errors.defaultCountry !== undefined ||
    Object.keys(errors.properties).length > 0
  );
}

/**
 * What stops the draft from being saved. `columns` = the source's columns, or null when they
 * are not known (the file cannot be read now): then mapped columns are not checked.
 * `strict` = false leaves out what is merely not filled in yet (the email column, a property
 * row's missing name or column): the form shows those after a first attempt to save.
 */
export function validateMapping(draft: MappingDraft, columns: string[] | null, strict = true): MappingErrors {
  const errors: MappingErrors = { columns: {}, properties: {} };
  const missing = (column: string) => columns !== null && column !== "" && !columns.includes(column);
  if (strict && !draft.columns.email) {
    errors.columns.email = "Choose the column that holds the email addresses.";
  }
  for (const key of COLUMN_KEYS) {
    const column = draft.columns[key];
    if (missing(column)) errors.columns[key] = `Column “${column}” is not in the file: choose another one.`;
  }
  const country = draft.defaultCountry.trim();
  if (country && !/^[A-Za-z]{2}$/.test(country)) {
    errors.defaultCountry = "Use a two-letter country code, e.g. US, PL or DE.";
  }
  const seen = new Set<string>();
  for (const row of draft.properties) {
    const name = row.name.trim();
    if (name === "" && row.column === "") continue;
    if (name === "") {
      if (strict) errors.properties[row.id] = "Give the property a name.";
    } else if (seen.has(name)) {
      errors.properties[row.id] = `“${name}” is already used by another property: names must be unique.`;
    } else if (row.column === "") {
      if (strict) errors.properties[row.id] = "Choose the column it comes from.";
    } else if (missing(row.column)) {
      errors.properties[row.id] = `Column “${row.column}” is not in the file: choose another one.`;
    }
    if (name !== "") seen.add(name);
  }
  return errors;
}
