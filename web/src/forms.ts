// A form for each of an app's commands and queries, generated from its parameter schema: one input
// per field, labelled with the field's name ("(optional)" added for a field that may be left out),
// with a hint of what it takes where the name does not say (an address, a whole number, a list),
// and a submit button named after the command. The schema checks the values in the page first, so
// a typo is shown before anything is signed.
import type { ObjectSchema, OptionalSchema, Schema, SchemaKind } from "../../src/app/schema.js";
import { errorText, h } from "./dom.js";

type Fields = Readonly<Record<string, Schema<unknown>>>;
type Input = HTMLInputElement | HTMLTextAreaElement;

const OPTIONAL_MARK = " (optional)";
/** Rows of a list's text area: room for a few items, one per line. */
const LIST_ROWS = "3";
const NUMERIC_KINDS: readonly SchemaKind[] = ["uint", "int", "decimal"];

/** What the user is told a field of each kind takes, where its input alone does not say. */
const KIND_HINTS: Partial<Record<SchemaKind, string>> = {
  address: "an address, 0x and 40 hex digits",
  uint: "a whole number",
  int: "a whole number",
  decimal: "a whole number",
  hex: "hex bytes, 0x…",
  array: "a list: one item per line",
};

/** The schema of the value a field holds (an optional field holds its inner kind). */
const innerOf = (schema: Schema<unknown>): Schema<unknown> =>
  schema.kind === "optional" ? (schema as OptionalSchema<unknown>).inner : schema;

/** What an input of each schema kind takes. */
function inputFor(id: string, name: string, schema: Schema<unknown>): Input {
  const inner = innerOf(schema);
  const common: Record<string, string | boolean> = {
    id,
    name,
    required: schema.kind !== "optional",
    autocomplete: "off",
  };
  const hinted: Record<string, string> = KIND_HINTS[inner.kind] ? { "aria-describedby": `${id}-hint` } : {};
  if (inner.kind === "bool") return h("input", { ...common, type: "checkbox", required: false });
  if (inner.kind === "array")
    return h("textarea", { ...common, ...hinted, rows: LIST_ROWS, spellcheck: "false" });
  if (NUMERIC_KINDS.includes(inner.kind))
    return h("input", { ...common, ...hinted, type: "text", inputmode: "numeric", pattern: "[0-9]+" });
  if (inner.kind === "address")
    return h("input", { ...common, ...hinted, type: "text", placeholder: "0x…", spellcheck: "false" });
  return h("input", { ...common, ...hinted, type: "text" });
}

/** The value of a field as JSON would carry it (numbers as decimal strings, which `uint` reads). */
function fieldValue(input: Input, schema: Schema<unknown>): unknown {
  if (input instanceof HTMLInputElement && input.type === "checkbox") return input.checked;
  if (input.value.trim() === "" && schema.kind === "optional") return undefined;
  const inner = innerOf(schema);
  if (inner.kind === "int") return Number(input.value);
  if (inner.kind === "array")
    return input.value
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "");
  return input.value.trim();
}

/** A field's line: its label (marked if optional), its input, and its kind's hint. */
function fieldLine(field: string, id: string, schema: Schema<unknown>, input: Input): HTMLElement {
  const optional = schema.kind === "optional";
  const hint = KIND_HINTS[innerOf(schema).kind];
  return h(
    "p",
    {},
    h("label", { for: id }, field, optional ? h("span", { class: "hint" }, OPTIONAL_MARK) : null),
    " ",
    input,
    hint ? h("span", { id: `${id}-hint`, class: "hint" }, ` ${hint}`) : null,
  );
}

/**
 * A form for `name` with `schema`'s fields; `submit` gets the checked params. Errors of the schema
 * are shown in the form, next to its button.
 */
export function schemaForm(
  kind: "command" | "query",
  name: string,
  schema: ObjectSchema<unknown>,
  submit: (params: Record<string, unknown>) => Promise<void>,
): HTMLFormElement {
  const fields = schema.fields as Fields;
  const inputs = Object.entries(fields).map(([field, fieldSchema]) => {
    const id = `${kind}-${name}-${field}`;
    return { field, fieldSchema, input: inputFor(id, field, fieldSchema), id };
  });
  const problem = h("p", { class: "problem", role: "alert" });
  const button = h("button", { type: "submit" }, name);
  const form = h(
    "form",
    { class: `${kind}-form`, "aria-label": `${kind} ${name}` },
    h("h3", {}, name),
    ...inputs.map(({ field, fieldSchema, input, id }) => fieldLine(field, id, fieldSchema, input)),
    button,
    problem,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    const raw: Record<string, unknown> = {};
    for (const { field, fieldSchema, input } of inputs) {
      const value = fieldValue(input, fieldSchema);
      if (value !== undefined) raw[field] = value;
    }
    try {
      schema.parse(raw);
    } catch (error) {
      problem.textContent = errorText(error);
      return;
    }
    button.disabled = true;
    try {
      await submit(raw);
    } catch (error) {
      problem.textContent = errorText(error);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
