// Our handshake read with ts-mls: its commit and Welcome as MLS messages (the byte format is
// handshake-frames.ts's).
import { decodeMlsMessage, type PrivateMessage, type Welcome } from "ts-mls";
import { MalformedHandshake } from "./errors.js";
import { decodeHandshake } from "./handshake-frames.js";

/** Commits go out as PrivateMessage: the chain sees group id, epoch and sizes, not who was added or removed. */
export const COMMIT_WIREFORMAT = "mls_private_message";

/** The epoch the handshake's commit was made in, read from the clear PrivateMessage header. */
export function handshakeEpoch(handshake: Uint8Array): bigint {
  return parseHandshake(handshake).commit.epoch;
}

export function parseHandshake(handshake: Uint8Array): {
  commit: PrivateMessage;
  welcome: Welcome | undefined;
  memberSet: Uint8Array | undefined;
} {
  const parts = decodeHandshake(handshake);
  const commit = decodeWhole(parts.commit, (b) => decodeMlsMessage(b, 0));
  if (commit?.wireformat !== COMMIT_WIREFORMAT || commit.privateMessage.contentType !== "commit") {
    throw new MalformedHandshake("first field is not a commit PrivateMessage");
  }
  const { memberSet } = parts;
  if (parts.welcome === undefined) return { commit: commit.privateMessage, welcome: undefined, memberSet };
  const welcome = decodeWhole(parts.welcome, (b) => decodeMlsMessage(b, 0));
  if (welcome?.wireformat !== "mls_welcome") throw new MalformedHandshake("second field is not a Welcome");
  return { commit: commit.privateMessage, welcome: welcome.welcome, memberSet };
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
