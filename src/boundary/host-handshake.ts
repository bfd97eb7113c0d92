// The handshake that opens a socket boundary (`anonify enclave serve --listen`, src/host/enclave-serve.ts):
// before any call crosses, the peer proves it holds the host token the operator gave both sides, so
// a stranger on the network can neither drive the enclave nor take the host's place. The host is the
// adversary anyway; the token only tells it from everyone else. After `accepted`, the connection
// carries the boundary's frames exactly as stdio does (frames.ts); nothing else is added.
//
// Each message is UTF-8 JSON in one frame of frames.ts: a 4-byte big-endian length (the CONTINUED bit
// clear), then at most MAX_HANDSHAKE_BYTES. In order:
//   enclave side → peer   {"step":"challenge","v":1,"nonce":"0x<32 bytes>"}   fresh random per connection
//   peer → enclave side   {"step":"proof","session":"resume"|"fresh","mac":"0x<32 bytes>"}
//                         mac = HMAC-SHA256(token, LABEL ‖ nonce ‖ session as UTF-8)
//   enclave side → peer   {"step":"accepted"}  or  {"step":"refused","reason":"<text>"}, then closed
// A MAC over a fresh nonce, not the token itself: whoever reads the connection (the path between a
// host and its VM) learns nothing to replay. The MAC is compared in constant time.
// `session`: "resume" continues with the enclave process already running (its state in memory), if
// one is; "fresh" ends it and starts a new one. It is in the MAC: a man in the middle cannot turn a
// reconnection into a fresh enclave (a rejoin on TDX and SEV-SNP).
import { equalBytes } from "@noble/ciphers/utils.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "@noble/hashes/utils.js";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { hex, int, oneOf, ParamError, string, tagged } from "../app/schema.js";
import { FRAME_HEADER_BYTES } from "./frames.js";

/** The handshake's version; a peer speaking another is refused. */
export const HANDSHAKE_VERSION = 1;
/** Largest handshake message either side reads: the longest is a refusal's reason. */
export const MAX_HANDSHAKE_BYTES = 1024;
export const HANDSHAKE_NONCE_BYTES = 32;
const MAC_BYTES = 32;
const MAX_REASON_CHARS = 200;
/** Fewest characters a host token file holds (`openssl rand -hex 32` writes 64). */
export const MIN_HOST_TOKEN_CHARS = 32;
/** Domain separation: this MAC proves a host to an enclave side and means nothing elsewhere. */
const PROOF_LABEL = new TextEncoder().encode("anonify enclave host proof v1");
/** The frame header bit of a message continued in the next frame: a handshake message has none. */
const CONTINUED = 0x8000_0000;

/** What the host asks of the enclave side: the running enclave (resume), or a new one (fresh). */
export const SESSION_MODES = ["resume", "fresh"] as const;
export type SessionMode = (typeof SESSION_MODES)[number];

const HANDSHAKE_MESSAGE = tagged("step", {
  challenge: {
    v: int({ min: HANDSHAKE_VERSION, max: HANDSHAKE_VERSION }),
    nonce: hex({ min: HANDSHAKE_NONCE_BYTES, max: HANDSHAKE_NONCE_BYTES }),
  },
  proof: {
    session: oneOf(SESSION_MODES),
    mac: hex({ min: MAC_BYTES, max: MAC_BYTES }),
  },
  accepted: {},
  refused: { reason: string({ maxLength: MAX_REASON_CHARS }) },
});
export type HandshakeMessage =
  | { step: "challenge"; v: number; nonce: Hex }
  | { step: "proof"; session: SessionMode; mac: Hex }
  | { step: "accepted" }
  | { step: "refused"; reason: string };

/** A handshake the peer broke (too long, not JSON, not the message expected): the connection ends. */
export class HandshakeError extends Error {
  override name = "HandshakeError";
}

/** A host token as its file holds it: surrounding whitespace dropped, refused if too short to be a secret. */
export function hostToken(fileText: string, path: string): string {
  const token = fileText.trim();
  if (token.length < MIN_HOST_TOKEN_CHARS)
    throw new HandshakeError(
      `${path}: a host token is at least ${MIN_HOST_TOKEN_CHARS} characters (e.g. openssl rand -hex 32 > ${path})`,
    );
  return token;
}

/** A handshake message in its frame. */
export function encodeHandshake(message: HandshakeMessage): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(message));
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/**
 * The first handshake message at the front of `bytes` and the bytes after it (left for the frames
 * that follow), or undefined while it is incomplete. Checked strictly: an oversized or continued
 * frame is refused from its header, before its body arrives.
 */
export function takeHandshake(
  bytes: Uint8Array,
): { message: HandshakeMessage; rest: Uint8Array } | undefined {
  if (bytes.length < FRAME_HEADER_BYTES) return undefined;
  const header = new DataView(bytes.buffer, bytes.byteOffset, FRAME_HEADER_BYTES).getUint32(0);
  if ((header & CONTINUED) !== 0 || header > MAX_HANDSHAKE_BYTES)
    throw new HandshakeError(`a handshake message is one frame of at most ${MAX_HANDSHAKE_BYTES} bytes`);
  if (bytes.length < FRAME_HEADER_BYTES + header) return undefined;
  const body = bytes.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + header);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new HandshakeError("a handshake message is not JSON");
  }
  try {
    const message = HANDSHAKE_MESSAGE.parse(json, "handshake") as HandshakeMessage;
    return { message, rest: bytes.subarray(FRAME_HEADER_BYTES + header) };
  } catch (error) {
    if (error instanceof ParamError) throw new HandshakeError(`bad handshake message: ${error.message}`);
    throw error;
  }
}

/** A fresh challenge, and the nonce to check its proof against. */
export function challenge(): { message: HandshakeMessage; nonce: Uint8Array } {
  const nonce = randomBytes(HANDSHAKE_NONCE_BYTES);
  return { message: { step: "challenge", v: HANDSHAKE_VERSION, nonce: bytesToHex(nonce) }, nonce };
}

const mac = (token: string, nonce: Uint8Array, session: SessionMode): Uint8Array => {
  const encode = (text: string) => new TextEncoder().encode(text);
  return hmac(sha256, encode(token), new Uint8Array([...PROOF_LABEL, ...nonce, ...encode(session)]));
};

/** The peer's answer to a challenge: proof that it holds `token`, for the session it asks. */
export function proofFor(
  token: string,
  challenged: HandshakeMessage,
  session: SessionMode = "resume",
): HandshakeMessage {
  if (challenged.step !== "challenge")
    throw new HandshakeError(`expected a challenge, got ${challenged.step}`);
  return { step: "proof", session, mac: bytesToHex(mac(token, hexToBytes(challenged.nonce), session)) };
}

/** Whether `answer` proves `token` for `nonce` and the session it names (in constant time). */
export function provesHost(answer: HandshakeMessage, token: string, nonce: Uint8Array): boolean {
  return answer.step === "proof" && equalBytes(hexToBytes(answer.mac), mac(token, nonce, answer.session));
}
