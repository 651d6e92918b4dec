import { useEffect, useId, useRef } from "react";
import type { FilterCmp, FilterGroupOp, FilterRuleProblem, SourceColumn } from "../../api";
import {
  addToGroup,
  CMP_LABEL,
  CMP_ORDER,
  newGroup,
  newRule,
  OP_LABEL,
  problemFor,
  removeRow,
  ruleProblem,
  splitList,
  updateRow,
  valueKind,
  withCmp,
  type GroupRow,
  type Row,
  type RuleRow,
} from "./filterModel";

/** Groups can be nested this deep below the top group. */
export const MAX_GROUP_DEPTH = 1;

type Update = (edit: (root: GroupRow) => GroupRow) => void;

interface RuleBuilderProps {
  root: GroupRow;
  /** Receives an edit of the current tree (so fast typing never works on a stale tree). */
  onChange: Update;
  /** The source's columns (what the column lists offer). */
  columns: SourceColumn[];
  /**
   * Rules whose value does not fit their column's type (from `api.checkSegmentRules`): each is
   * shown beside its rule's value.
   */
  problems?: readonly FilterRuleProblem[];
  disabled?: boolean;
}

/** Where the focus goes after the next render: a row's first control, or a group's "Add rule". */
type FocusTarget = { row: string } | { addRuleOf: string };

const PLACEHOLDER: Record<string, string> = {
  integer: "e.g. 10",
  number: "e.g. 10.5",
  date: "e.g. 2024-03-01",
  boolean: "e.g. true",
  email: "e.g. @example.com",
  phone: "e.g. +48",
};

function placeholder(rule: RuleRow, columns: SourceColumn[]): string {
  if (valueKind(rule.cmp) === "list") return "Values, separated by commas";
  const inferred = columns.find((c) => c.name === rule.column)?.inferred;
  return (inferred && PLACEHOLDER[inferred]) ?? "Value";
}

/**
 * "Keep rows where [all of | any of] …": rules (column, comparison, value) and groups of rules,
 * with no syntax to learn. Edits a `GroupRow` tree (see `filterModel.ts`).
 */
export function RuleBuilder({ root, onChange, columns, problems = [], disabled }: RuleBuilderProps) {
  const container = useRef<HTMLDivElement>(null);
  const focusNext = useRef<FocusTarget | null>(null);

  useEffect(() => {
    const target = focusNext.current;
    if (!target || !container.current) return;
    focusNext.current = null;
    const node =
      "row" in target
        ? container.current.querySelector<HTMLElement>(`[data-row-id="${target.row}"] select`)
        : container.current.querySelector<HTMLElement>(`[data-add-rule-of="${target.addRuleOf}"]`);
    node?.focus();
  });

  const focus = (target: FocusTarget) => {
    focusNext.current = target;
  };

  return (
    <div className="rule-builder" data-testid="rule-builder" ref={container}>
      <GroupEditor
        group={root}
        depth={0}
        path=""
        columns={columns}
        problems={problems}
        update={onChange}
        focus={focus}
        disabled={disabled}
      />
    </div>
  );
}

interface EditorProps {
  columns: SourceColumn[];
  problems: readonly FilterRuleProblem[];
  update: Update;
  focus: (target: FocusTarget) => void;
  disabled?: boolean;
}

function GroupEditor({
  group,
  depth,
  path,
  parentId,
  columns,
  problems,
  update,
  focus,
  disabled,
}: EditorProps & { group: GroupRow; depth: number; path: string; parentId?: string }) {
  const id = useId();
  const isRoot = depth === 0;
  const name = isRoot ? "the rules" : `group ${path}`;

  function add(row: Row) {
    update((root) => addToGroup(root, group.id, row));
    focus({ row: row.id });
  }

  function addRule() {
    add(newRule(columns[0]?.name ?? ""));
  }

  function addGroup() {
    add(newGroup(group.op === "and" ? "or" : "and", [newRule(columns[0]?.name ?? "")]));
  }

  return (
    <div
      className={isRoot ? "rule-group rule-group-root" : "rule-group rule-group-nested"}
      role="group"
      aria-labelledby={`${id}-head`}
      data-testid="rule-group"
      data-row-id={isRoot ? undefined : group.id}
    >
      <div className="rule-group-head" id={`${id}-head`}>
        {(!isRoot || group.negated) && (
          <label className="choice rule-not-choice">
            <input
              type="checkbox"
              checked={group.negated}
              disabled={disabled}
              onChange={(e) => {
                const negated = e.target.checked;
                update((root) => updateRow(root, group.id, (row) => ({ ...row, negated })));
              }}
              aria-label={`Not: keep the rows ${name} do not match`}
              data-testid="group-not"
            />
            <span aria-hidden="true">not</span>
          </label>
        )}
        {isRoot && <span>Keep rows where</span>}
        <select
          value={group.op}
          disabled={disabled}
          onChange={(e) => {
            const op = e.target.value as FilterGroupOp;
            update((root) => updateRow(root, group.id, (row) => ({ ...row, op }) as GroupRow));
          }}
          aria-label={isRoot ? "Keep rows that match all of or any of the rules" : `Group ${path}: all of or any of`}
          className="group-op"
          data-testid="group-op"
        >
          {(["and", "or"] as const).map((op) => (
            <option key={op} value={op}>
              {OP_LABEL[op]}
            </option>
          ))}
        </select>
        <span>{isRoot ? "the following:" : "these are true:"}</span>
        {!isRoot && (
          <button
            type="button"
            className="button-danger-quiet rule-remove-button"
            disabled={disabled}
            onClick={() => {
              update((root) => removeRow(root, group.id));
              if (parentId) focus({ addRuleOf: parentId });
            }}
            aria-label={`Remove group ${path}`}
            data-testid="group-remove"
          >
            Remove group
          </button>
        )}
      </div>
      {group.items.length === 0 ? (
        <p className="hint rule-empty">
          {isRoot
            ? "No rules: every row of the source is kept. Add a rule to narrow it down."
            : "This group has no rules yet."}
        </p>
      ) : (
        <ol className="rule-list">
          {group.items.map((row, index) => {
            const childPath = path ? `${path}.${index + 1}` : `${index + 1}`;
            return row.kind === "rule" ? (
              <RuleEditor
                key={row.id}
                rule={row}
                path={childPath}
                groupId={group.id}
                columns={columns}
                problems={problems}
                update={update}
                focus={focus}
                disabled={disabled}
              />
            ) : (
              <li key={row.id} className="rule-item">
                <GroupEditor
                  group={row}
                  depth={depth + 1}
                  path={childPath}
                  parentId={group.id}
                  columns={columns}
                  problems={problems}
                  update={update}
                  focus={focus}
                  disabled={disabled}
                />
              </li>
            );
          })}
        </ol>
      )}
      <div className="actions rule-actions">
        <button
          type="button"
          onClick={addRule}
          disabled={disabled}
          aria-label={isRoot ? "Add rule" : `Add rule to group ${path}`}
          data-add-rule-of={group.id}
          data-testid="add-rule"
        >
          + Add rule
        </button>
        {depth < MAX_GROUP_DEPTH && (
          <button
            type="button"
            onClick={addGroup}
            disabled={disabled}
            aria-label="Add group of rules"
            data-testid="add-group"
          >
            + Add group
          </button>
        )}
      </div>
    </div>
  );
}

