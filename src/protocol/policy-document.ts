// Signed, versioned policy documents: what a deployment's policy signers (k of n keys pinned in the
// enclave's measured build, `EnclaveConfig.policyKeys`) tell every enclave beyond its own build.
// They travel on chain (`publishPolicy(document, signatures)` → `PolicyPublished`), so every enclave
// sees the same documents in the same order; the contract does not check them: the content
// authenticates itself, inside each enclave.
//
// Byte layout (big-endian, strict: every byte accounted for, nothing after the last field):
//
//   offset  size  field
//   0       8     magic "ANFYPLCY"
//   8       1     format (1; any other is refused)
//   9       8     version   u64, ≥ 1: an enclave applies a document only if it is above the one it holds
//   17      8     chainId   u64: the chain the document is for
//   25      20    contract  the Anonify contract the document is for
//   45      …     fields: each `u8 tag | u32 length | body`, tags strictly ascending (each at most once)
//
// Fields (an unknown tag is refused: an enclave never applies a document it cannot read in full):
//   1  revocations   body = u16 count | count × 20-byte enclave address, strictly ascending (so no
//                    duplicates). Revocations accumulate: an enclave keeps every revocation of every
//                    document it applied, and a later document need not repeat them.
//   2  measurements  body = u16 count | count × (u8 platform | 32-byte measurement word), strictly
//                    ascending by those 33 bytes: measurements admitted besides the build's own (an
//                    upgrade: both builds apply the document, so each admits the other). The word is
//                    the contract's (`measurementWord`: Nitro's 48-byte PCR0 as its SHA-256).
//   3  tcb-minimums  body = u8 count | count × (u8 platform | u16 accepted TCB statuses, bit i for
//                    `TcbStatus` value i | u32 minimum tcbEvaluationDataNumber), platforms strictly
//                    ascending: evidence of a listed platform is admitted only with an accepted
//                    status and collateral at least that fresh (0: no minimum; evidence that names
//                    no number counts as 0).
//   4  apps          body = u16 count | count × 32-byte app id (`appIdOf` in src/protocol/digests.ts:
//                    name, code hash, state version), strictly ascending: apps admitted besides the
//                    member's own (an upgrade of the app: both builds apply the document, so it names
//                    both, and each admits the other; without it, an enclave built with another app
//                    is refused whatever its measurement).
//   5  upgrade       body = the from app, then the to app, each in full: u8 name length | name |
//                    32-byte code hash | u32 state version (src/protocol/policy-upgrade.ts): the
//                    network's app `from` (its id, `appIdOf`) is upgraded to `to`, a version of it
//                    (the same name, refused by name otherwise) whose state has another shape, at a
//                    higher state version, at this document's place in the event sequence (its
//                    `PolicyPublished`): enclaves of `from` apply no command after it, enclaves of
//                    `to` start from `from`'s state there, migrated (`migrate` of src/app/app.ts;
//                    docs/operations.md §6). The document must name both in `apps` (each side admits
//                    the other to the group).
//   6  max-vmpl      body = u8, 0 to 3 (src/protocol/policy-vmpl.ts): the highest SEV-SNP VMPL whose
//                    reports members admit (an SVSM deployment's guest kernel runs at VMPL 1 or more);
//                    absent from every document, the build's profile decides (production: 0).
//   Fields 2, 3, 4, 5 and 6 replace what the previous document said, when present; absent, it stands. So a
//   document that drops an old measurement after an upgrade stops its admission (members already
//   in the group stay until a revocation or their leave removes them).
//
// Signatures: each is 98 bytes, a secp256k1 signature (r ‖ s ‖ v, under the one rule of
// src/protocol/signatures.ts) over the raw digest `keccak256(abi.encode(POLICY_TAG, chainId,
// contract, keccak256(document)))` (`policyDigest` in src/protocol/digests.ts, POLICY_TAG =
// keccak256("anonify.policy.v1")), then the signer's 33-byte compressed public key. The key is there
// so that an enclave pays for a signature only when it is a pinned signer's: an unknown key costs a
// hash (its address is not pinned), a pinned one a verification against that key, never a recovery.
// A document is valid for a domain if its chain and contract are that domain's and at least
// `threshold` distinct pinned signers signed it; it may carry at most one signature per pinned
// signer, so that checking it costs at most that many verifications.

