// The collateral a node's host registers with: the set the chain holds for its quote, which the
// attestation service still judges. Attack first: a host that sends none, a set of another PKI, or
// a set past its next update is refused by name with what the operator must do; a fresher set of
// another PKI that anyone published under the same FMSPC and CA names is passed over by the host's
// reader, as members pass it over, so it cannot keep honest nodes from registering.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bytesToHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { readCollateralHead } from "../../src/attestation/dcap/published-collateral.js";
import { makeTdxTestPki, type TdxTestPki } from "../../src/attestation/dcap/test-pki.js";
import { makeTdxQuote } from "../../src/attestation/dcap/test-quote.js";
import { PRODUCTION_POLICY } from "../../src/attestation/policy.js";
import { buildAttestationService } from "../../src/attestation/service.js";
import { publishedCollateral } from "../../src/client/published-collateral.js";
import { collateralRecord, publishCollateral } from "../../src/operator/collateral.js";
import { encodeCollateralRecord } from "../../src/protocol/collateral-record.js";
import { type LedgerFixture, startLedgerFixture } from "../support/chain.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const register = (byte: number) => new Uint8Array(48).fill(byte);
const TD = { mrTd: register(0x11), rtmr: [register(0x22), register(0x33), register(0x44), register(0x55)] };
const PUBLISH =
  /publish Intel's current tdx collateral for FMSPC [0-9a-f]{12} .*\(anonify collateral publish\)/;

describe("registration collateral: read from the chain by the host, judged by the service", () => {
  let pki: TdxTestPki;
  let quote: Hex;
  let chain: LedgerFixture;

  const attest = async (collateral: unknown, now?: Date) => {
    const service = buildAttestationService({
      signer: privateKeyToAccount(generatePrivateKey()),
      policy: PRODUCTION_POLICY,
      roots: { intel: pki.rootPem },
      ...(now ? { now: () => now } : {}),
    });
    const res = await service.inject({
      method: "POST",
      url: "/v1/attest",
      payload: { format: "tdx", evidence: quote, ...(collateral === undefined ? {} : { collateral }) },
    });
    await service.close();
    return { status: res.statusCode, body: res.json() as { code?: string; message?: string } };
  };

  before(async () => {
    pki = await makeTdxTestPki();
    quote = bytesToHex(await makeTdxQuote(pki, new Uint8Array(64), TD));
    chain = await startLedgerFixture();
  });
  after(async () => {
    await chain?.stop();
  });

  test("a host that sends no collateral is refused by name: collateral_missing", async () => {
    const { status, body } = await attest(undefined);
    assert.equal(status, 422);
    assert.equal(body.code, "collateral_missing");
    assert.match(body.message!, PUBLISH);
  });

  test("a host that sends another PKI's collateral is refused by name: collateral_untrusted", async () => {
    // The same names, other keys: the set claims the quote's FMSPC and CA, and verifies to no root pinned.
    const impostor = await makeTdxTestPki({ name: pki.name });
    const { status, body } = await attest(impostor.collateral);
    assert.equal(status, 422);
    assert.equal(body.code, "collateral_untrusted");
    assert.match(body.message!, /does not verify \(.*signature invalid\)/);
    assert.match(body.message!, PUBLISH);
  });

  test("a host that sends collateral past its next update is refused by name: collateral_stale", async () => {
    const { nextUpdate } = readCollateralHead(pki.collateral).head;
    const { status, body } = await attest(pki.collateral, new Date(Date.parse(nextUpdate) + DAY_MS));
    assert.equal(status, 422);
    assert.equal(body.code, "collateral_stale");
    assert.match(body.message!, new RegExp(`next update at ${nextUpdate}`));
    assert.match(body.message!, PUBLISH);
  });

  test("the host reads the genuine set from the chain, passing over a fresher one of another PKI", async () => {
    const read = () => publishedCollateral(chain.owner.publicClient, chain, "tdx", quote, pki.rootPem);
    assert.equal(await read(), undefined, "nothing published: the host sends none (collateral_missing)");
    const { record } = collateralRecord(pki.collateral, pki.rootPem);
    await publishCollateral(chain.owner, chain.contract, record);
    // Anyone may publish: a set issued later, under the same names, signed by keys of its own.
    const impostor = await makeTdxTestPki({ name: pki.name, now: new Date(Date.now() + HOUR_MS) });
    await publishCollateral(chain.owner, chain.contract, encodeCollateralRecord(impostor.collateral));
    const found = await read();
    assert.deepEqual(encodeCollateralRecord(found), record);
    assert.deepEqual(await attest(found).then((r) => r.status), 200);
  });
});
