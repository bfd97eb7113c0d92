// Canonical encodings: exactly one byte string per value, so signatures, digests and state
// comparisons never depend on key order, whitespace or number formatting. Pure (no I/O): the enclave
// and the client share it.
//
// - `canonicalJson` is RFC 8785 (JCS) for plain JSON: keys sorted by UTF-16 code units, no
//   whitespace, numbers as ECMAScript prints them (that is what JCS specifies). A bigint is accepted on
//   input and written as a decimal string, which is how command params carry amounts.
// - `encodeValue` / `decodeValue` carry state values and results (JSON plus bigint and Map) in a tagged
//   JCS form that decodes back to the same types:
//     bigint       {"$bigint":"-12"}
//     Map          {"$map":[[key,value],...]}   entries sorted by the canonical text of the key; a
//                  PersistentMap encodes the same way, and every map decodes to a PersistentMap
//                  (immutable, so a decoded state cannot be changed in place by mistake)
//     object key   a key starting with "$" is written with one more "$", so tags cannot be forged
//   Decoding is strict: bytes that are not the canonical encoding of what they decode to are refused.
import { PersistentMap } from "./pmap.js";

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export type JsonObject = { readonly [key: string]: JsonValue };

/** What a Map in the state may be keyed by: values whose equality a Map and the encoding agree on. */
export type StateKey = string | number | bigint | boolean;
export type StateValue =
  | null
  | boolean
  | number
  | string
  | bigint
  | readonly StateValue[]
  | ReadonlyMap<StateKey, StateValue>
  | { readonly [key: string]: StateValue };

export class CanonicalError extends Error {
  override name = "CanonicalError";
}

/** Deeper values are refused: nothing legitimate nests this far, and recursion must stay bounded. */
export const MAX_DEPTH = 64;
export const BIGINT_TAG = "$bigint";
export const MAP_TAG = "$map";
const TAG_PREFIX = "$";
const LONE_SURROGATE = /\p{Surrogate}/u;
const SIGNED_DECIMAL = /^(0|-?[1-9][0-9]*)$/;

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 is an error, never silently replaced (that would make two inputs decode alike).
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** RFC 8785 canonical JSON of `value`; bigints become decimal strings. Throws `CanonicalError`. */
export function canonicalJson(value: unknown): string {
  return writeJson(value, 0);
}

/** Parses JSON that must already be canonical (as `canonicalJson` writes it). */
export function parseCanonicalJson(text: string): JsonValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CanonicalError("not valid JSON");
  }
  if (canonicalJson(parsed) !== text) throw new CanonicalError("JSON is not in canonical form (RFC 8785)");
  return parsed as JsonValue;
}

/** The canonical bytes of a state value (tagged JCS, UTF-8). Throws `CanonicalError`. */
export function encodeValue(value: StateValue): Uint8Array {
  return utf8Encoder.encode(writeTagged(value, 0));
}

/** Decodes `encodeValue` output; refuses anything that is not exactly a canonical encoding. */
export function decodeValue(bytes: Uint8Array): StateValue {
  let text: string;
  let parsed: unknown;
  try {
    text = utf8Decoder.decode(bytes);
    parsed = JSON.parse(text);
  } catch {
    throw new CanonicalError("not valid UTF-8 JSON");
  }
  const value = readTagged(parsed, 0);
  if (writeTagged(value, 0) !== text) throw new CanonicalError("value is not in canonical form");
  return value;
}

function writeString(value: string): string {
  // A lone surrogate has no UTF-8 form: TextEncoder would replace it, so two strings would share bytes.
  if (LONE_SURROGATE.test(value)) throw new CanonicalError("string holds a lone UTF-16 surrogate");
  return JSON.stringify(value);
}

function writeNumber(value: number): string {
  if (!Number.isFinite(value)) throw new CanonicalError("number must be finite");
  return JSON.stringify(value);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function checkDepth(depth: number): void {
  if (depth > MAX_DEPTH) throw new CanonicalError(`value nests deeper than ${MAX_DEPTH} levels`);
}

function sortedKeys(value: object): string[] {
  // Default sort compares UTF-16 code units, which is the order RFC 8785 prescribes.
  return Object.keys(value).sort();
}

function writeArray(items: readonly unknown[], write: (item: unknown) => string): string {
  const out: string[] = [];
  for (let i = 0; i < items.length; i++) {
    if (!(i in items)) throw new CanonicalError("array has a hole");
    out.push(write(items[i]));
  }
  return `[${out.join(",")}]`;
}

function writeJson(value: unknown, depth: number): string {
  checkDepth(depth);
  switch (typeof value) {
    case "string":
      return writeString(value);
    case "number":
      return writeNumber(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return JSON.stringify(value.toString());
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) return writeArray(value, (item) => writeJson(item, depth + 1));
      if (!isPlainObject(value)) throw new CanonicalError("only plain objects are JSON objects");
      const record = value as Record<string, unknown>;
      const fields = sortedKeys(record).map((key) => {
        if (record[key] === undefined) throw new CanonicalError(`field ${JSON.stringify(key)} is undefined`);
        return `${writeString(key)}:${writeJson(record[key], depth + 1)}`;
      });
      return `{${fields.join(",")}}`;
    }
    default:
      throw new CanonicalError(`${typeof value} is not a JSON value`);
  }
}