import { type Address, bytesToHex, concat, getAddress, type Hex, hexToBytes, toBytes } from "viem";
import { TcbStatus, type TcbStatusName } from "../attestation/verdict.js";
import { hexOf } from "./bytes.js";
import type { LedgerDomain } from "./digests.js";
import { type AppUpgrade, decodeUpgrade, upgradeBody } from "./policy-upgrade.js";
import { decodeVmpl, vmplBody } from "./policy-vmpl.js";
import { COMPRESSED_KEY_BYTES, SIGNATURE_BYTES } from "./signatures.js";

export { POLICY_TAG, policyDigest } from "./digests.js";
export type { AppUpgrade } from "./policy-upgrade.js";

export const POLICY_MAGIC = "ANFYPLCY";
export const POLICY_FORMAT = 1;
/**
 * ~800 revocations (they accumulate across documents: none need be repeated); bounds what every
 * enclave parses of an event anyone may publish. The contract refuses a larger one.
 */
export const MAX_POLICY_BYTES = 16 * 1024;
export const MAX_POLICY_SIGNATURES = 32;
/** A signature and the compressed public key that made it. */
export const POLICY_SIGNATURE_BYTES = SIGNATURE_BYTES + COMPRESSED_KEY_BYTES;

const FIELD_REVOCATIONS = 1;
const FIELD_MEASUREMENTS = 2;
const FIELD_TCB_MINIMUMS = 3;
const FIELD_APPS = 4;
const FIELD_UPGRADE = 5;
const FIELD_MAX_VMPL = 6;
const APP_ID_BYTES = 32;
const HEADER_BYTES = 45;
const FIELD_HEADER_BYTES = 5;
const ADDRESS_BYTES = 20;
const MEASUREMENT_ENTRY_BYTES = 33;
const TCB_MINIMUM_ENTRY_BYTES = 7;
const U64_MAX = (1n << 64n) - 1n;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
/** TCB status names by their number (bit position in a tcb-minimums mask). */
const STATUS_NAMES = Object.keys(TcbStatus) as TcbStatusName[];

/** A measurement admitted besides the build's own: its platform (`Platform`) and 32-byte word, lower case. */
export type AdmittedMeasurement = { platform: number; measurement: Hex };

/** What evidence of one platform must show: a status in `statuses` (names of `TcbStatus`), collateral at least this fresh. */
export type TcbMinimum = { platform: number; statuses: TcbStatusName[]; tcbEvaluationDataNumber: number };

export type PolicyDocument = {
  version: bigint;
  chainId: bigint;
  contract: Address;
  /** Enclave addresses, lower case, ascending. */
  revocations: Hex[];
  /** Absent: the previous document's list stands. */
  measurements?: AdmittedMeasurement[];
  /** Absent: the previous document's minimums stand. */
  tcbMinimums?: TcbMinimum[];
  /** App ids admitted besides the group's own, lower case. Absent: the previous document's stand. */
  apps?: Hex[];
  /** Absent: the previous document's stands. */
  upgrade?: AppUpgrade;
  /** The highest SEV-SNP VMPL admitted. Absent: the previous document's stands. */
  maxVmpl?: number;
};

/** The policy keys a build pins: a document counts only with `threshold` distinct signers of `signers`. */
export type PolicyKeys = { threshold: number; signers: Address[] };

export class PolicyError extends Error {
  override name = "PolicyError";
}

