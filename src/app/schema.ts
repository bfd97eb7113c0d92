// Schemas for untrusted JSON: app command and query parameters, and the arguments of every call
// that crosses the enclave boundary (src/boundary/calls.ts). A handful of types with exact rules and
// clear messages, and no schema library (what runs in the enclave stays small and auditable). A
// schema checks parsed JSON and returns the typed, normalized value; no handler sees unchecked input.
//
//   const transfer = object({ to: address(), amount: uint() });
//   type Transfer = Infer<typeof transfer>;   // { readonly to: `0x${string}`; readonly amount: bigint }
import { type Address, type Hex, isAddress } from "viem";
import type { JsonValue } from "./canonical.js";

/** A parameter that does not fit its schema; `path` names it (e.g. `params.amount`). */
export class ParamError extends Error {
  override name = "ParamError";
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

export type SchemaKind =
  | "address"
  | "uint"
  | "string"
  | "bool"
  | "object"
  | "optional"
  | "nullable"
  | "hex"
  | "int"
  | "decimal"
  | "array"
  | "tagged"
  | "oneOf";

export type Schema<T> = {
  readonly kind: SchemaKind;
  /** Checks `value` (parsed JSON) and returns it typed and normalized; throws `ParamError`. */
  parse(value: unknown, path?: string): T;
  /** A JSON description, for API documents and tools. */
  describe(): JsonValue;
};

export type Infer<S> = S extends Schema<infer T> ? T : never;

export const UINT256_MAX = (1n << 256n) - 1n;
/** Decimal digits of 2^256 − 1: longer strings are refused before BigInt ever sees them. */
const MAX_UINT_DIGITS = 78;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})*$/;
const LONE_SURROGATE = /\p{Surrogate}/u;
const ROOT_PATH = "params";

const describeValue = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;

/**
 * A 20-byte account address, returned in lower case so that one account is one Map key. Mixed-case
 * input must carry a valid EIP-55 checksum (a mistyped address is refused, not sent to a stranger).
 */
export function address(): Schema<Address> {
  return {
    kind: "address",
    parse(value, path = ROOT_PATH) {
      if (typeof value !== "string" || !ADDRESS.test(value)) {
        throw new ParamError(path, `must be a 0x-prefixed 20-byte hex address, got ${describeValue(value)}`);
      }
      // One case throughout carries no checksum; mixed case must be EIP-55 (viem's strict check).
      const oneCase = value.slice(2) === value.slice(2).toUpperCase() || value === value.toLowerCase();
      if (!oneCase && !isAddress(value, { strict: true }))
        throw new ParamError(path, "has mixed case but an invalid EIP-55 checksum");
      return value.toLowerCase() as Address;
    },
    describe: () => ({ type: "address" }),
  };
}

export type UintOptions = { max?: bigint };

/**
 * A non-negative integer kept as bigint: a JSON number that is a safe integer, or a decimal string
 * (no sign, no leading zeros, no exponent). At most `max` (default 2^256 − 1).
 */
export function uint({ max = UINT256_MAX }: UintOptions = {}): Schema<bigint> {
  if (max < 0n || max > UINT256_MAX) throw new RangeError("uint max must be within 0 and 2^256 - 1");
  return {
    kind: "uint",
    parse(value, path = ROOT_PATH) {
      let n: bigint;
      if (typeof value === "number") {
        if (!Number.isSafeInteger(value) || value < 0) {
          throw new ParamError(
            path,
            "must be a non-negative safe integer (use a decimal string beyond 2^53)",
          );
        }
        n = BigInt(value);
      } else if (typeof value === "string") {
        if (value.length > MAX_UINT_DIGITS || !DECIMAL.test(value)) {
          throw new ParamError(path, "must be a decimal integer string without sign or leading zeros");
        }
        n = BigInt(value);
      } else if (typeof value === "bigint") {
        if (value < 0n) throw new ParamError(path, "must not be negative");
        n = value;
      } else {
        throw new ParamError(path, `must be an integer or a decimal string, got ${describeValue(value)}`);
      }
      if (n > max) throw new ParamError(path, `must be at most ${max}`);
      return n;
    },
    describe: () => ({ type: "uint", max: max.toString() }),
  };
}

export type StringOptions = { maxLength: number; minLength?: number };

