// `anonify collateral publish --sev-snp-crl FILE` as an operator runs it (dist/: `npm run build`
// first): a CRL that no pinned AMD ARK issued (here the test PKI's, which only a test build pins) or
// that is no CRL is refused by name before any key is read or gas spent (the key file does not exist).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { crlToPem } from "../../src/attestation/sev-snp/crl.js";
import { makeSevSnpTestCrl, makeSevSnpTestPki } from "../../src/attestation/sev-snp/test-pki.js";
import { refusal } from "../support/anonify-cli.js";

describe("anonify collateral publish --sev-snp-crl", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-snp-crl-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const publish = (file: string) =>
    refusal("collateral", "publish", "--sev-snp-crl", file, "--key", join(dir, "no-such-key"));

  test("refuses by name another PKI's CRL (DER or PEM) and a file that is no CRL, before reading the key", async () => {
    const der = await makeSevSnpTestCrl(await makeSevSnpTestPki());
    const foreign =
      "rejected (bad_collateral): sev-snp CRL 1: not issued by a pinned AMD root (ARK-Milan, ARK-Genoa, ARK-Turin)";
    for (const [name, body] of [
      ["genoa.crl", der],
      ["genoa.pem", crlToPem(der)],
    ] as const) {
      writeFileSync(join(dir, name), body);
      const { code, stderr } = await publish(join(dir, name));
      assert.equal(code, 1);
      assert.equal(stderr.trim(), foreign);
    }
    writeFileSync(join(dir, "junk"), "not a CRL\n");
    assert.equal(
      (await publish(join(dir, "junk"))).stderr.trim(),
      "rejected (bad_collateral): sev-snp CRL 1: malformed CRL",
    );
  });
});
