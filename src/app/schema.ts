// Parameter schemas for app commands and queries: a handful of types with exact rules and clear
// messages, and no schema library (what runs in the enclave stays small and auditable). A schema
// checks parsed JSON and returns the typed, normalized value; the app never sees unchecked input.
//
//   const transfer = object({ to: address(), amount: uint() });
//   type Transfer = Infer<typeof transfer>;   // { readonly to: `0x${string}`; readonly amount: bigint }
import { keccak_256 } from "@noble/hashes/sha3.js";
import type { Address } from "viem";
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

export type SchemaKind = "address" | "uint" | "string" | "bool" | "object" | "optional";

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
const HAS_LOWER_HEX = /[a-f]/;
const HAS_UPPER_HEX = /[A-F]/;
const LONE_SURROGATE = /\p{Surrogate}/u;
const ROOT_PATH = "params";
/** EIP-55: a hex letter is upper case when its nibble of keccak256(lower-case hex) is at least 8. */
const CHECKSUM_NIBBLE_THRESHOLD = 8;

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
      const body = value.slice(2);
      if (HAS_LOWER_HEX.test(body) && HAS_UPPER_HEX.test(body) && !hasValidChecksum(body)) {
        throw new ParamError(path, "has mixed case but an invalid EIP-55 checksum");
      }
      return `0x${body.toLowerCase()}` as Address;
    },
    describe: () => ({ type: "address" }),
  };
}

function hasValidChecksum(body: string): boolean {
  const lower = body.toLowerCase();
  const hash = keccak_256(new TextEncoder().encode(lower));
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c >= "0" && c <= "9") continue;
    const byte = hash[i >> 1]!;
    const nibble = i % 2 === 0 ? byte >> 4 : byte & 0x0f;
    const upper = nibble >= CHECKSUM_NIBBLE_THRESHOLD;
    if (upper !== (c === c.toUpperCase())) return false;
  }
  return true;
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
 * missing optional field). The result is a new frozen object holding only the parsed fields.
 */
export function object<F extends Fields>(fields: F): ObjectSchema<ObjectOf<F>> {
  const names = Object.keys(fields);
  return {
    kind: "object",
    fields,
    parse(value, path = ROOT_PATH) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new ParamError(path, `must be an object, got ${describeValue(value)}`);
      }
      const record = value as Record<string, unknown>;
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
