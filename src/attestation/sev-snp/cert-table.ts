// The SEV-SNP certificate table: what an extended guest request returns beside the report (AMD 56421,
// "SEV-ES Guest-Hypervisor Communication Block Standardization", MSG_REPORT_REQ certificates), and so
// what Linux's configfs-tsm gives in `auxblob` on `sev_guest`:
//
//   entry*  | terminator (24 zero bytes) | certificate data
//   entry   = GUID (16 bytes, RFC 4122 byte order) | u32 offset | u32 length   (little-endian)
//
// An offset counts from the table's first byte. The GUIDs (56421 table 15): VCEK
// 63da758d-e664-4564-adc5-f4b93be8accd, VLEK a8074bc2-a25a-483e-aae6-39c045a0b8a1, ASK (the ASVK too)
// 4ab7b379-bbac-4fe4-a02f-05aef327c782, ARK c0b406a4-a803-4952-9743-3fb6014cd0ae; each certificate
// is DER. Linux sizes `auxblob` to the end of the last certificate, so strict decoding takes nothing
// after it: every entry's bytes lie after the terminator and inside the table, none is empty, and the
// table ends where the furthest one does. Entries of other GUIDs are kept and left unread.
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { VerificationError } from "../verdict.js";

export const CertGuid = {
  vcek: "63da758d-e664-4564-adc5-f4b93be8accd",
  vlek: "a8074bc2-a25a-483e-aae6-39c045a0b8a1",
  ask: "4ab7b379-bbac-4fe4-a02f-05aef327c782",
  ark: "c0b406a4-a803-4952-9743-3fb6014cd0ae",
} as const;

const GUID_BYTES = 16;
const ENTRY_BYTES = 24;
const OFFSET_AT = 16;
const LENGTH_AT = 20;
/** Four AMD certificates and room to spare; the cap bounds what a hostile table costs. */
const MAX_ENTRIES = 16;
const GUID_GROUPS = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;
const GUID_SPLITS = [8, 12, 16, 20] as const;

export type CertEntry = { guid: string; bytes: Uint8Array };

const fail = (reason: string): never => {
  throw new VerificationError(`sev-snp certificate table: ${reason}`);
};

function guidString(bytes: Uint8Array): string {
  const hex = bytesToHex(bytes);
  const [a, b, c, d] = GUID_SPLITS;
  return `${hex.slice(0, a)}-${hex.slice(a, b)}-${hex.slice(b, c)}-${hex.slice(c, d)}-${hex.slice(d)}`;
}

function guidBytes(guid: string): Uint8Array {
  const groups = GUID_GROUPS.exec(guid);
  if (!groups) fail(`GUID ${guid} is not in 8-4-4-4-12 lower-case hex form`);
  return hexToBytes(groups!.slice(1).join(""));
}

/** Strict decoding of a whole table (an `auxblob`). */
export function decodeCertTable(bytes: Uint8Array): CertEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headers: { guid: string; offset: number; length: number }[] = [];
  for (let at = 0; ; at += ENTRY_BYTES) {
    if (at + ENTRY_BYTES > bytes.length) fail("ends before its terminating entry");
    const entry = bytes.subarray(at, at + ENTRY_BYTES);
    if (entry.every((b) => b === 0)) break;
    if (headers.length === MAX_ENTRIES) fail(`more than ${MAX_ENTRIES} entries`);
    const guid = guidString(entry.subarray(0, GUID_BYTES));
    if (headers.some((h) => h.guid === guid)) fail(`GUID ${guid} appears twice`);
    headers.push({
      guid,
      offset: view.getUint32(at + OFFSET_AT, true),
      length: view.getUint32(at + LENGTH_AT, true),
    });
  }
  const dataStart = (headers.length + 1) * ENTRY_BYTES;
  let end = dataStart;
  const entries = headers.map(({ guid, offset, length }) => {
    if (length === 0) fail(`entry ${guid} is empty`);
    if (offset < dataStart || offset + length > bytes.length)
      fail(`entry ${guid} lies outside the table's data`);
    end = Math.max(end, offset + length);
    return { guid, bytes: bytes.slice(offset, offset + length) };
  });
  if (entries.length === 0) fail("has no entry");
  if (end !== bytes.length) fail(`${bytes.length - end} bytes after the last certificate`);
  return entries;
}

/** A table holding `entries` in order, each certificate right after the one before. */
export function encodeCertTable(entries: readonly CertEntry[]): Uint8Array {
  if (entries.length === 0 || entries.length > MAX_ENTRIES) fail(`must hold 1..${MAX_ENTRIES} entries`);
  const dataStart = (entries.length + 1) * ENTRY_BYTES;
  const size = entries.reduce((total, e) => total + e.bytes.length, dataStart);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let offset = dataStart;
  entries.forEach((entry, i) => {
    if (entry.bytes.length === 0) fail(`entry ${entry.guid} is empty`);
    out.set(guidBytes(entry.guid), i * ENTRY_BYTES);
    view.setUint32(i * ENTRY_BYTES + OFFSET_AT, offset, true);
    view.setUint32(i * ENTRY_BYTES + LENGTH_AT, entry.bytes.length, true);
    out.set(entry.bytes, offset);
    offset += entry.bytes.length;
  });
  return out;
}
