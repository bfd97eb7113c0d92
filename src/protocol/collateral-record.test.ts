// The collateral record's byte layout: a PCS collateral object round-trips, and decoding is strict.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  COLLATERAL_FORMAT,
  CollateralRecordError,
  decodeCollateralRecord,
  encodeCollateralRecord,
  MAX_COLLATERAL_BYTES,
} from "./collateral-record.js";

const SIGNATURE = "ab".repeat(64);
const PCS = {
  pck_crl_issuer_chain: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
  root_ca_crl: "3082010a",
  pck_crl: "30820b0c0d",
  tcb_info_issuer_chain: "chain of the TCB info",
  tcb_info: '{"id":"SGX","fmspc":"00a067110000"}',
  tcb_info_signature: SIGNATURE,
  qe_identity_issuer_chain: "chain of the QE identity",
  qe_identity: '{"id":"QE","version":2,"note":"é"}',
  qe_identity_signature: SIGNATURE,
};

const refused = (bytes: Uint8Array, reason: RegExp) =>
  assert.throws(
    () => decodeCollateralRecord(bytes),
    (e: unknown) => e instanceof CollateralRecordError && reason.test(e.message),
  );

describe("collateral record", () => {
  test("round-trips a PCS object (hex, 0x-hex and byte arrays for binary fields)", () => {
    const record = encodeCollateralRecord(PCS);
    assert.deepEqual(decodeCollateralRecord(record), PCS);
    assert.equal(new TextDecoder().decode(record.subarray(0, 8)), "ANFYCOLL");
    assert.equal(record[8], COLLATERAL_FORMAT);
    const arrays = { ...PCS, root_ca_crl: [0x30, 0x82, 0x01, 0x0a], pck_crl: "0x30820b0c0d" };
    assert.deepEqual(encodeCollateralRecord(arrays), record);
  });

  test("refuses bad magic, another format, truncation, empty or misfit fields and trailing bytes", () => {
    const record = encodeCollateralRecord(PCS);
    const withByte = (offset: number, value: number) => {
      const copy = record.slice();
      copy[offset] = value;
      return copy;
    };
    refused(withByte(0, 0x42), /bad magic/);
    refused(withByte(8, 2), /format 2 is not 1/);
    refused(record.subarray(0, record.length - 1), /truncated in qe_identity_signature/);
    refused(record.subarray(0, 11), /truncated at pck_crl_issuer_chain/);
    refused(new Uint8Array([...record, 0]), /trailing bytes/);
    // The first field's length set to 0.
    refused(new Uint8Array([...record.subarray(0, 9), 0, 0, 0, 0, ...record.subarray(13)]), /is empty/);
    assert.throws(
      () => decodeCollateralRecord(encodeCollateralRecord({ ...PCS, tcb_info_signature: "abcd" })),
      /tcb_info_signature is not 64 bytes/,
    );
    refused(new Uint8Array(MAX_COLLATERAL_BYTES + 1), /over 65536 bytes/);
  });

  test("refuses a PCS object with a field missing or of the wrong kind", () => {
    const { pck_crl: _dropped, ...missing } = PCS;
    assert.throws(() => encodeCollateralRecord(missing), /pck_crl is not hex or bytes/);
    assert.throws(() => encodeCollateralRecord({ ...PCS, tcb_info: "" }), /tcb_info missing/);
    assert.throws(() => encodeCollateralRecord({ ...PCS, root_ca_crl: "xyz" }), /root_ca_crl is not hex/);
    assert.throws(() => encodeCollateralRecord([]), /not a JSON object/);
    assert.throws(
      () => encodeCollateralRecord({ ...PCS, pck_crl: "00".repeat(MAX_COLLATERAL_BYTES) }),
      /over 65536/,
    );
  });
});