/** A string of `minLength`..`maxLength` UTF-16 code units (String.length), well-formed Unicode. */
export function string({ maxLength, minLength = 0 }: StringOptions): Schema<string> {
  if (
    !Number.isSafeInteger(maxLength) ||
    !Number.isSafeInteger(minLength) ||
    minLength < 0 ||
    maxLength < minLength
  ) {
    throw new RangeError("string lengths must be integers with 0 <= minLength <= maxLength");
  }
  return {
    kind: "string",
    parse(value, path = ROOT_PATH) {
      if (typeof value !== "string")
        throw new ParamError(path, `must be a string, got ${describeValue(value)}`);
      if (value.length > maxLength) throw new ParamError(path, `must be at most ${maxLength} characters`);
      if (value.length < minLength) throw new ParamError(path, `must be at least ${minLength} characters`);
      if (LONE_SURROGATE.test(value)) throw new ParamError(path, "must be well-formed Unicode");
      return value;
    },
    describe: () => ({ type: "string", minLength, maxLength }),
  };
}

/** One of a few given strings (the statuses a node names, say). */
export function oneOf<const V extends readonly string[]>(values: V): Schema<V[number]> {
  return {
    kind: "oneOf",
    parse(value, path = ROOT_PATH) {
      if (typeof value !== "string" || !values.includes(value))
        throw new ParamError(path, `must be one of ${values.join(", ")}`);
      return value as V[number];
    },
    describe: () => ({ oneOf: [...values] }),
  };
}

export function bool(): Schema<boolean> {
  return {
    kind: "bool",
    parse(value, path = ROOT_PATH) {
      if (typeof value !== "boolean")
        throw new ParamError(path, `must be true or false, got ${describeValue(value)}`);
      return value;
    },
    describe: () => ({ type: "bool" }),
  };
}

export type OptionalSchema<T> = Schema<T | undefined> & {
  readonly kind: "optional";
  readonly inner: Schema<T>;
};

/** A field that may be absent (JSON has no `undefined`, so absent is the only way to leave it out). */
export function optional<T>(inner: Schema<T>): OptionalSchema<T> {
  return {
    kind: "optional",
    inner,
    parse: (value, path = ROOT_PATH) => (value === undefined ? undefined : inner.parse(value, path)),
    describe: () => ({ optional: inner.describe() }),
  };
}

/** A value that may be `null` (a server's "none", as the node's status says no epoch or handshake yet). */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    kind: "nullable",
    parse: (value, path = ROOT_PATH) => (value === null ? null : inner.parse(value, path)),
    describe: () => ({ nullable: inner.describe() }),
  };
}

type Fields = Record<string, Schema<unknown>>;
type OptionalKeys<F extends Fields> = {
  [K in keyof F]: F[K] extends OptionalSchema<unknown> ? K : never;
}[keyof F];
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<F extends Fields> = Simplify<
  { readonly [K in Exclude<keyof F, OptionalKeys<F>>]: Infer<F[K]> } & {
    readonly [K in OptionalKeys<F>]?: Infer<F[K]>;
  }
>;

export type ObjectSchema<T> = Schema<T> & { readonly kind: "object"; readonly fields: Readonly<Fields> };

/**
 * A JSON object with exactly these fields: unknown fields are refused (a typo must not pass as a
 * missing optional field), unless `unknownFields` is `"drop"` (an answer of a server that may say
 * more than this reader knows: the client reading a node). The result is a new frozen object holding
 * only the parsed fields.
 */
export function object<F extends Fields>(
  fields: F,
  { unknownFields = "refuse" }: { unknownFields?: "refuse" | "drop" } = {},
): ObjectSchema<ObjectOf<F>> {
  const names = Object.keys(fields);
  return {
    kind: "object",
    fields,
    parse(value, path = ROOT_PATH) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new ParamError(path, `must be an object, got ${describeValue(value)}`);
      }
      const record = value as Record<string, unknown>;
      if (unknownFields === "refuse")
        for (const key of Object.keys(record)) {
          if (!Object.hasOwn(fields, key)) throw new ParamError(`${path}.${key}`, "is not a known field");
        }
      const out: Record<string, unknown> = {};
      for (const name of names) {
        const schema = fields[name]!;
        const present = Object.hasOwn(record, name);
        if (!present && schema.kind !== "optional") throw new ParamError(`${path}.${name}`, "is required");
        const parsed = schema.parse(present ? record[name] : undefined, `${path}.${name}`);
        if (parsed !== undefined) out[name] = parsed;
      }
      return Object.freeze(out) as ObjectOf<F>;
    },
    describe: () => ({
      type: "object",
      fields: Object.fromEntries(names.map((name) => [name, fields[name]!.describe()])),
    }),
  };
}