function u64(value: bigint, field: string): Uint8Array {
  if (value < 0n || value > U64_MAX) throw new PolicyError(`${field} does not fit in u64`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

function sortedAddresses(addresses: readonly Hex[]): Hex[] {
  const lower = addresses.map((a) => getAddress(a).toLowerCase() as Hex);
  return [...new Set(lower)].sort();
}

function field(tag: number, body: Uint8Array): Uint8Array {
  const header = new Uint8Array(FIELD_HEADER_BYTES);
  header[0] = tag;
  new DataView(header.buffer).setUint32(1, body.length);
  return concat([header, body]);
}

function platformByte(platform: number): number {
  if (!Number.isInteger(platform) || platform < 0 || platform > 0xff)
    throw new PolicyError(`platform ${platform} does not fit in u8`);
  return platform;
}

function measurementsBody(entries: readonly AdmittedMeasurement[]): Uint8Array {
  const encoded = entries.map((e) => {
    const word = hexToBytes(e.measurement);
    if (word.length !== 32) throw new PolicyError("a measurement word is 32 bytes");
    return bytesToHex(concat([Uint8Array.of(platformByte(e.platform)), word]));
  });
  const sorted = [...new Set(encoded)].sort();
  if (sorted.length > U16_MAX) throw new PolicyError("too many measurements");
  const count = new Uint8Array(2);
  new DataView(count.buffer).setUint16(0, sorted.length);
  return concat([count, ...sorted.map((e) => hexToBytes(e))]);
}

function tcbMinimumsBody(entries: readonly TcbMinimum[]): Uint8Array {
  const sorted = [...entries].sort((a, b) => a.platform - b.platform);
  if (sorted.length > 0xff) throw new PolicyError("too many TCB minimums");
  const body = new Uint8Array(1 + TCB_MINIMUM_ENTRY_BYTES * sorted.length);
  const view = new DataView(body.buffer);
  body[0] = sorted.length;
  for (const [i, entry] of sorted.entries()) {
    if (i > 0 && entry.platform === sorted[i - 1]!.platform)
      throw new PolicyError(`platform ${entry.platform} has two TCB minimums`);
    const n = entry.tcbEvaluationDataNumber;
    if (!Number.isInteger(n) || n < 0 || n > U32_MAX)
      throw new PolicyError("tcbEvaluationDataNumber does not fit in u32");
    let mask = 0;
    for (const status of entry.statuses) mask |= 1 << TcbStatus[status];
    const at = 1 + TCB_MINIMUM_ENTRY_BYTES * i;
    body[at] = platformByte(entry.platform);
    view.setUint16(at + 1, mask);
    view.setUint32(at + 3, n);
  }
  return body;
}

function appsBody(apps: readonly Hex[]): Uint8Array {
  const sorted = [...new Set(apps.map((a) => a.toLowerCase()))].sort();
  if (sorted.some((a) => hexToBytes(a as Hex).length !== APP_ID_BYTES))
    throw new PolicyError("an app id is 32 bytes");
  if (sorted.length > U16_MAX) throw new PolicyError("too many apps");
  const count = new Uint8Array(2);
  new DataView(count.buffer).setUint16(0, sorted.length);
  return concat([count, ...sorted.map((a) => hexToBytes(a as Hex))]);
}

export function encodePolicy(document: PolicyDocument): Uint8Array {
  if (document.version < 1n) throw new PolicyError("version starts at 1");
  const revocations = sortedAddresses(document.revocations);
  if (revocations.length > U16_MAX) throw new PolicyError("too many revocations");
  const count = new Uint8Array(2);
  new DataView(count.buffer).setUint16(0, revocations.length);
  const parts: Uint8Array[] = [
    toBytes(POLICY_MAGIC),
    Uint8Array.of(POLICY_FORMAT),
    u64(document.version, "version"),
    u64(document.chainId, "chainId"),
    hexToBytes(getAddress(document.contract)),
    field(FIELD_REVOCATIONS, concat([count, ...revocations.map((a) => hexToBytes(a))])),
  ];
  if (document.measurements) parts.push(field(FIELD_MEASUREMENTS, measurementsBody(document.measurements)));
  if (document.tcbMinimums) parts.push(field(FIELD_TCB_MINIMUMS, tcbMinimumsBody(document.tcbMinimums)));
  if (document.apps) parts.push(field(FIELD_APPS, appsBody(document.apps)));
  if (document.upgrade) parts.push(field(FIELD_UPGRADE, upgradeBody(document.upgrade, document.apps)));
  if (document.maxVmpl !== undefined) parts.push(field(FIELD_MAX_VMPL, vmplBody(document.maxVmpl)));
  return concat(parts);
}

/** `count × size` entries after a `countBytes`-byte count, each strictly above the one before. */
function ascendingEntries(body: Uint8Array, countBytes: 1 | 2, size: number, name: string): Uint8Array[] {
  if (body.length < countBytes) throw new PolicyError(`${name} truncated`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const count = countBytes === 2 ? view.getUint16(0) : view.getUint8(0);
  if (body.length !== countBytes + size * count)
    throw new PolicyError(`${name} length does not match their count`);
  const entries: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const entry = body.subarray(countBytes + size * i, countBytes + size * (i + 1));
    const previous = entries.at(-1);
    if (previous !== undefined && !ascending(previous, entry))
      throw new PolicyError(`${name} not strictly ascending`);
    entries.push(entry);
  }
  return entries;
}

/** Whether `b` comes strictly after `a` byte by byte (both of one length). */
function ascending(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

function decodeTcbMinimum(entry: Uint8Array): TcbMinimum {
  const view = new DataView(entry.buffer, entry.byteOffset, entry.byteLength);
  const mask = view.getUint16(1);
  if (mask >> STATUS_NAMES.length !== 0) throw new PolicyError("tcb-minimums name an unknown TCB status");
  return {
    platform: entry[0]!,
    statuses: STATUS_NAMES.filter((_, bit) => (mask & (1 << bit)) !== 0),
    tcbEvaluationDataNumber: view.getUint32(3),
  };
}

/** A document's header: its version and the chain and contract it is for. */
export type PolicyHeader = Pick<PolicyDocument, "version" | "chainId" | "contract">;

/** The header alone, strictly (magic, format, version ≥ 1, size): what a cheap check needs. */
export function decodePolicyHeader(bytes: Uint8Array): PolicyHeader {
  if (bytes.length > MAX_POLICY_BYTES) throw new PolicyError("document too large");
  if (bytes.length < HEADER_BYTES) throw new PolicyError("document truncated");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== POLICY_MAGIC)
    throw new PolicyError("not a policy document");
  if (bytes[8] !== POLICY_FORMAT) throw new PolicyError(`unknown policy format ${bytes[8]}`);
  const version = view.getBigUint64(9);
  if (version < 1n) throw new PolicyError("version starts at 1");
  return {
    version,
    chainId: view.getBigUint64(17),
    contract: getAddress(bytesToHex(bytes.subarray(25, HEADER_BYTES))),
  };
}

/** Strict decoding: wrong magic or format, a truncated or trailing byte, an unknown or repeated field, unsorted entries are refused. */
export function decodePolicy(bytes: Uint8Array): PolicyDocument {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const document: PolicyDocument = { ...decodePolicyHeader(bytes), revocations: [] };
  let at = HEADER_BYTES;
  let lastTag = 0;
  let revocationsSeen = false;
  while (at < bytes.length) {
    if (at + FIELD_HEADER_BYTES > bytes.length) throw new PolicyError("field header truncated");
    const tag = bytes[at]!;
    const length = view.getUint32(at + 1);
    at += FIELD_HEADER_BYTES;
    if (tag <= lastTag) throw new PolicyError("fields out of order or repeated");
    lastTag = tag;
    if (at + length > bytes.length) throw new PolicyError("field truncated");
    const body = bytes.subarray(at, at + length);
    at += length;
    if (tag === FIELD_REVOCATIONS) {
      revocationsSeen = true;
      document.revocations = ascendingEntries(body, 2, ADDRESS_BYTES, "revocations").map((e) => hexOf(e));
    } else if (tag === FIELD_MEASUREMENTS) {
      document.measurements = ascendingEntries(body, 2, MEASUREMENT_ENTRY_BYTES, "measurements").map((e) => ({
        platform: e[0]!,
        measurement: bytesToHex(e.subarray(1)),
      }));
    } else if (tag === FIELD_TCB_MINIMUMS) {
      // Ascending by whole entry is not enough (one platform twice with different masks): by platform.
      const entries = ascendingEntries(body, 1, TCB_MINIMUM_ENTRY_BYTES, "tcb-minimums");
      if (entries.some((e, i) => i > 0 && e[0]! <= entries[i - 1]![0]!))
        throw new PolicyError("tcb-minimums platforms not strictly ascending");
      document.tcbMinimums = entries.map(decodeTcbMinimum);
    } else if (tag === FIELD_APPS) {
      document.apps = ascendingEntries(body, 2, APP_ID_BYTES, "apps").map((e) => hexOf(e));
    } else if (tag === FIELD_UPGRADE) {
      document.upgrade = decodeUpgrade(body, document.apps);
    } else if (tag === FIELD_MAX_VMPL) {
      document.maxVmpl = decodeVmpl(body);
    } else throw new PolicyError(`unknown policy field ${tag}`);
  }
  // The encoder always writes it: one encoding per document.
  if (!revocationsSeen) throw new PolicyError("revocations field missing");
  return document;
}

/** Checks that a document's header names `domain`; PolicyError otherwise. */
export function checkPolicyDomain(header: PolicyHeader, domain: LedgerDomain): void {
  if (header.chainId !== BigInt(domain.chainId))
    throw new PolicyError(`document is for chain ${header.chainId}`);
  if (header.contract.toLowerCase() !== domain.contract.toLowerCase()) {
    throw new PolicyError(`document is for contract ${header.contract}`);
  }
}

/** What the valid documents applied so far say together. */
export type PolicyState = {
  version: bigint;
  revocations: Hex[];
  measurements: AdmittedMeasurement[];
  tcbMinimums: TcbMinimum[];
  /** Apps admitted besides the group's own: upgrades of it (`appIdOf`). */
  apps: Hex[];
  /** The last upgrade of the app to another state shape a document named, if any. */
  upgrade?: AppUpgrade;
  /** The highest SEV-SNP VMPL a document admitted, if one named it (src/protocol/policy-vmpl.ts). */
  maxVmpl?: number;
};

/**
 * The policy after one more valid document, folded in chain order: its revocations join the others
 * whatever its version (they are permanent); the fields a newer document replaces (admitted
 * measurements, TCB minimums, apps) come only from a version above all before, each kept from before
 * where it is absent.
 * Members (src/enclave/registry.ts) and clients (src/client/chain-checks.ts) fold documents alike.
 */
export function nextPolicyState(previous: PolicyState | undefined, document: PolicyDocument): PolicyState {
  const revocations = [
    ...new Set([...(previous?.revocations ?? []), ...document.revocations]),
  ].sort() as Hex[];
  if (previous && document.version <= previous.version) return { ...previous, revocations };
  return {
    version: document.version,
    revocations,
    measurements: document.measurements ?? previous?.measurements ?? [],
    tcbMinimums: document.tcbMinimums ?? previous?.tcbMinimums ?? [],
    apps: document.apps ?? previous?.apps ?? [],
    ...((document.upgrade ?? previous?.upgrade) ? { upgrade: document.upgrade ?? previous?.upgrade } : {}),
    ...((document.maxVmpl ?? previous?.maxVmpl) !== undefined
      ? { maxVmpl: document.maxVmpl ?? previous?.maxVmpl }
      : {}),
  };
}
