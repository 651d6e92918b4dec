// Compile-time checks that a list names every member of a union, mostly unions generated from
// Rust (ui/src/bindings): a member added there fails `npm run check` until it is listed, instead
// of being silently missing from a menu or a filter.

/** `true` when `Listed` covers every member of `All`; otherwise names the missing ones. */
export type ListsAll<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : { missing: Exclude<All, Listed> };

/**
 * `values` as given, checked to name every member of `T`:
 * `everyMember<FilterCmp>()(["eq", "ne", …])` (the order is the caller's).
 */
export function everyMember<T extends string>() {
  return <const L extends readonly T[]>(
    values: L & (ListsAll<T, L[number]> extends true ? unknown : ListsAll<T, L[number]>),
  ): readonly T[] => values;
}
