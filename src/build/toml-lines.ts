// A small TOML writer for the files `anonify enclave build` hands to other tools (Gramine's manifest
// template): top-level dotted keys only, so no table headers to order, and values of the few kinds
// those files need. Written from data, not pasted as text, so a test can parse the output back with
// a real TOML parser and compare it with what was meant.

/** A value the writer can render: a string, an integer, a boolean, or an array of those or of flat tables. */
export type TomlValue = string | number | boolean | TomlTable | readonly (string | TomlTable)[];
export type TomlTable = { readonly [key: string]: string | number | boolean };

/** One `key = value` line, with an optional comment above it saying why. */
export type TomlEntry = { key: string; value: TomlValue; why?: string };

const BARE_KEY = /^[A-Za-z0-9_-]+$/;
/** Characters a TOML basic string must escape beyond `"` and `\`: every control character. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const INDENT = "  ";

/** A basic string: JSON's escapes of `"` and `\` are TOML's; control characters are refused instead. */
function tomlString(text: string): string {
  if (CONTROL.test(text))
    throw new TypeError(`a TOML value here holds no control character: ${JSON.stringify(text)}`);
  return JSON.stringify(text);
}

function tomlKey(key: string): string {
  for (const part of key.split("."))
    if (!BARE_KEY.test(part)) throw new TypeError(`not a bare dotted TOML key: ${JSON.stringify(key)}`);
  return key;
}

function scalar(value: string | number | boolean): string {
  if (typeof value === "string") return tomlString(value);
  if (typeof value === "boolean") return String(value);
  if (!Number.isSafeInteger(value)) throw new TypeError(`a TOML integer here, not ${value}`);
  return String(value);
}

/** An inline table, on one line (TOML allows no newline and no trailing comma inside one). */
const inlineTable = (table: TomlTable): string =>
  `{ ${Object.entries(table)
    .map(([key, value]) => `${tomlKey(key)} = ${scalar(value)}`)
    .join(", ")} }`;

function render(value: TomlValue): string {
  if (Array.isArray(value)) {
    const items = value.map((item) => (typeof item === "string" ? tomlString(item) : inlineTable(item)));
    return `[\n${items.map((item) => `${INDENT}${item},\n`).join("")}]`;
  }
  if (typeof value === "object") return inlineTable(value as TomlTable);
  return scalar(value as string | number | boolean);
}

/** The document: `header` lines as comments, then each entry (its `why` as a comment above it). */
export function tomlDocument(header: readonly string[], entries: readonly TomlEntry[]): string {
  const lines = header.map((line) => (line === "" ? "#" : `# ${line}`));
  for (const { key, value, why } of entries) {
    lines.push("");
    if (why !== undefined) lines.push(...why.split("\n").map((line) => `# ${line}`));
    lines.push(`${tomlKey(key)} = ${render(value)}`);
  }
  return `${lines.join("\n")}\n`;
}
