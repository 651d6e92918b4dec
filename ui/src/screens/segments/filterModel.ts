// The rule builder's model: a segment's `Filter` tree as editable rows, and back.
//
// Pure functions only (no React): the Segments screen keeps a `GroupRow` in state, edits it with
// `updateRow` / `addToGroup`, and sends `toFilter(root)` to the back end. Rules that are not
// complete yet (no column, no value) are left out of that filter, so the live preview counts
// what the finished rules keep while the user is still typing.

import type { Filter, FilterCmp, FilterGroupOp, FilterRuleProblem, FilterValue } from "../../api";
import { everyMember } from "../../unions";

/** One rule as the builder edits it: `value` is the text in the input (comma-separated for lists). */
export interface RuleRow {
  kind: "rule";
  id: string;
  column: string;
  cmp: FilterCmp;
  value: string;
  /** Keep the rows the rule does NOT match. */
  negated: boolean;
}

/** A group of rules: all of them (`and`) or any of them (`or`). */
export interface GroupRow {
  kind: "group";
  id: string;
  op: FilterGroupOp;
  negated: boolean;
  items: Row[];
}

export type Row = RuleRow | GroupRow;

/** What a comparison takes: nothing, one value, or a list of values. */
export type ValueKind = "none" | "text" | "list";

/** The comparisons in the order the builder offers them (every one the back end knows). */
export const CMP_ORDER = everyMember<FilterCmp>()([
  "eq",
  "ne",
  "contains",
  "notContains",
  "startsWith",
  "notStartsWith",
  "in",
  "notIn",
  "lt",
  "le",
  "gt",
  "ge",
  "isEmpty",
  "isNotEmpty",
]);

export const CMP_LABEL: Record<FilterCmp, string> = {
  eq: "is",
  ne: "is not",
  lt: "is less than",
  le: "is at most",
  gt: "is greater than",
  ge: "is at least",
  contains: "contains",
  notContains: "does not contain",
  startsWith: "starts with",
  notStartsWith: "does not start with",
  in: "is one of",
  notIn: "is not one of",
  isEmpty: "is empty",
  isNotEmpty: "is not empty",
};

export const OP_LABEL: Record<FilterGroupOp, string> = { and: "all of", or: "any of" };

export function valueKind(cmp: FilterCmp): ValueKind {
  if (cmp === "isEmpty" || cmp === "isNotEmpty") return "none";
  if (cmp === "in" || cmp === "notIn") return "list";
  return "text";
}

// ---- Rows ---------------------------------------------------------------------------------

let nextId = 0;

function freshId(prefix: string): string {
  nextId += 1;
  return `${prefix}${nextId}`;
}

export function newRule(column = "", cmp: FilterCmp = "eq", value = ""): RuleRow {
  return { kind: "rule", id: freshId("r"), column, cmp, value, negated: false };
}

export function newGroup(op: FilterGroupOp = "and", items: Row[] = []): GroupRow {
  return { kind: "group", id: freshId("g"), op, negated: false, items };
}

// ---- Lists ("is one of") ------------------------------------------------------------------

/**
 * The values of an "is one of" input: separated by commas, each trimmed, empty ones dropped.
 * A value that itself holds a comma is written in double quotes (`"Smith, J", Doe`); `""` inside
 * quotes is one quote.
 */
export function splitList(text: string): string[] {
  const items: string[] = [];
  let i = 0;
  const n = text.length;
  while (i <= n) {
    while (i < n && /\s/.test(text[i])) i += 1;
    let item = "";
    if (text[i] === '"') {
      i += 1;
      while (i < n) {
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            item += '"';
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        item += text[i];
        i += 1;
      }
      // Anything between the closing quote and the next comma belongs to the value too.
      while (i < n && text[i] !== ",") {
        item += text[i];
        i += 1;
      }
      item = item.trim();
    } else {
      while (i < n && text[i] !== ",") {
        item += text[i];
        i += 1;
      }
      item = item.trim();
    }
    if (item !== "") items.push(item);
    i += 1; // the comma
  }
  return items;
}

