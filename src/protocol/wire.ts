// Signed commands and queries: the bytes a client seals to an enclave and batches carry.
//    0  format         1   SIGNED_COMMAND_FORMAT or SIGNED_QUERY_FORMAT
//    1  chain id       8   } the ledger domain
//    9  contract      20   }
//   29  counter        8   a command's nonce, a query's issuedAt
//   37  response key  32   the secret replies are sealed under (src/protocol/reply-envelope.ts)
//   69  signer key    33   compressed secp256k1
//  102  signature     64   r ‖ s, low s, over the EIP-712 digest (src/protocol/eip712.ts)
//  166  app, name      1 + n each (a length byte, then ASCII)
//       params         2 + n (a length, then canonical JSON)
// Decoding is strict: one format, no trailing bytes. Formats 3 and 4 carry a secret response
// key (signed as its commitment); 1 and 2, which carried an X25519 public key, are refused by version.
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { NAME_PATTERN } from "../app/app.js";
import { CanonicalError, type JsonObject, parseCanonicalJson } from "../app/canonical.js";
import type { LedgerDomain } from "./digests.js";
import type { SignedCommand, SignedQuery } from "./eip712.js";

/** App, command and query names: short ASCII identifiers (users sign them; wallets display them). */
export const MAX_NAME_BYTES = 64;

export const SIGNED_COMMAND_FORMAT = 0x03;
export const SIGNED_QUERY_FORMAT = 0x04;

export const CHAIN_ID_BYTES = 8;
export const ADDRESS_BYTES = 20;
export const COUNTER_BYTES = 8;
export const RESPONSE_KEY_BYTES = 32;
export const SIGNER_KEY_BYTES = 33;
/** A command's signature: secp256k1 r ‖ s (compact, no recovery byte: the signer's key is in the message). */
export const COMPACT_SIGNATURE_BYTES = 64;
const NAME_LENGTH_BYTES = 1;
const PARAMS_LENGTH_BYTES = 2;

const OFFSET_FORMAT = 0;
const OFFSET_CHAIN_ID = OFFSET_FORMAT + 1;
const OFFSET_CONTRACT = OFFSET_CHAIN_ID + CHAIN_ID_BYTES;
const OFFSET_COUNTER = OFFSET_CONTRACT + ADDRESS_BYTES;
const OFFSET_RESPONSE_KEY = OFFSET_COUNTER + COUNTER_BYTES;
const OFFSET_SIGNER_KEY = OFFSET_RESPONSE_KEY + RESPONSE_KEY_BYTES;
const OFFSET_SIGNATURE = OFFSET_SIGNER_KEY + SIGNER_KEY_BYTES;
export const SIGNED_FIXED_BYTES = OFFSET_SIGNATURE + COMPACT_SIGNATURE_BYTES;

/**
 * Largest signed command or query: the largest batch slot (16 KiB) less its 4-byte length prefix,
 * so any command an enclave accepts fits in a batch.
 */
export const MAX_SIGNED_BYTES = 16 * 1024 - 4;
export const MAX_PARAMS_BYTES =
  MAX_SIGNED_BYTES - SIGNED_FIXED_BYTES - 2 * (NAME_LENGTH_BYTES + MAX_NAME_BYTES) - PARAMS_LENGTH_BYTES;

export const U64_MAX = (1n << 64n) - 1n;
/** The runtime's own query, answered before the app's: the nonce a sender's next command must carry. */
export const NEXT_NONCE_QUERY = "nextNonce";

export type WireErrorCode =
  | "malformed"
  | "too_large"
  | "unsupported_version"
  | "wrong_kind"
  | "wrong_domain"
  | "undecryptable"
  /** Decrypted, but the padding inside is not the strict encoding (src/protocol/padding.ts). */
  | "bad_padding";

