// A form for each of an app's commands and queries, generated from its parameter schema: one input
// per field, labelled with the field's name, and a submit button named after the command. The
// schema checks the values in the page first, so a typo is shown before anything is signed.
import type { ObjectSchema, OptionalSchema, Schema } from "../../src/app/schema.js";
import { errorText, h } from "./dom.js";

type Fields = Readonly<Record<string, Schema<unknown>>>;

/** What an input of each schema kind takes (an optional field takes its inner kind). */
function inputFor(id: string, name: string, schema: Schema<unknown>): HTMLInputElement {
  const inner = schema.kind === "optional" ? (schema as OptionalSchema<unknown>).inner : schema;
  const common = { id, name, required: schema.kind !== "optional", autocomplete: "off" };
  if (inner.kind === "bool") return h("input", { ...common, type: "checkbox", required: false });
  if (inner.kind === "uint" || inner.kind === "int" || inner.kind === "decimal")
    return h("input", { ...common, type: "text", inputmode: "numeric", pattern: "[0-9]+" });
  if (inner.kind === "address")
    return h("input", { ...common, type: "text", placeholder: "0x…", spellcheck: "false" });
  return h("input", { ...common, type: "text" });
}

/** The value of a field as JSON would carry it (numbers as decimal strings, which `uint` reads). */
function fieldValue(input: HTMLInputElement, schema: Schema<unknown>): unknown {
  if (input.type === "checkbox") return input.checked;
  if (input.value === "" && schema.kind === "optional") return undefined;
  if (schema.kind === "int") return Number(input.value);
  return input.value.trim();
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
    ...inputs.map(({ field, input, id }) => h("p", {}, h("label", { for: id }, field), " ", input)),
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