function escapeKey(key: string): string {
  return key.startsWith(TAG_PREFIX) ? TAG_PREFIX + key : key;
}

function writeTagged(value: unknown, depth: number): string {
  checkDepth(depth);
  switch (typeof value) {
    case "string":
      return writeString(value);
    case "number":
      return writeNumber(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return `{"${BIGINT_TAG}":"${value.toString()}"}`;
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) return writeArray(value, (item) => writeTagged(item, depth + 1));
      if (value instanceof Map || value instanceof PersistentMap) return writeMap(value, depth);
      if (!isPlainObject(value))
        throw new CanonicalError("state objects must be plain objects, arrays or Maps");
      const record = value as Record<string, unknown>;
      const fields = Object.keys(record)
        .map((key) => {
          if (record[key] === undefined)
            throw new CanonicalError(`field ${JSON.stringify(key)} is undefined`);
          return [escapeKey(key), key] as const;
        })
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([escaped, key]) => `${writeString(escaped)}:${writeTagged(record[key], depth + 1)}`);
      return `{${fields.join(",")}}`;
    }
    default:
      throw new CanonicalError(`${typeof value} is not a state value`);
  }
}

function writeMap(map: ReadonlyMap<unknown, unknown>, depth: number): string {
  const entries: [string, unknown][] = [];
  for (const [key, item] of map) {
    const t = typeof key;
    if (t !== "string" && t !== "number" && t !== "bigint" && t !== "boolean") {
      throw new CanonicalError("Map keys must be strings, numbers, bigints or booleans");
    }
    if (item === undefined) throw new CanonicalError("Map value is undefined");
    entries.push([writeTagged(key, depth + 1), item]);
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const body = entries.map(([key, item]) => `[${key},${writeTagged(item, depth + 1)}]`);
  return `{"${MAP_TAG}":[${body.join(",")}]}`;
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // A plain assignment to "__proto__" would replace the prototype instead of adding a field.
  if (key === "__proto__")
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function readTagged(value: unknown, depth: number): StateValue {
  checkDepth(depth);
  if (typeof value !== "object" || value === null) return value as StateValue;
  if (Array.isArray(value)) return value.map((item) => readTagged(item, depth + 1));
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const only = keys.length === 1 ? keys[0] : undefined;
  if (only === BIGINT_TAG) {
    const digits = record[only];
    if (typeof digits !== "string" || !SIGNED_DECIMAL.test(digits)) {
      throw new CanonicalError("bigint must be a decimal string");
    }
    return BigInt(digits);
  }
  if (only === MAP_TAG) return readMap(record[only], depth);
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (key.startsWith(TAG_PREFIX) && !key.startsWith(TAG_PREFIX + TAG_PREFIX)) {
      throw new CanonicalError(`unknown tag ${JSON.stringify(key)}`);
    }
    setOwn(
      out,
      key.startsWith(TAG_PREFIX) ? key.slice(TAG_PREFIX.length) : key,
      readTagged(record[key], depth + 1),
    );
  }
  return out as StateValue;
}

function readMap(entries: unknown, depth: number): ReadonlyMap<StateKey, StateValue> {
  if (!Array.isArray(entries)) throw new CanonicalError("Map entries must be an array");
  let map = PersistentMap.empty<StateKey, StateValue>();
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2)
      throw new CanonicalError("Map entry must be [key, value]");
    const key = readTagged(entry[0], depth + 1);
    const t = typeof key;
    if (t !== "string" && t !== "number" && t !== "bigint" && t !== "boolean") {
      throw new CanonicalError("Map key must be a string, number, bigint or boolean");
    }
    if (map.has(key as StateKey)) throw new CanonicalError("Map has a duplicate key");
    map = map.set(key as StateKey, readTagged(entry[1], depth + 1));
  }
  return map;
}
