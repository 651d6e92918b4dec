import { describe, expect, it } from "vitest";
import type { Filter } from "../../api";
import {
  addToGroup,
  describeFilter,
  fromFilter,
  incompleteRules,
  joinList,
  newGroup,
  newRule,
  removeRow,
  splitList,
  summarizeFilter,
  toFilter,
  updateRow,
  withCmp,
  type GroupRow,
  type RuleRow,
} from "./filterModel";

function rule(column: string, cmp: RuleRow["cmp"], value: string, negated = false): RuleRow {
  return { ...newRule(column, cmp, value), negated };
}

describe("rows → Filter", () => {
  it("no rules keeps every row (null)", () => {
    expect(toFilter(newGroup("and"))).toBeNull();
    expect(toFilter(newGroup("or"))).toBeNull();
  });

  it("a top group stays a group even with one rule", () => {
    expect(toFilter(newGroup("and", [rule("country", "eq", "PL")]))).toEqual({
      kind: "group",
      op: "and",
      rules: [{ kind: "rule", column: "country", cmp: "eq", value: "PL" }],
    });
  });

  it("builds nested groups, negations and each kind of value", () => {
    const root = newGroup("or", [
      rule("country", "in", "PL, DE ,, FR"),
      newGroup("and", [rule("email", "isNotEmpty", "leftover"), rule("orders", "gt", "3", true)]),
    ]);
    expect(toFilter(root)).toEqual<Filter>({
      kind: "group",
      op: "or",
      rules: [
        { kind: "rule", column: "country", cmp: "in", value: ["PL", "DE", "FR"] },
        {
          kind: "group",
          op: "and",
          rules: [
            { kind: "rule", column: "email", cmp: "isNotEmpty", value: null },
            { kind: "not", rule: { kind: "rule", column: "orders", cmp: "gt", value: "3" } },
          ],
        },
      ],
    });
  });

  it("leaves out incomplete rules and groups left empty, and lists the incomplete ones", () => {
    const noColumn = rule("", "eq", "x");
    const noValue = rule("city", "contains", "   ");
    const noList = rule("country", "notIn", " , ");
    const root = newGroup("and", [noColumn, rule("vip", "isEmpty", ""), newGroup("or", [noValue, noList])]);
    expect(toFilter(root)).toEqual({
      kind: "group",
      op: "and",
      rules: [{ kind: "rule", column: "vip", cmp: "isEmpty", value: null }],
    });
    expect(incompleteRules(root).map((r) => r.id)).toEqual([noColumn.id, noValue.id, noList.id]);
    expect(toFilter(newGroup("and", [noValue]))).toBeNull();
  });

  it("keeps a text value as typed (spaces inside included)", () => {
    expect(toFilter(newGroup("and", [rule("name", "contains", " van ")]))).toEqual({
      kind: "group",
      op: "and",
      rules: [{ kind: "rule", column: "name", cmp: "contains", value: " van " }],
    });
  });

  it("a group's not box wraps the group", () => {
    const group = { ...newGroup("or", [rule("a", "eq", "1"), rule("b", "eq", "2")]), negated: true };
    expect(toFilter(newGroup("and", [group]))).toEqual({
      kind: "group",
      op: "and",
      rules: [
        {
          kind: "not",
          rule: {
            kind: "group",
            op: "or",
            rules: [
              { kind: "rule", column: "a", cmp: "eq", value: "1" },
              { kind: "rule", column: "b", cmp: "eq", value: "2" },
            ],
          },
        },
      ],
    });
  });
});

describe("editing the rows", () => {
  it("adds, changes and removes rules and groups", () => {
    let root: GroupRow = newGroup("and");
    const first = newRule("country");
    root = addToGroup(root, root.id, first);
    root = updateRow(root, first.id, (r) => ({ ...r, value: "PL" }) as RuleRow);
    const group = newGroup("or");
    root = addToGroup(root, root.id, group);
    const inner1 = newRule("city", "eq", "Kraków");
    const inner2 = newRule("city", "startsWith", "War");
    root = addToGroup(root, group.id, inner1);
    root = addToGroup(root, group.id, inner2);
    expect(toFilter(root)).toEqual({
      kind: "group",
      op: "and",
      rules: [
        { kind: "rule", column: "country", cmp: "eq", value: "PL" },
        {
          kind: "group",
          op: "or",
          rules: [
            { kind: "rule", column: "city", cmp: "eq", value: "Kraków" },
            { kind: "rule", column: "city", cmp: "startsWith", value: "War" },
          ],
        },
      ],
    });

    root = removeRow(root, inner1.id);
    root = updateRow(root, root.id, (g) => ({ ...g, op: "or" }) as GroupRow);
    expect(toFilter(root)).toEqual({
      kind: "group",
      op: "or",
      rules: [
        { kind: "rule", column: "country", cmp: "eq", value: "PL" },
        { kind: "group", op: "or", rules: [{ kind: "rule", column: "city", cmp: "startsWith", value: "War" }] },
      ],
    });

    root = removeRow(root, group.id);
    root = removeRow(root, first.id);
    expect(root.items).toEqual([]);
    expect(toFilter(root)).toBeNull();
  });

  it("edits leave the other rows untouched (same objects)", () => {
    const a = newRule("a", "eq", "1");
    const b = newRule("b", "eq", "2");
    const inner = newGroup("and", [b]);
    const root = newGroup("and", [a, inner]);
    const next = updateRow(root, a.id, (r) => ({ ...r, value: "9" }) as RuleRow);
    expect(next).not.toBe(root);
    expect(next.items[1]).toBe(inner);
    expect(updateRow(root, "nope", () => null)).toBe(root);
  });

  it("switching to 'is empty' sends null but keeps the typed value for switching back", () => {
    const r = rule("city", "eq", "Kraków");
    const empty = withCmp(r, "isEmpty");
    expect(toFilter(newGroup("and", [empty]))).toEqual({
      kind: "group",
      op: "and",
      rules: [{ kind: "rule", column: "city", cmp: "isEmpty", value: null }],
    });
    expect(withCmp(empty, "eq").value).toBe("Kraków");
  });
});

