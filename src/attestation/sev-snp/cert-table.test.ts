// The SEV-SNP certificate table (configfs-tsm `auxblob`): AMD's GUIDs in RFC 4122 byte order, the
// entries' bytes found where they say, and nothing a host adds around them taken.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { toHex } from "../dcap/bytes.js";
import { VerificationError } from "../verdict.js";
import { CertGuid, decodeCertTable, encodeCertTable } from "./cert-table.js";
import { fixtureText, pemToDers } from "./test-fixtures.js";

const ENTRY = 24;
const [vcek, ask, ark] = pemToDers(fixtureText("milan-v3-vcek-chain.pem")) as [
  Uint8Array,
  Uint8Array,
  Uint8Array,
];
const entries = [
  { guid: CertGuid.vcek, bytes: vcek },
  { guid: CertGuid.ask, bytes: ask },
  { guid: CertGuid.ark, bytes: ark },
];

const refuses = (bytes: Uint8Array, pattern: RegExp) =>
  assert.throws(
    () => decodeCertTable(bytes),
    (e: unknown) => e instanceof VerificationError && pattern.test(e.reason),
  );

describe("SEV-SNP certificate table", () => {
  test("round trip; the layout is GUID, offset, length, then a zero entry, then the certificates", () => {
    const table = encodeCertTable(entries);
    assert.deepEqual(decodeCertTable(table), entries);
    // The VCEK GUID 63da758d-e664-4564-adc5-f4b93be8accd as go-sev-guest and virtee/sev write it.
    assert.equal(toHex(table.subarray(0, 16)), "63da758de6644564adc5f4b93be8accd");
    const view = new DataView(table.buffer);
    assert.equal(view.getUint32(16, true), 4 * ENTRY, "the first certificate follows the terminator");
    assert.equal(view.getUint32(20, true), vcek.length);
    assert.ok(
      table.subarray(3 * ENTRY, 4 * ENTRY).every((b) => b === 0),
      "terminator",
    );
    assert.equal(table.length, 4 * ENTRY + vcek.length + ask.length + ark.length);
  });

  test("entries of other GUIDs are kept, unread", () => {
    const extra = { guid: "ecae0c0f-9502-43b1-afa2-0ae2e0d565b6", bytes: Uint8Array.of(1, 2, 3) };
    assert.deepEqual(decodeCertTable(encodeCertTable([...entries, extra])).at(-1), extra);
  });

  test("what a host could add or cut is refused by name", () => {
    const table = encodeCertTable(entries);
    refuses(new Uint8Array([...table, 0]), /1 bytes after the last certificate/);
    refuses(table.subarray(0, table.length - 1), /lies outside the table's data/);
    refuses(table.subarray(0, 2 * ENTRY), /ends before its terminating entry/);
    refuses(new Uint8Array(ENTRY), /has no entry/);
    const twice = encodeCertTable([entries[0]!, { ...entries[1]!, guid: CertGuid.vcek }]);
    refuses(twice, /GUID 63da758d-e664-4564-adc5-f4b93be8accd appears twice/);
    const intoHeader = table.slice();
    new DataView(intoHeader.buffer).setUint32(16, 0, true);
    refuses(intoHeader, /lies outside the table's data/);
    const empty = table.slice();
    new DataView(empty.buffer).setUint32(20, 0, true);
    refuses(empty, /is empty/);
  });
});
