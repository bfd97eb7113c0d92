// The SEV-SNP report codec on the real reports (test/fixtures/sev-snp): each decodes to the fields
// an independent reading gives and encodes back to its own bytes; anything the ABI leaves reserved,
// or a version this codec does not know, is refused by name.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { toHex } from "../dcap/bytes.js";
import { VerificationError } from "../verdict.js";
import {
  decodeSevSnpReport,
  encodeSevSnpReport,
  Offset,
  policyAllowsDebug,
  SEV_SNP_REPORT_SIZE,
} from "./report.js";
import { productOfCpuid, readTcb } from "./tcb.js";
import { fixtureBytes, SAMPLES, sampleNamed } from "./test-fixtures.js";

const refuses = (bytes: Uint8Array, pattern: RegExp) =>
  assert.throws(
    () => decodeSevSnpReport(bytes),
    (e: unknown) => e instanceof VerificationError && pattern.test(e.reason),
  );

/** A copy of the Milan v3 report with `edit` applied. */
function edited(edit: (bytes: Uint8Array, view: DataView) => void, name = "milan-v3-vcek.bin"): Uint8Array {
  const bytes = fixtureBytes(name);
  edit(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return bytes;
}

describe("SEV-SNP report codec", () => {
  for (const sample of SAMPLES) {
    test(`${sample.name}: decodes and encodes back to the same ${SEV_SNP_REPORT_SIZE} bytes`, () => {
      const bytes = fixtureBytes(sample.report);
      const report = decodeSevSnpReport(bytes);
      assert.equal(report.version, sample.version);
      assert.equal(report.signingKey, sample.key);
      assert.equal(toHex(report.measurement), sample.measurement);
      assert.equal(toHex(report.reportData).slice(0, 64), sample.reportDataPrefix);
      assert.equal(policyAllowsDebug(report.policy), sample.debug);
      assert.equal(report.cpuid === undefined, sample.version < 3, "CPUID from v3 on");
      if (report.cpuid) assert.equal(productOfCpuid(report.cpuid), sample.product);
      assert.equal(report.mitigations === undefined, sample.version < 5, "mitigation vectors from v5 on");
      assert.deepEqual(readTcb(report.reportedTcb, sample.product, "REPORTED_TCB"), sample.tcb);
      assert.deepEqual(report.signed, bytes.subarray(0, Offset.signature));
      assert.deepEqual(encodeSevSnpReport(report), bytes);
    });
  }

  test("the Turin TCB layout puts FMC first; Milan's has reserved bytes where Turin has SNP", () => {
    const turin = decodeSevSnpReport(fixtureBytes("turin-v5-vcek.bin"));
    assert.equal(toHex(turin.reportedTcb), "0001000200000047");
    assert.deepEqual(readTcb(turin.reportedTcb, "Turin", "t"), {
      fmc: 0,
      bootloader: 1,
      tee: 0,
      snp: 2,
      microcode: 71,
    });
    assert.throws(
      () => readTcb(turin.reportedTcb, "Milan", "REPORTED_TCB"),
      /reserved byte 3 set \(Milan layout\)/,
    );
  });

  test("sizes and versions other than the ABI's are refused", () => {
    const bytes = fixtureBytes("milan-v3-vcek.bin");
    refuses(bytes.subarray(0, SEV_SNP_REPORT_SIZE - 1), /is 1183 bytes, not 1184/);
    refuses(new Uint8Array([...bytes, 0]), /is 1185 bytes, not 1184/);
    for (const version of [0, 1, 6, 0x100]) {
      refuses(
        edited((_, v) => v.setUint32(Offset.version, version, true)),
        new RegExp(`version ${version} is not one of 2..5`),
      );
    }
  });

  test("reserved bytes, flags and policy bits are refused by name", () => {
    refuses(
      edited((b) => {
        b[Offset.reserved0] = 1;
      }),
      /reserved word \(0x4c\)/,
    );
    refuses(
      edited((b) => {
        b[Offset.cpuid + 3] = 1;
      }),
      /reserved bytes after REPORTED_TCB \(0x18b\)/,
    );
    // A v2 report has no CPUID: the bytes are reserved.
    refuses(
      edited((b) => {
        b[Offset.cpuid] = 0x19;
      }, "milan-v2-vcek-debug.bin"),
      /after REPORTED_TCB \(0x188\)/,
    );
    refuses(
      edited((b) => {
        b[Offset.currentVersion + 3] = 1;
      }),
      /reserved byte of CURRENT_VERSION/,
    );
    refuses(
      edited((b) => {
        b[Offset.committedVersion + 3] = 1;
      }),
      /reserved byte of COMMITTED_VERSION/,
    );
    // The mitigation vectors exist from v5 on; before, the bytes are reserved.
    refuses(
      edited((b) => {
        b[Offset.launchMitigations] = 1;
      }),
      /reserved tail \(0x1f8\)/,
    );
    refuses(
      edited((b) => {
        b[Offset.reservedTail] = 1;
      }, "genoa-v5-vcek.bin"),
      /reserved tail \(0x208\)/,
    );
    refuses(
      edited((b) => {
        b[Offset.signature + 48] = 1;
      }),
      /upper bytes of R/,
    );
    refuses(
      edited((b) => {
        b[Offset.signature + 72 + 71] = 1;
      }),
      /upper bytes of S/,
    );
    refuses(
      edited((b) => {
        b[SEV_SNP_REPORT_SIZE - 1] = 1;
      }),
      /reserved signature bytes/,
    );
    refuses(
      edited((_, v) => v.setUint32(Offset.signatureAlgorithm, 2, true)),
      /signature algorithm 2/,
    );
    refuses(
      edited((_, v) => v.setUint32(Offset.flags, 1 << 5, true)),
      /flags 0x20 set reserved bits/,
    );
    refuses(
      edited((_, v) => v.setUint32(Offset.flags, 7 << 2, true)),
      /is not signed \(SIGNING_KEY 7\)/,
    );
    refuses(
      edited((_, v) => v.setUint32(Offset.flags, 2 << 2, true)),
      /signing key 2 is reserved/,
    );
    refuses(
      edited((_, v) => v.setBigUint64(Offset.policy, 0x10000n, true)),
      /policy bit 17 must be set/,
    );
    refuses(
      edited((_, v) => v.setBigUint64(Offset.policy, 0x30000n | (1n << 26n), true)),
      /bits above 25/,
    );
  });

  test("the encoder refuses what the version cannot hold", () => {
    const v2 = decodeSevSnpReport(fixtureBytes(sampleNamed("milan-v2-vcek-debug.bin").report));
    assert.throws(
      () => encodeSevSnpReport({ ...v2, cpuid: { family: 0x19, model: 1, stepping: 1 } }),
      /CPUID/,
    );
    assert.throws(
      () => encodeSevSnpReport({ ...v2, mitigations: { launch: 0n, current: 0n } }),
      /mitigation/,
    );
    assert.throws(
      () => encodeSevSnpReport({ ...v2, measurement: new Uint8Array(32) }),
      /MEASUREMENT must be 48/,
    );
    assert.throws(() => encodeSevSnpReport({ ...v2, version: 6 }), /version 6/);
  });
});
