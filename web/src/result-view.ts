// An app's answer for people, whatever its shape (a StateValue: src/app/canonical.ts): a scalar as
// text (a bigint in decimal), a record or a map as a definition list, an array as a numbered list,
// nested as deep as the value. One view for query results, the wallet's values and command results.
// Every value is set as text (`h` never parses markup), so an app's strings cannot inject any.
import type { StateKey, StateValue } from "../../src/app/canonical.js";
import { PersistentMap } from "../../src/app/pmap.js";
import { h } from "./dom.js";

/** What `null` reads as: an app's "none" (no winner yet, no vote cast). */
const NONE_TEXT = "none";
const EMPTY_LIST_TEXT = "(empty list)";
const EMPTY_RECORD_TEXT = "(empty)";

/** A scalar, or a map's key, as text. */
function scalarText(value: StateKey | null): string {
  if (value === null) return NONE_TEXT;
  return String(value);
}

/** Pairs of a record or map as a definition list: each name, then its value's view. */
function definitions(entries: readonly (readonly [StateKey, StateValue])[]): Node {
  if (entries.length === 0) return document.createTextNode(EMPTY_RECORD_TEXT);
  return h(
    "dl",
    { class: "value" },
    ...entries.flatMap(([key, item]) => [h("dt", {}, scalarText(key)), h("dd", {}, valueView(item))]),
  );
}

/** `value` as nodes to put in an output: text for a scalar, lists for the rest. */
export function valueView(value: StateValue): Node {
  if (value === null || typeof value !== "object") return document.createTextNode(scalarText(value));
  if (Array.isArray(value)) {
    const items = value as readonly StateValue[];
    if (items.length === 0) return document.createTextNode(EMPTY_LIST_TEXT);
    return h("ol", { class: "value" }, ...items.map((item) => h("li", {}, valueView(item))));
  }
  // Every map a result decodes to is a PersistentMap; an app's own value may be a Map.
  if (value instanceof Map || value instanceof PersistentMap)
    return definitions([...(value as ReadonlyMap<StateKey, StateValue>)]);
  return definitions(Object.entries(value as { readonly [key: string]: StateValue }));
}
