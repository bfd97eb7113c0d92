// Our byte formats around ts-mls's messages. Handshake wire format:
//   u8 version (1) | u32 len | commit MLSMessage (PrivateMessage) | u32 len | welcome MLSMessage or empty
// Lengths are big-endian; the bytes must be consumed exactly.
import { decodeMlsMessage, type PrivateMessage, type Welcome } from "ts-mls";
import { type GroupError, MalformedHandshake } from "./errors.js";

/** First byte of the handshake encoding, so a format change is detected instead of misparsed. */
const HANDSHAKE_VERSION = 1;
/** Every field of our encodings is prefixed by its length as a big-endian u32. */
const LENGTH_PREFIX_BYTES = 4;
/** Commits go out as PrivateMessage: the chain sees group id, epoch and sizes, not who was added or removed. */
export const COMMIT_WIREFORMAT = "mls_private_message";

/** Our handshake before encoding: the commit and, when it adds members, their Welcome (both MLSMessage). */
export type HandshakeParts = { readonly commit: Uint8Array; readonly welcome: Uint8Array | undefined };

export function encodeHandshake(parts: HandshakeParts): Uint8Array {
  return encodeFrames(HANDSHAKE_VERSION, [parts.commit, parts.welcome ?? new Uint8Array()]);
}

export function decodeHandshake(handshake: Uint8Array): HandshakeParts {
  const fields = decodeFrames(handshake, HANDSHAKE_VERSION, 2, (m) => new MalformedHandshake(m));
  const [commit, welcome] = fields as [Uint8Array, Uint8Array];
  return { commit, welcome: welcome.length === 0 ? undefined : welcome };
}

/** The epoch the handshake's commit was made in, read from the clear PrivateMessage header. */
export function handshakeEpoch(handshake: Uint8Array): bigint {
  return parseHandshake(handshake).commit.epoch;
}

export function parseHandshake(handshake: Uint8Array): {
  commit: PrivateMessage;
  welcome: Welcome | undefined;
} {
  const parts = decodeHandshake(handshake);
  const commit = decodeWhole(parts.commit, (b) => decodeMlsMessage(b, 0));
  if (commit?.wireformat !== COMMIT_WIREFORMAT || commit.privateMessage.contentType !== "commit") {
    throw new MalformedHandshake("first field is not a commit PrivateMessage");
  }
  if (parts.welcome === undefined) return { commit: commit.privateMessage, welcome: undefined };
  const welcome = decodeWhole(parts.welcome, (b) => decodeMlsMessage(b, 0));
  if (welcome?.wireformat !== "mls_welcome") throw new MalformedHandshake("second field is not a Welcome");
  return { commit: commit.privateMessage, welcome: welcome.welcome };
}

export function encodeFrames(version: number, fields: readonly Uint8Array[]): Uint8Array {
  const total = fields.reduce((n, f) => n + LENGTH_PREFIX_BYTES + f.length, 1);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out[0] = version;
  let offset = 1;
  for (const field of fields) {
    view.setUint32(offset, field.length);
    out.set(field, offset + LENGTH_PREFIX_BYTES);
    offset += LENGTH_PREFIX_BYTES + field.length;
  }
  return out;
}

export function decodeFrames(
  bytes: Uint8Array,
  version: number,
  count: number,
  fail: (message: string) => GroupError,
): Uint8Array[] {
  if (bytes.length === 0) throw fail("empty");
  if (bytes[0] !== version) throw fail(`unknown version ${bytes[0]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Uint8Array[] = [];
  let offset = 1;
  for (let i = 0; i < count; i++) {
    if (offset + LENGTH_PREFIX_BYTES > bytes.length) throw fail(`truncated before length of field ${i}`);
    const length = view.getUint32(offset);
    offset += LENGTH_PREFIX_BYTES;
    if (length > bytes.length - offset)
      throw fail(`field ${i} claims ${length} bytes, ${bytes.length - offset} left`);
    fields.push(bytes.slice(offset, offset + length));
    offset += length;
  }
  if (offset !== bytes.length) throw fail(`${bytes.length - offset} trailing bytes`);
  return fields;
}

/** Runs a ts-mls decoder that must consume all of `bytes`; undefined when it fails or throws. */
export function decodeWhole<T>(
  bytes: Uint8Array,
  decode: (b: Uint8Array) => [T, number] | undefined,
): T | undefined {
  try {
    const result = decode(bytes);
    return result !== undefined && result[1] === bytes.length ? result[0] : undefined;
  } catch {
    return undefined;
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