export type HexOptions = { min?: number; max: number };

/**
 * 0x-prefixed hex of `min`..`max` whole bytes, returned in lower case: the same bytes are then the
 * same string (one Map key, one comparison) wherever they came from.
 */
export function hex({ min = 0, max }: HexOptions): Schema<Hex> {
  return {
    kind: "hex",
    parse(value, path = ROOT_PATH) {
      if (typeof value !== "string" || !HEX_BYTES.test(value))
        throw new ParamError(path, `must be 0x-prefixed hex bytes, got ${describeValue(value)}`);
      const bytes = (value.length - 2) / 2;
      if (bytes < min || bytes > max)
        throw new ParamError(path, `must be ${min} to ${max} bytes, got ${bytes}`);
      return value.toLowerCase() as Hex;
    },
    describe: () => ({ type: "hex", min, max }),
  };
}

/** A JSON number that is a safe integer within `min`..`max`. */
export function int({ min, max }: { min: number; max: number }): Schema<number> {
  return {
    kind: "int",
    parse(value, path = ROOT_PATH) {
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max)
        throw new ParamError(path, `must be an integer from ${min} to ${max}`);
      return value;
    },
    describe: () => ({ type: "int", min, max }),
  };
}

/**
 * A non-negative integer of at most `bits` bits carried as a decimal string (JSON has no bigint) and
 * kept as that string, so what crosses a boundary reads back the same.
 */
export function decimal({ bits }: { bits: number }): Schema<string> {
  const max = (1n << BigInt(bits)) - 1n;
  return {
    kind: "decimal",
    parse(value, path = ROOT_PATH) {
      if (typeof value !== "string" || value.length > MAX_UINT_DIGITS || !DECIMAL.test(value))
        throw new ParamError(path, "must be a decimal integer string without sign or leading zeros");
      if (BigInt(value) > max) throw new ParamError(path, `must fit in ${bits} bits`);
      return value;
    },
    describe: () => ({ type: "decimal", bits }),
  };
}

/** A JSON array of at most `max` items, each checked by `item`. */
export function array<T>(item: Schema<T>, { max }: { max: number }): Schema<readonly T[]> {
  return {
    kind: "array",
    parse(value, path = ROOT_PATH) {
      if (!Array.isArray(value)) throw new ParamError(path, `must be an array, got ${describeValue(value)}`);
      if (value.length > max) throw new ParamError(path, `must hold at most ${max} items`);
      return value.map((v, i) => item.parse(v, `${path}[${i}]`));
    },
    describe: () => ({ type: "array", max, items: item.describe() }),
  };
}

type Cases = Record<string, Fields>;
/** One object type per case, each with its case name in field `K`. */
export type TaggedOf<K extends string, C extends Cases> = {
  [N in keyof C & string]: Simplify<{ readonly [P in K]: N } & ObjectOf<C[N]>>;
}[keyof C & string];

/**
 * An object whose field `key` names which case it is; the other fields are checked by that case's
 * schema. An unknown case is refused, never skipped.
 */
export function tagged<K extends string, C extends Cases>(key: K, cases: C): Schema<TaggedOf<K, C>> {
  const schemas = new Map(Object.entries(cases).map(([name, fields]) => [name, object(fields)]));
  return {
    kind: "tagged",
    parse(value, path = ROOT_PATH) {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        throw new ParamError(path, `must be an object, got ${describeValue(value)}`);
      const { [key]: tag, ...rest } = value as Record<string, unknown>;
      const schema = typeof tag === "string" ? schemas.get(tag) : undefined;
      if (!schema || !Object.hasOwn(cases, tag as string))
        throw new ParamError(`${path}.${key}`, `is not a known case: ${JSON.stringify(tag)?.slice(0, 40)}`);
      return Object.freeze({ [key]: tag, ...schema.parse(rest, path) }) as TaggedOf<K, C>;
    },
    describe: () => ({
      type: "tagged",
      key,
      cases: Object.fromEntries([...schemas].map(([name, schema]) => [name, schema.describe()])),
    }),
  };
}
