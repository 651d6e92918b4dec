import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useEffect, useState } from "react";
import { describe, expect, it } from "vitest";
import type { Filter, FilterRuleProblem, SourceColumn } from "../../api";
import { fromFilter, newGroup, newRule, toFilter, type GroupRow } from "./filterModel";
import { RuleBuilder } from "./RuleBuilder";

const COLUMNS: SourceColumn[] = [
  { name: "email", inferred: "email" },
  { name: "country", inferred: "text" },
  { name: "orders", inferred: "integer" },
];

/** Renders the builder over its own state and exposes the filter it describes. */
function renderBuilder(initial: GroupRow = newGroup("and"), problems: FilterRuleProblem[] = []) {
  const result: { filter: Filter | null; root: GroupRow | null } = { filter: null, root: null };
  function Harness() {
    const [root, setRoot] = useState(initial);
    useEffect(() => {
      result.root = root;
      result.filter = toFilter(root);
    }, [root]);
    return <RuleBuilder root={root} onChange={setRoot} columns={COLUMNS} problems={problems} />;
  }
  render(<Harness />);
  return result;
}

const rules = () => screen.getAllByTestId("rule");
const topGroup = () => screen.getAllByTestId("rule-group")[0];
const nestedGroups = () => screen.getAllByTestId("rule-group").slice(1);

/** The "add rule" button of `group` itself (not of a group inside it). */
function ownButton(group: HTMLElement, testId: string): HTMLElement {
  const own = within(group)
    .getAllByTestId(testId)
    .filter((b) => b.closest('[data-testid="rule-group"]') === group);
  expect(own).toHaveLength(1);
  return own[0];
}

async function fillRule(rule: HTMLElement, column: string, cmp: string, value?: string) {
  const user = userEvent.setup();
  await user.selectOptions(within(rule).getByTestId("rule-column"), column);
  await user.selectOptions(within(rule).getByTestId("rule-cmp"), cmp);
  if (value !== undefined) {
    const input = within(rule).getByTestId("rule-value");
    await user.clear(input);
    await user.type(input, value);
  }
}

describe("rule builder: values that do not fit their column", () => {
  const problem = (value: string, cmp: FilterRuleProblem["cmp"] = "gt"): FilterRuleProblem => ({
    column: "orders",
    cmp,
    value,
    expected: "integer",
    message: `\`orders\` holds numbers, and “${value}” is not a number.`,
  });

  it("shows the message beside the value of exactly the rule it is about", () => {
    const root = newGroup("and", [newRule("orders", "gt", "abc"), newRule("orders", "lt", "abc"), newRule("country", "eq", "abc")]);
    renderBuilder(root, [problem("abc")]);
    const [bad, otherCmp, otherColumn] = rules();
    const message = within(bad.closest("li")!).getByTestId("rule-type-problem");
    expect(message).toHaveTextContent("`orders` holds numbers, and “abc” is not a number.");
    const input = within(bad).getByTestId("rule-value");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(input).toHaveAccessibleDescription(/is not a number/);
    for (const fine of [otherCmp, otherColumn]) {
      expect(within(fine.closest("li")!).queryByTestId("rule-type-problem")).toBeNull();
      expect(within(fine).getByTestId("rule-value")).not.toHaveAttribute("aria-invalid");
    }
  });

  it("names the element of a list, and goes once the value is edited", async () => {
    const user = userEvent.setup();
    renderBuilder(newGroup("and", [newRule("orders", "in", "1, two, 3")]), [problem("two", "in")]);
    expect(screen.getByTestId("rule-type-problem")).toHaveTextContent("“two”");
    const input = screen.getByTestId("rule-value");
    await user.clear(input);
    await user.type(input, "1, 2, 3");
    expect(screen.queryByTestId("rule-type-problem")).toBeNull();
  });
});

