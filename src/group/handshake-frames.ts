// Our byte formats around ts-mls's messages, read without ts-mls (a client reads a handshake's member
// set commitment, src/client/chain-checks.ts). Handshake wire format:
//   u8 version (2) | u32 len | commit MLSMessage (PrivateMessage) | u32 len | welcome MLSMessage or empty
//   | u32 len | member set digest (the committer's, of the group its commit makes) or empty
// Lengths are big-endian; the bytes must be consumed exactly.
import { type GroupError, MalformedHandshake } from "./errors.js";

/** First byte of the handshake encoding, so a format change is detected instead of misparsed. */
const HANDSHAKE_VERSION = 2;
const HANDSHAKE_FIELDS = 3;
/** Every field of our encodings is prefixed by its length as a big-endian u32. */
const LENGTH_PREFIX_BYTES = 4;

/**
 * Our handshake before encoding: the commit and, when it adds members, their Welcome (both
 * MLSMessage), and the digest of the member set the commit makes (`AuthenticationService`
 * `memberSetDigest`), if the committer names one.
 */
export type HandshakeParts = {
  readonly commit: Uint8Array;
  readonly welcome: Uint8Array | undefined;
  readonly memberSet: Uint8Array | undefined;
};

const orEmpty = (field: Uint8Array | undefined) => field ?? new Uint8Array();
const orUndefined = (field: Uint8Array) => (field.length === 0 ? undefined : field);

export function encodeHandshake(parts: HandshakeParts): Uint8Array {
  return encodeFrames(HANDSHAKE_VERSION, [parts.commit, orEmpty(parts.welcome), orEmpty(parts.memberSet)]);
}

export function decodeHandshake(handshake: Uint8Array): HandshakeParts {
  const fields = decodeFrames(
    handshake,
    HANDSHAKE_VERSION,
    HANDSHAKE_FIELDS,
    (m) => new MalformedHandshake(m),
  );
  const [commit, welcome, memberSet] = fields as [Uint8Array, Uint8Array, Uint8Array];
  return { commit, welcome: orUndefined(welcome), memberSet: orUndefined(memberSet) };
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
