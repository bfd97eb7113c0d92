// Field 6 of a policy document, the highest SEV-SNP VMPL admitted: its byte layout, strict decoding
// (one byte, a VMPL 0..3), and how documents fold it (a newer one replaces it, one without leaves it).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { concat, getAddress } from "viem";
import {
  decodePolicy,
  encodePolicy,
  nextPolicyState,
  type PolicyDocument,
  PolicyError,
} from "./policy-document.js";

const DOC: PolicyDocument = {
  version: 2n,
  chainId: 31337n,
  contract: getAddress(`0x${"cd".repeat(20)}`),
  revocations: [],
  maxVmpl: 1,
};
/** The header and the empty revocations field. */
const BEFORE_VMPL = 45 + 5 + 2;
const FIELD_MAX_VMPL = 6;

const withBody = (body: number[]) =>
  concat([
    encodePolicy({ ...DOC, maxVmpl: undefined }),
    Uint8Array.of(FIELD_MAX_VMPL, 0, 0, 0, body.length, ...body),
  ]);

const refused = (bytes: Uint8Array, reason: RegExp) =>
  assert.throws(
    () => decodePolicy(bytes),
    (e: unknown) => e instanceof PolicyError && reason.test(e.message),
  );

describe("policy document field 6: max-vmpl", () => {
  test("encodes as one byte after the fields before it, and decodes back", () => {
    const bytes = encodePolicy(DOC);
    assert.equal(bytes.length, BEFORE_VMPL + 5 + 1);
    assert.deepEqual([...bytes.subarray(BEFORE_VMPL)], [FIELD_MAX_VMPL, 0, 0, 0, 1, 1]);
    assert.deepEqual(decodePolicy(bytes), DOC);
    assert.deepEqual(decodePolicy(withBody([3])).maxVmpl, 3);
  });

  test("refused by name: a VMPL above 3, a body of another length; the encoder refuses them too", () => {
    refused(withBody([4]), /^max-vmpl 4 is not a VMPL \(0 to 3\)$/);
    refused(withBody([]), /^max-vmpl is 1 byte$/);
    refused(withBody([1, 0]), /^max-vmpl is 1 byte$/);
    assert.throws(() => encodePolicy({ ...DOC, maxVmpl: 4 }), PolicyError);
    assert.throws(() => encodePolicy({ ...DOC, maxVmpl: 0.5 }), PolicyError);
  });

  test("a newer document replaces it, an older one or one without it leaves it", () => {
    const raised = nextPolicyState(undefined, DOC);
    assert.equal(raised.maxVmpl, 1);
    assert.equal(nextPolicyState(raised, { ...DOC, version: 3n, maxVmpl: undefined }).maxVmpl, 1);
    assert.equal(nextPolicyState(raised, { ...DOC, version: 1n, maxVmpl: 3 }).maxVmpl, 1);
    assert.equal(nextPolicyState(raised, { ...DOC, version: 3n, maxVmpl: 0 }).maxVmpl, 0);
    assert.equal(nextPolicyState(undefined, { ...DOC, maxVmpl: undefined }).maxVmpl, undefined);
  });
});
