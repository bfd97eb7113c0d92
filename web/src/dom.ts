// A few DOM helpers: the page is plain TypeScript and DOM, no UI framework (the whole page stays small).

type Child = Node | string | number | bigint | null | undefined;

/** An element with attributes and children; a `null` or `undefined` child is left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | boolean> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) element.setAttribute(name, "");
    else if (value !== false) element.setAttribute(name, value);
  }
  append(element, children);
  return element;
}

function append(parent: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A table with a caption, column headings and one row per item. */
export function table(
  caption: string,
  headings: readonly string[],
  rows: readonly Child[][],
): HTMLTableElement {
  return h(
    "table",
    {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...headings.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...rows.map((cells) => h("tr", {}, ...cells.map((c) => h("td", {}, c))))),
  );
}

/** A message for people from anything thrown. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Runs `work` one at a time: a tick that is still running is not started again. */
export function everyMs(intervalMs: number, work: () => Promise<void>): void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await work();
    } finally {
      running = false;
    }
  };
  void tick();
  setInterval(() => void tick(), intervalMs);
}

type Field = { label: string; input: HTMLInputElement | HTMLTextAreaElement };

/**
 * A form named `name` (its accessible name): a heading if given, a line per input with its label, and
 * a submit button named `button`; `submit` runs with the page's own submission prevented.
 */
export function labelledForm(
  name: string,
  fields: readonly Field[],
  button: string,
  submit: () => void | Promise<void>,
  heading?: string,
): HTMLFormElement {
  const form = h(
    "form",
    { "aria-label": name },
    heading ? h("h3", {}, heading) : null,
    ...fields.map(({ label, input }) => h("p", {}, h("label", { for: input.id }, label), " ", input)),
    h("button", { type: "submit" }, button),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void submit();
  });
  return form;
}