describe("rule builder", () => {
  it("adding rules and a nested group produces the exact Filter tree", async () => {
    const user = userEvent.setup();
    const out = renderBuilder();
    expect(screen.getByText(/No rules: every row of the source is kept/)).toBeInTheDocument();
    expect(out.filter).toBeNull();

    await user.click(ownButton(topGroup(), "add-rule"));
    await fillRule(rules()[0], "country", "eq", "PL");
    await user.click(ownButton(topGroup(), "add-group"));

    // The nested group starts with one rule, its own op, add-rule and remove.
    const group = nestedGroups()[0];
    expect(within(group).getByTestId("group-op")).toHaveValue("or");
    expect(within(group).queryByTestId("add-group")).toBeNull();
    await fillRule(within(group).getAllByTestId("rule")[0], "orders", "gt", "3");
    await user.click(ownButton(group, "add-rule"));
    await fillRule(within(group).getAllByTestId("rule")[1], "email", "contains", "@example.com");
    await user.selectOptions(within(topGroup()).getAllByTestId("group-op")[0], "and");

    expect(out.filter).toEqual<Filter>({
      kind: "group",
      op: "and",
      rules: [
        { kind: "rule", column: "country", cmp: "eq", value: "PL" },
        {
          kind: "group",
          op: "or",
          rules: [
            { kind: "rule", column: "orders", cmp: "gt", value: "3" },
            { kind: "rule", column: "email", cmp: "contains", value: "@example.com" },
          ],
        },
      ],
    });

    // "any of" at the top, and a negated rule.
    await user.selectOptions(within(topGroup()).getAllByTestId("group-op")[0], "or");
    await user.click(within(rules()[0]).getByTestId("rule-not"));
    expect(out.filter).toMatchObject({
      op: "or",
      rules: [{ kind: "not", rule: { kind: "rule", column: "country", cmp: "eq", value: "PL" } }, { kind: "group" }],
    });
  });

  it("the op selects offer 'all of' and 'any of'", () => {
    renderBuilder();
    const op = screen.getByTestId("group-op");
    expect(within(op).getByRole("option", { name: "all of" })).toHaveValue("and");
    expect(within(op).getByRole("option", { name: "any of" })).toHaveValue("or");
  });

  it("removing a rule and a group updates the tree", async () => {
    const user = userEvent.setup();
    const out = renderBuilder(
      fromFilter({
        kind: "group",
        op: "and",
        rules: [
          { kind: "rule", column: "country", cmp: "eq", value: "PL" },
          { kind: "rule", column: "orders", cmp: "ge", value: "2" },
          {
            kind: "group",
            op: "or",
            rules: [
              { kind: "rule", column: "email", cmp: "isEmpty", value: null },
              { kind: "rule", column: "country", cmp: "eq", value: "DE" },
            ],
          },
        ],
      }),
    );
    expect(rules()).toHaveLength(4);

    await user.click(within(nestedGroups()[0]).getAllByTestId("rule-remove")[1]);
    expect(out.filter).toEqual({
      kind: "group",
      op: "and",
      rules: [
        { kind: "rule", column: "country", cmp: "eq", value: "PL" },
        { kind: "rule", column: "orders", cmp: "ge", value: "2" },
        { kind: "group", op: "or", rules: [{ kind: "rule", column: "email", cmp: "isEmpty", value: null }] },
      ],
    });

    await user.click(within(nestedGroups()[0]).getByTestId("group-remove"));
    await user.click(within(rules()[0]).getByTestId("rule-remove"));
    expect(out.filter).toEqual({
      kind: "group",
      op: "and",
      rules: [{ kind: "rule", column: "orders", cmp: "ge", value: "2" }],
    });
    // Focus goes back to the group's "Add rule" for the keyboard.
    expect(ownButton(topGroup(), "add-rule")).toHaveFocus();

    await user.click(within(rules()[0]).getByTestId("rule-remove"));
    expect(out.filter).toBeNull();
  });

  it("'is one of' splits the comma-separated values and shows them as chips", async () => {
    const user = userEvent.setup();
    const out = renderBuilder();
    await user.click(screen.getByTestId("add-rule"));
    await fillRule(rules()[0], "country", "in", "PL, DE,  FR,");
    expect(screen.getByTestId("rule-value")).toHaveAccessibleName("Rule 1: values, separated by commas");
    expect(within(screen.getByTestId("rule-chips")).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      "PL",
      "DE",
      "FR",
    ]);
    expect(out.filter).toEqual({
      kind: "group",
      op: "and",
      rules: [{ kind: "rule", column: "country", cmp: "in", value: ["PL", "DE", "FR"] }],
    });

    await user.selectOptions(screen.getByTestId("rule-cmp"), "notIn");
    expect(out.filter).toMatchObject({ rules: [{ cmp: "notIn", value: ["PL", "DE", "FR"] }] });
  });

  it("'is empty' and 'is not empty' hide the value and send null", async () => {
    const user = userEvent.setup();
    const out = renderBuilder();
    await user.click(screen.getByTestId("add-rule"));
    await fillRule(rules()[0], "email", "eq", "x@example.com");
    await user.selectOptions(screen.getByTestId("rule-cmp"), "isEmpty");
    expect(screen.queryByTestId("rule-value")).toBeNull();
    expect(out.filter).toEqual({
      kind: "group",
      op: "and",
      rules: [{ kind: "rule", column: "email", cmp: "isEmpty", value: null }],
    });
    await user.selectOptions(screen.getByTestId("rule-cmp"), "isNotEmpty");
    expect(out.filter).toMatchObject({ rules: [{ cmp: "isNotEmpty", value: null }] });
    // Back to a comparison with a value: what was typed is still there.
    await user.selectOptions(screen.getByTestId("rule-cmp"), "eq");
    expect(screen.getByTestId("rule-value")).toHaveValue("x@example.com");
  });

  it("incomplete rules are not sent, and say what they lack", async () => {
    const user = userEvent.setup();
    const out = renderBuilder();
    await user.click(screen.getByTestId("add-rule"));
    // A new rule starts on the first column with "is" and no value: not sent yet.
    expect(screen.getByTestId("rule-column")).toHaveValue("email");
    expect(screen.getByTestId("rule-incomplete")).toHaveTextContent("Not counted yet: type a value.");
    expect(out.filter).toBeNull();

    await user.click(screen.getByTestId("add-rule"));
    await fillRule(rules()[1], "orders", "lt", "5");
    expect(out.filter).toEqual({
      kind: "group",
      op: "and",
      rules: [{ kind: "rule", column: "orders", cmp: "lt", value: "5" }],
    });
    await user.click(screen.getByTestId("add-group"));
    expect(out.filter).toEqual({
      kind: "group",
      op: "and",
      rules: [{ kind: "rule", column: "orders", cmp: "lt", value: "5" }],
    });
  });

  it("labels every control and moves focus to a new rule", async () => {
    const user = userEvent.setup();
    renderBuilder();
    await user.click(screen.getByRole("button", { name: "Add rule" }));
    expect(screen.getByRole("combobox", { name: "Rule 1: column" })).toHaveFocus();
    await user.click(screen.getByRole("button", { name: "Add group of rules" }));
    expect(screen.getByRole("combobox", { name: "Group 2: all of or any of" })).toHaveFocus();
    expect(screen.getByRole("combobox", { name: "Rule 2.1: column" })).toBeInTheDocument();
    expect(screen.getByRole("combobox", { name: "Rule 2.1: comparison" })).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: "Rule 2.1: value" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Remove group 2" })).toBeInTheDocument();
    expect(screen.getByRole("checkbox", { name: /Rule 1: not/ })).toBeInTheDocument();
    for (const control of screen.getAllByRole("combobox").concat(screen.getAllByRole("textbox"))) {
      expect(control).toHaveAccessibleName();
    }
    const cmp = screen.getByRole("combobox", { name: "Rule 1: comparison" });
    expect(within(cmp).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "is",
      "is not",
      "contains",
      "does not contain",
      "starts with",
      "does not start with",
      "is one of",
      "is not one of",
      "is less than",
      "is at most",
      "is greater than",
      "is at least",
      "is empty",
      "is not empty",
    ]);
  });

  it("keeps a rule on a column the file no longer has, marked as such", () => {
    renderBuilder(fromFilter({ kind: "rule", column: "vip", cmp: "eq", value: "yes" }));
    const column = screen.getByTestId("rule-column");
    expect(column).toHaveValue("vip");
    expect(within(column).getByRole("option", { name: "vip (not in the file)" })).toBeInTheDocument();
  });
});
