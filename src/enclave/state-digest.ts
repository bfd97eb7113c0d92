// A digest of a state value that depends on its content only, and costs, after a change, what the
// change touched: the Merkle digest of each persistent map over its trie (pmap.ts `digest`), every
// node's digest and every immutable value's digest kept by identity. A native Map digests as the
// persistent map with the same entries (a state restored from its encoding holds persistent maps
// where the live one may hold native ones: both must give one digest), at the cost of a pass over it:
// apps keep large maps persistent. Not a MAC: the enclave keys it (src/enclave/ledger-digest.ts)
// before it leaves the enclave, since a digest of a small state can be brute-forced.
//
// A value enters its parent as a part: a scalar inline, as a type tag, a u32 length and its bytes
// (a number as its shortest decimal text, a bigint as its decimal text, a string as UTF-8; null and
// the booleans as the tag alone), a composite as the tag DIGEST and its 32-byte digest. Inline, so
// that a map of scalars costs one hash per leaf of its trie (most hold one entry), written into one
// scratch buffer: a joiner digests a whole installed state once (100,000 holders and as many nonces).
//   digest(array)  = SHA-256(ARRAY ‖ part of each element, in order)
//   digest(object) = SHA-256(OBJECT ‖ for each key in sorted order: part(key) ‖ part(value))
//   digest(map)    = SHA-256(MAP ‖ u64 size ‖ its trie's digest), each leaf of the trie hashing
//                    LEAF ‖ part(key) ‖ part(value) for each of its entries, sorted by those bytes
//   digest(scalar) = SHA-256(its part)

import type { StateKey, StateValue } from "../app/canonical.js";
import { type MapDigester, PersistentMap } from "../app/pmap.js";
import { sha256Of } from "../protocol/bytes.js";

const TAG = {
  null: 0,
  false: 1,
  true: 2,
  number: 3,
  bigint: 4,
  string: 5,
  digest: 6,
  array: 7,
  object: 8,
  map: 9,
  leaf: 10,
} as const;

const LENGTH_BYTES = 4;
const U64_BYTES = 8;
const DIGEST_BYTES = 32;
const MAX_UTF8_BYTES_PER_CHAR = 3;

/** Hashes computed so far: what a test counts to see that a digest after a change cost its path only. */
let hashes = 0;
export const stateDigestHashes = (): number => hashes;

function hash(parts: readonly Uint8Array[]): Uint8Array {
  hashes++;
  return sha256Of(parts);
}

/** Digests of immutable composite values by identity (a state is never changed in place). */
const values = new WeakMap<object, Uint8Array>();

const utf8 = new TextEncoder();

/** A growable buffer the parts of one hash input are written into. */
class Scratch {
  bytes = new Uint8Array(256);
  view = new DataView(this.bytes.buffer);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
  byte(b: number): void {
    this.room(1);
    this.bytes[this.length++] = b;
  }
  raw(b: Uint8Array): void {
    this.room(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }
  /** Tag, u32 length, UTF-8 of `text`. */
  text(tag: number, text: string): void {
    this.room(1 + LENGTH_BYTES + text.length * MAX_UTF8_BYTES_PER_CHAR);
    this.bytes[this.length] = tag;
    const { written } = utf8.encodeInto(text, this.bytes.subarray(this.length + 1 + LENGTH_BYTES));
    this.view.setUint32(this.length + 1, written);
    this.length += 1 + LENGTH_BYTES + written;
  }
  /** How `value` enters its parent's hash (see the top of this file). */
  part(value: StateValue): void {
    if (value === null) this.byte(TAG.null);
    else if (typeof value === "boolean") this.byte(value ? TAG.true : TAG.false);
    else if (typeof value === "number") this.text(TAG.number, String(value === 0 ? 0 : value));
    else if (typeof value === "bigint") this.text(TAG.bigint, value.toString());
    else if (typeof value === "string") this.text(TAG.string, value);
    else {
      this.byte(TAG.digest);
      this.raw(compositeDigest(value));
    }
  }
  /** The hash of what was written, and the buffer cleared for the next. */
  digest(): Uint8Array {
    const out = hash([this.bytes.subarray(0, this.length)]);
    this.length = 0;
    return out;
  }
}

/** One per nesting depth: a composite's parts may need their own digests while its input is written. */
const scratches: Scratch[] = [];
let depth = 0;
function withScratch(write: (s: Scratch) => void): Uint8Array {
  scratches[depth] ??= new Scratch();
  const s = scratches[depth]!;
  depth++;
  try {
    s.length = 0;
    write(s);
    return s.digest();
  } finally {
    depth--;
  }
}

function entryBytes(key: StateKey, value: StateValue): Uint8Array {
  const s = new Scratch();
  s.part(key);
  s.part(value);
  return s.bytes.slice(0, s.length);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const mapDigester: MapDigester<StateKey, StateValue> = {
  leaf: (entries) =>
    withScratch((s) => {
      s.byte(TAG.leaf);
      if (entries.length === 1) {
        const [key, value] = entries[0]!;
        s.part(key);
        s.part(value);
        return;
      }
      // Keys whose trie hashes collide share a leaf in insertion order: sorted, so the digest is not.
      for (const bytes of entries.map(([k, v]) => entryBytes(k, v)).sort(compareBytes)) s.raw(bytes);
    }),
  hash,
  nodes: new WeakMap(),
};

function u64(n: number): Uint8Array {
  const out = new Uint8Array(U64_BYTES);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

type Composite = Exclude<StateValue, null | boolean | number | bigint | string>;

function compositeDigest(value: Composite): Uint8Array {
  const known = values.get(value);
  if (known) return known;
  let digest: Uint8Array;
  if (value instanceof PersistentMap) {
    digest = hash([Uint8Array.of(TAG.map), u64(value.size), value.digest(mapDigester)]);
  } else if (value instanceof Map) {
    digest = compositeDigest(PersistentMap.from(value as ReadonlyMap<StateKey, StateValue>));
  } else if (Array.isArray(value)) {
    const items = value as readonly StateValue[];
    digest = withScratch((s) => {
      s.byte(TAG.array);
      for (const item of items) s.part(item);
    });
  } else {
    const record = value as { readonly [key: string]: StateValue };
    digest = withScratch((s) => {
      s.byte(TAG.object);
      for (const key of Object.keys(record).sort()) {
        s.part(key);
        s.part(record[key]!);
      }
    });
  }
  if (digest.length !== DIGEST_BYTES) throw new Error("SHA-256 gave no 32-byte digest");
  values.set(value, digest);
  return digest;
}

/** The digest of a state value (see the top of this file). */
export function stateDigest(value: StateValue): Uint8Array {
  return typeof value === "object" && value !== null
    ? compositeDigest(value)
    : withScratch((s) => s.part(value));
}