describe("Filter → rows", () => {
  it("round-trips a nested filter", () => {
    const filter: Filter = {
      kind: "group",
      op: "or",
      rules: [
        { kind: "rule", column: "country", cmp: "notIn", value: ["PL", "Smith, J", 'say "hi"'] },
        { kind: "not", rule: { kind: "rule", column: "email", cmp: "isEmpty", value: null } },
        {
          kind: "not",
          rule: { kind: "group", op: "and", rules: [{ kind: "rule", column: "orders", cmp: "ge", value: "3" }] },
        },
      ],
    };
    const root = fromFilter(filter);
    expect(root.op).toBe("or");
    expect(root.items[0]).toMatchObject({ kind: "rule", value: 'PL, "Smith, J", "say ""hi"""' });
    expect(root.items[1]).toMatchObject({ kind: "rule", cmp: "isEmpty", value: "", negated: true });
    expect(root.items[2]).toMatchObject({ kind: "group", negated: true });
    expect(toFilter(root)).toEqual(filter);
  });

  it("wraps a lone rule in an 'all of' group and cancels double negation", () => {
    const root = fromFilter({ kind: "not", rule: { kind: "not", rule: { kind: "rule", column: "a", cmp: "eq", value: "1" } } });
    expect(root).toMatchObject({ op: "and", negated: false, items: [{ kind: "rule", column: "a", negated: false }] });
    expect(fromFilter(null).items).toEqual([]);
  });

  it("a negated top group becomes the top group's not box", () => {
    const root = fromFilter({
      kind: "not",
      rule: { kind: "group", op: "or", rules: [{ kind: "rule", column: "a", cmp: "eq", value: "1" }] },
    });
    expect(root).toMatchObject({ op: "or", negated: true });
  });
});

describe("is one of: values separated by commas", () => {
  it("splits, trims and drops empty values", () => {
    expect(splitList("PL, DE ,FR,, ")).toEqual(["PL", "DE", "FR"]);
    expect(splitList("")).toEqual([]);
    expect(splitList(" , ,")).toEqual([]);
    expect(splitList("single")).toEqual(["single"]);
  });

  it("a quoted value may hold commas and quotes", () => {
    expect(splitList('"Smith, J", Doe, "say ""hi"""')).toEqual(["Smith, J", "Doe", 'say "hi"']);
    expect(joinList(["Smith, J", "Doe", 'say "hi"'])).toBe('"Smith, J", Doe, "say ""hi"""');
    expect(splitList(joinList(["a", " b ", "c,d"]))).toEqual(["a", "b", "c,d"]);
  });
});

describe("sentences", () => {
  it("says every row for no filter", () => {
    expect(describeFilter(null)).toBe("Keeps every row.");
    expect(describeFilter({ kind: "group", op: "and", rules: [] })).toBe("Keeps every row.");
  });

  it("describes rules with human labels, lists and nested groups", () => {
    const filter: Filter = {
      kind: "group",
      op: "and",
      rules: [
        { kind: "rule", column: "country", cmp: "in", value: ["PL", "DE", "FR"] },
        {
          kind: "group",
          op: "or",
          rules: [
            { kind: "rule", column: "orders", cmp: "gt", value: "3" },
            { kind: "rule", column: "vip", cmp: "isNotEmpty", value: null },
          ],
        },
      ],
    };
    expect(describeFilter(filter)).toBe(
      "Keeps rows where country is one of “PL”, “DE” or “FR” and (orders is greater than “3” or vip is not empty).",
    );
    expect(summarizeFilter({ kind: "not", rule: { kind: "rule", column: "city", cmp: "startsWith", value: "War" } })).toBe(
      "not (city starts with “War”)",
    );
    expect(summarizeFilter({ kind: "group", op: "or", rules: [{ kind: "rule", column: "a", cmp: "eq", value: "1" }] })).toBe(
      "a is “1”",
    );
  });
});