/** Bytes that are not a valid message of the expected kind; `reason` never holds plaintext. */
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class WireError extends Error {
  override name = "WireError";
  constructor(
    readonly code: WireErrorCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

// ---------------------------------------------------------------------------------------------
// Signed command and query bytes

/** Throws unless `domain` can be carried on the wire: a positive safe-integer chain id, a 20-byte contract. */
export function checkDomain(domain: LedgerDomain): void {
  if (!Number.isSafeInteger(domain.chainId) || domain.chainId <= 0) {
    throw new WireError("malformed", "chain id must be a positive safe integer");
  }
  if (!/^0x[0-9a-fA-F]{40}$/.test(domain.contract)) {
    throw new WireError("malformed", "contract must be a 20-byte address");
  }
}

/** Same chain and contract (addresses compared case-insensitively). */
export function sameDomain(a: LedgerDomain, b: LedgerDomain): boolean {
  return a.chainId === b.chainId && a.contract.toLowerCase() === b.contract.toLowerCase();
}

export function writeDomain(out: Uint8Array, offset: number, domain: LedgerDomain): void {
  checkDomain(domain);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(offset, BigInt(domain.chainId));
  out.set(hexToBytes(domain.contract), offset + CHAIN_ID_BYTES);
}

export function readDomain(bytes: Uint8Array, offset: number): LedgerDomain {
  const chainId = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset);
  if (chainId === 0n || chainId > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new WireError("malformed", "chain id out of range");
  }
  const contract = bytesToHex(
    bytes.subarray(offset + CHAIN_ID_BYTES, offset + CHAIN_ID_BYTES + ADDRESS_BYTES),
  );
  return { chainId: Number(chainId), contract };
}

type Fields = {
  format: number;
  domain: LedgerDomain;
  counter: bigint;
  responseKey: Hex;
  signerKey: Hex;
  signature: Hex;
  app: string;
  name: string;
  params: string;
};

function fixedHex(value: Hex, bytes: number, what: string): Uint8Array {
  const out = hexToBytes(value);
  if (out.length !== bytes) throw new WireError("malformed", `${what} must be ${bytes} bytes`);
  return out;
}

function nameBytes(name: string, what: string): Uint8Array {
  if (!NAME_PATTERN.test(name)) throw new WireError("malformed", `${what} must match ${NAME_PATTERN}`);
  return utf8.encode(name);
}

function encodeFields(f: Fields): Uint8Array {
  if (f.counter < 0n || f.counter > U64_MAX)
    throw new WireError("malformed", "nonce / issuedAt must fit in 64 bits");
  const app = nameBytes(f.app, "app");
  const name = nameBytes(f.name, "name");
  const params = utf8.encode(f.params);
  if (params.length > MAX_PARAMS_BYTES)
    throw new WireError("too_large", `params exceed ${MAX_PARAMS_BYTES} bytes`);
  const out = new Uint8Array(
    SIGNED_FIXED_BYTES +
      NAME_LENGTH_BYTES +
      app.length +
      NAME_LENGTH_BYTES +
      name.length +
      PARAMS_LENGTH_BYTES +
      params.length,
  );
  const view = new DataView(out.buffer);
  out[OFFSET_FORMAT] = f.format;
  writeDomain(out, OFFSET_CHAIN_ID, f.domain);
  view.setBigUint64(OFFSET_COUNTER, f.counter);
  out.set(fixedHex(f.responseKey, RESPONSE_KEY_BYTES, "response key"), OFFSET_RESPONSE_KEY);
  out.set(fixedHex(f.signerKey, SIGNER_KEY_BYTES, "signer key"), OFFSET_SIGNER_KEY);
  out.set(fixedHex(f.signature, COMPACT_SIGNATURE_BYTES, "signature"), OFFSET_SIGNATURE);
  let at = SIGNED_FIXED_BYTES;
  for (const part of [app, name]) {
    out[at] = part.length;
    out.set(part, at + NAME_LENGTH_BYTES);
    at += NAME_LENGTH_BYTES + part.length;
  }
  view.setUint16(at, params.length);
  out.set(params, at + PARAMS_LENGTH_BYTES);
  return out;
}

function decodeFields(bytes: Uint8Array, format: number): Fields & { paramsValue: JsonObject } {
  if (bytes.length > MAX_SIGNED_BYTES)
    throw new WireError("too_large", `signed message exceeds ${MAX_SIGNED_BYTES} bytes`);
  if (bytes.length < SIGNED_FIXED_BYTES) throw new WireError("malformed", "signed message is truncated");
  if (bytes[OFFSET_FORMAT] !== format) {
    throw new WireError(
      "unsupported_version",
      `signed message format ${bytes[OFFSET_FORMAT]} is not ${format}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = SIGNED_FIXED_BYTES;
  const readName = (what: string): string => {
    const length = bytes[at];
    if (length === undefined || at + NAME_LENGTH_BYTES + length > bytes.length) {
      throw new WireError("malformed", `${what} is truncated`);
    }
    const text = String.fromCharCode(
      ...bytes.subarray(at + NAME_LENGTH_BYTES, at + NAME_LENGTH_BYTES + length),
    );
    if (!NAME_PATTERN.test(text)) throw new WireError("malformed", `${what} must match ${NAME_PATTERN}`);
    at += NAME_LENGTH_BYTES + length;
    return text;
  };
  const app = readName("app");
  const name = readName("name");
  if (at + PARAMS_LENGTH_BYTES > bytes.length) throw new WireError("malformed", "params are truncated");
  const paramsLength = view.getUint16(at);
  at += PARAMS_LENGTH_BYTES;
  if (at + paramsLength !== bytes.length)
    throw new WireError("malformed", "params length does not match the message");
  let params: string;
  let paramsValue: unknown;
  try {
    params = utf8Strict.decode(bytes.subarray(at));
    paramsValue = parseCanonicalJson(params);
  } catch (e) {
    const why = e instanceof CanonicalError ? e.message : "params are not valid UTF-8";
    throw new WireError("malformed", `params: ${why}`);
  }
  if (typeof paramsValue !== "object" || paramsValue === null || Array.isArray(paramsValue)) {
    throw new WireError("malformed", "params must be a JSON object");
  }
  return {
    format,
    domain: readDomain(bytes, OFFSET_CHAIN_ID),
    counter: view.getBigUint64(OFFSET_COUNTER),
    responseKey: bytesToHex(bytes.subarray(OFFSET_RESPONSE_KEY, OFFSET_RESPONSE_KEY + RESPONSE_KEY_BYTES)),
    signerKey: bytesToHex(bytes.subarray(OFFSET_SIGNER_KEY, OFFSET_SIGNER_KEY + SIGNER_KEY_BYTES)),
    signature: bytesToHex(bytes.subarray(OFFSET_SIGNATURE, OFFSET_SIGNATURE + COMPACT_SIGNATURE_BYTES)),
    app,
    name,
    params,
    paramsValue: paramsValue as JsonObject,
  };
}

export function encodeSignedCommand(signed: SignedCommand): Uint8Array {
  return encodeFields({
    ...signed,
    format: SIGNED_COMMAND_FORMAT,
    counter: signed.nonce,
    name: signed.command,
  });
}

/** Strict decode; also returns the params parsed (they were parsed to check they are canonical). */
export function decodeSignedCommand(bytes: Uint8Array): SignedCommand & { paramsValue: JsonObject } {
  const f = decodeFields(bytes, SIGNED_COMMAND_FORMAT);
  return {
    domain: f.domain,
    app: f.app,
    command: f.name,
    params: f.params,
    paramsValue: f.paramsValue,
    nonce: f.counter,
    responseKey: f.responseKey,
    signerKey: f.signerKey,
    signature: f.signature,
  };
}

export function encodeSignedQuery(signed: SignedQuery): Uint8Array {
  return encodeFields({
    ...signed,
    format: SIGNED_QUERY_FORMAT,
    counter: signed.issuedAt,
    name: signed.query,
  });
}

export function decodeSignedQuery(bytes: Uint8Array): SignedQuery & { paramsValue: JsonObject } {
  const f = decodeFields(bytes, SIGNED_QUERY_FORMAT);
  return {
    domain: f.domain,
    app: f.app,
    query: f.name,
    params: f.params,
    paramsValue: f.paramsValue,
    issuedAt: f.counter,
    responseKey: f.responseKey,
    signerKey: f.signerKey,
    signature: f.signature,
  };
}