function RuleEditor({
  rule,
  path,
  groupId,
  columns,
  problems,
  update,
  focus,
  disabled,
}: EditorProps & { rule: RuleRow; path: string; groupId: string }) {
  const hintId = useId();
  const typeId = useId();
  const kind = valueKind(rule.cmp);
  const problem = ruleProblem(rule);
  const typeProblem = problemFor(rule, problems);
  const valueDescribedBy = [problem ? hintId : null, typeProblem ? typeId : null].filter(Boolean).join(" ");
  const known = columns.some((c) => c.name === rule.column);
  const label = `Rule ${path}`;
  const listItems = kind === "list" ? splitList(rule.value) : [];

  const edit = (change: (r: RuleRow) => RuleRow) =>
    update((root) => updateRow(root, rule.id, (row) => (row.kind === "rule" ? change(row) : row)));

  return (
    <li className="rule-item">
      <div className="rule" data-testid="rule" data-row-id={rule.id} role="group" aria-label={label}>
        <select
          value={rule.column}
          disabled={disabled}
          onChange={(e) => {
            const column = e.target.value;
            edit((r) => ({ ...r, column }));
          }}
          aria-label={`${label}: column`}
          aria-describedby={problem ? hintId : undefined}
          className="rule-column"
          data-testid="rule-column"
        >
          {!rule.column && <option value="">Choose a column…</option>}
          {rule.column && !known && <option value={rule.column}>{rule.column} (not in the file)</option>}
          {columns.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
        <label className="choice rule-not-choice">
          <input
            type="checkbox"
            checked={rule.negated}
            disabled={disabled}
            onChange={(e) => {
              const negated = e.target.checked;
              edit((r) => ({ ...r, negated }));
            }}
            aria-label={`${label}: not (keep the rows this rule does not match)`}
            data-testid="rule-not"
          />
          <span aria-hidden="true">not</span>
        </label>
        <select
          value={rule.cmp}
          disabled={disabled}
          onChange={(e) => {
            const cmp = e.target.value as FilterCmp;
            edit((r) => withCmp(r, cmp));
          }}
          aria-label={`${label}: comparison`}
          className="rule-cmp"
          data-testid="rule-cmp"
        >
          {CMP_ORDER.map((cmp) => (
            <option key={cmp} value={cmp}>
              {CMP_LABEL[cmp]}
            </option>
          ))}
        </select>
        {kind !== "none" && (
          <input
            type="text"
            value={rule.value}
            disabled={disabled}
            onChange={(e) => {
              const value = e.target.value;
              edit((r) => ({ ...r, value }));
            }}
            placeholder={placeholder(rule, columns)}
            aria-label={kind === "list" ? `${label}: values, separated by commas` : `${label}: value`}
            aria-describedby={valueDescribedBy || undefined}
            aria-invalid={typeProblem ? true : undefined}
            autoComplete="off"
            spellCheck={false}
            className="rule-value"
            data-testid="rule-value"
          />
        )}
        <button
          type="button"
          className="button-danger-quiet rule-remove-button"
          disabled={disabled}
          onClick={() => {
            update((root) => removeRow(root, rule.id));
            focus({ addRuleOf: groupId });
          }}
          aria-label={`Remove rule ${path}`}
          data-testid="rule-remove"
        >
          Remove
        </button>
      </div>
      {typeProblem && (
        <p className="field-error rule-type-problem" id={typeId} data-testid="rule-type-problem">
          {typeProblem.message}
        </p>
      )}
      {listItems.length > 0 && (
        <ul className="chips rule-chips" aria-label={`${label}: ${listItems.length} values`} data-testid="rule-chips">
          {listItems.map((item, index) => (
            <li key={`${index}-${item}`} className="chip">
              {item}
            </li>
          ))}
        </ul>
      )}
      {problem && (
        <p className="hint rule-problem" id={hintId} data-testid="rule-incomplete">
          Not counted yet: {problem.charAt(0).toLowerCase() + problem.slice(1)}
        </p>
      )}
    </li>
  );
}