/** The input text for a list of values (the inverse of `splitList`). */
export function joinList(items: readonly string[]): string {
  return items
    .map((item) => (/[",]/.test(item) ? `"${item.replace(/"/g, '""')}"` : item))
    .join(", ");
}

// ---- Rows → Filter ------------------------------------------------------------------------

/** Why a rule cannot be used yet, or null when it is complete. */
export function ruleProblem(rule: RuleRow): string | null {
  if (!rule.column) return "Choose a column.";
  switch (valueKind(rule.cmp)) {
    case "none":
      return null;
    case "text":
      return rule.value.trim() === "" ? "Type a value." : null;
    case "list":
      return splitList(rule.value).length === 0 ? "Type one or more values, separated by commas." : null;
  }
}

function ruleFilter(rule: RuleRow): Filter | null {
  if (ruleProblem(rule) !== null) return null;
  const kind = valueKind(rule.cmp);
  const filter: Filter = {
    kind: "rule",
    column: rule.column,
    cmp: rule.cmp,
    value: kind === "none" ? null : kind === "list" ? splitList(rule.value) : rule.value,
  };
  return rule.negated ? { kind: "not", rule: filter } : filter;
}

function rowFilter(row: Row): Filter | null {
  if (row.kind === "rule") return ruleFilter(row);
  const rules = row.items.map(rowFilter).filter((f): f is Filter => f !== null);
  if (rules.length === 0) return null;
  const group: Filter = { kind: "group", op: row.op, rules };
  return row.negated ? { kind: "not", rule: group } : group;
}

/**
 * The filter the rows describe, leaving out incomplete rules and groups with no complete rule;
 * null when nothing is left (every row is kept). The top group stays a group even with one rule.
 */
export function toFilter(root: GroupRow): Filter | null {
  return rowFilter(root);
}

/** The rules that are not complete yet, in order (they are left out of `toFilter`). */
export function incompleteRules(root: GroupRow): RuleRow[] {
  const out: RuleRow[] = [];
  const walk = (row: Row) => {
    if (row.kind === "rule") {
      if (ruleProblem(row) !== null) out.push(row);
    } else {
      row.items.forEach(walk);
    }
  };
  walk(root);
  return out;
}

// ---- Values that do not fit their column ------------------------------------------------

/**
 * The back end's problem for this rule, if any: a problem names the rule by its column,
 * comparison and the value (for a list, the element) it sent, so it belongs to every rule that
 * sends exactly that — and to no rule once its value has been edited.
 */
export function problemFor(rule: RuleRow, problems: readonly FilterRuleProblem[]): FilterRuleProblem | null {
  if (ruleProblem(rule) !== null) return null;
  const kind = valueKind(rule.cmp);
  if (kind === "none") return null;
  const values = kind === "list" ? splitList(rule.value) : [rule.value];
  return (
    problems.find((p) => p.column === rule.column && p.cmp === rule.cmp && values.includes(p.value)) ?? null
  );
}

/** The rules that one of `problems` belongs to, in order. */
export function rulesWithProblems(root: GroupRow, problems: readonly FilterRuleProblem[]): RuleRow[] {
  if (problems.length === 0) return [];
  const out: RuleRow[] = [];
  const walk = (row: Row) => {
    if (row.kind === "rule") {
      if (problemFor(row, problems) !== null) out.push(row);
    } else {
      row.items.forEach(walk);
    }
  };
  walk(root);
  return out;
}

/** How many rules the rows hold (complete or not). */
export function countRules(root: GroupRow): number {
  return root.items.reduce((n, row) => n + (row.kind === "rule" ? 1 : countRules(row)), 0);
}

// ---- Filter → rows ------------------------------------------------------------------------

function valueText(value: FilterValue): string {
  if (value === null) return "";
  if (typeof value === "string") return value;
  return joinList(value);
}

function rowOf(filter: Filter, negated: boolean): Row {
  switch (filter.kind) {
    case "not":
      return rowOf(filter.rule, !negated);
    case "group": {
      const group = newGroup(filter.op, filter.rules.map((r) => rowOf(r, false)));
      group.negated = negated;
      return group;
    }
    case "rule": {
      const rule = newRule(filter.column, filter.cmp, valueText(filter.value));
      rule.negated = negated;
      return rule;
    }
  }
}

/**
 * Editable rows for a saved filter: always a top group ("Keep rows where all of / any of …").
 * A lone rule becomes the only rule of an "all of" group; `not` becomes the row's "not" box
 * (two nested `not`s cancel out).
 */
export function fromFilter(filter: Filter | null): GroupRow {
  if (filter === null) return newGroup("and");
  const row = rowOf(filter, false);
  return row.kind === "group" ? row : newGroup("and", [row]);
}

// ---- Editing ------------------------------------------------------------------------------

/**
 * The tree with the row `id` replaced by `edit(row)`, or removed when `edit` returns null.
 * The root itself is edited too (it cannot be removed).
 */
export function updateRow(root: GroupRow, id: string, edit: (row: Row) => Row | null): GroupRow {
  if (root.id === id) {
    const next = edit(root);
    return next && next.kind === "group" ? next : root;
  }
  const walk = (group: GroupRow): GroupRow => {
    let changed = false;
    const items: Row[] = [];
    for (const row of group.items) {
      if (row.id === id) {
        changed = true;
        const next = edit(row);
        if (next) items.push(next);
      } else if (row.kind === "group") {
        const next = walk(row);
        if (next !== row) changed = true;
        items.push(next);
      } else {
        items.push(row);
      }
    }
    return changed ? { ...group, items } : group;
  };
  return walk(root);
}

export function removeRow(root: GroupRow, id: string): GroupRow {
  return updateRow(root, id, () => null);
}

/** The tree with `row` added at the end of the group `groupId`. */
export function addToGroup(root: GroupRow, groupId: string, row: Row): GroupRow {
  return updateRow(root, groupId, (group) =>
    group.kind === "group" ? { ...group, items: [...group.items, row] } : group,
  );
}

/** A rule with another comparison; the typed value is kept (hidden while it takes none). */
export function withCmp(rule: RuleRow, cmp: FilterCmp): RuleRow {
  return { ...rule, cmp };
}

// ---- Sentences ----------------------------------------------------------------------------

function quote(text: string): string {
  return `“${text}”`;
}

function ruleSentence(f: Extract<Filter, { kind: "rule" }>): string {
  const head = `${f.column} ${CMP_LABEL[f.cmp]}`;
  const value = f.value;
  if (valueKind(f.cmp) === "none" || value === null) return head;
  if (typeof value === "string") return `${head} ${quote(value)}`;
  if (value.length === 0) return `${head} (no values)`;
  if (value.length === 1) return `${head} ${quote(value[0])}`;
  return `${head} ${value.slice(0, -1).map(quote).join(", ")} or ${quote(value[value.length - 1])}`;
}

function sentence(f: Filter, nested: boolean): string {
  switch (f.kind) {
    case "rule":
      return ruleSentence(f);
    case "not":
      return `not (${sentence(f.rule, false)})`;
    case "group": {
      if (f.rules.length === 0) return f.op === "and" ? "every row" : "no row";
      if (f.rules.length === 1) return sentence(f.rules[0], nested);
      const text = f.rules.map((r) => sentence(r, true)).join(f.op === "and" ? " and " : " or ");
      return nested ? `(${text})` : text;
    }
  }
}

/** The filter as plain words, e.g. `country is “PL” and (orders is greater than “3” or vip is not empty)`. */
export function summarizeFilter(filter: Filter | null): string {
  return filter === null ? "every row" : sentence(filter, false);
}

/** The sentence the segment list shows: "Keeps every row." / "Keeps rows where …". */
export function describeFilter(filter: Filter | null): string {
  if (filter === null || (filter.kind === "group" && filter.op === "and" && filter.rules.length === 0)) {
    return "Keeps every row.";
  }
  return `Keeps rows where ${summarizeFilter(filter)}.`;
}
