// A production network on emulated TDX: a test build (production profile, the `tdx` adapter, its
// pinned Intel root replaced by a test PKI made here: src/build/pinned-roots.ts) runs on three nodes
// whose configfs-tsm is the emulated kernel of test-configfs.ts, answered by a quote service that
// signs TDX quotes v4 with that PKI (test-qgs.ts). Everything else is the real path: the attestation
// service under the production policy, the contract with debug refused and the TDX measurement
// allowed, the collateral published on chain as an operator does, members judging joiners with the
// real DCAP verifier in their enclaves, a client with the production policy judging the enclave it
// encrypts to. The group forms, commands apply, a node restarts (TDX seals for the process only: it
// comes back as a new member with a snapshot) and the network goes on. Refused by name: evidence of
// another PKI, a debug TD, and the test build's evidence by a client pinning Intel's root.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { bytesToHex, hexToBytes } from "viem";
import { parseQuote, type TdReportBody } from "../../src/attestation/dcap/quote.js";
import { makeTdxTestPki, type TdxTestPki } from "../../src/attestation/dcap/test-pki.js";
import { makeTdxQuote, type TdRegisters } from "../../src/attestation/dcap/test-quote.js";
import { tdxMeasurement } from "../../src/attestation/dcap.js";
import { rtmr3ForBundle } from "../../src/build/deploy-vm.js";
import { ENCLAVE_POLICIES } from "../../src/client/enclave-policy.js";
import { tdxAnswer } from "../../src/enclave/platforms/test-qgs.js";
import { startNodeService } from "../../src/host/node-service.js";
import { revokeWithDevPolicy } from "../support/chain.js";
import {
  type EmulatedNetwork,
  emulatedNetworkTests,
  startEmulatedNetwork,
} from "../support/emulated-network.js";
import { waitForApplied, waitForGroup } from "../support/group.js";
import { newAccount } from "../support/token.js";

const NODES = 3;
const register = (byte: number) => new Uint8Array(48).fill(byte);
const ZERO_REPORT_DATA = new Uint8Array(64);

describe("a production network on emulated TDX", () => {
  let pki: TdxTestPki;
  let td: TdRegisters;
  let n: EmulatedNetwork;

  before(async () => {
    pki = await makeTdxTestPki();
    n = await startEmulatedNetwork({
      platform: "tdx",
      nodes: NODES,
      roots: { intel: pki.rootPem },
      collateral: { set: pki.collateral, rootPem: pki.rootPem },
      guest: async (bundle) => {
        // The VM image the test chooses: firmware, boot chain, and RTMR3 extended with the bundle's hash.
        const rtmr3 = hexToBytes(`0x${rtmr3ForBundle(bundle.measurement.slice(2)).rtmr3}`);
        td = { mrTd: register(0x11), rtmr: [register(0x22), register(0x33), register(0x44), rtmr3] };
        const own = parseQuote(await makeTdxQuote(pki, ZERO_REPORT_DATA, td)).body as TdReportBody;
        return { measurement: bytesToHex(tdxMeasurement(own)), answer: tdxAnswer(pki, () => td) };
      },
    });
  });

  emulatedNetworkTests(() => n, "tdx");

  test("refused by name: a client pinning Intel's root, another PKI's evidence, a debug TD", async () => {
    await assert.rejects(
      n.client(newAccount(), 0, { ...ENCLAVE_POLICIES.production, measurements: [n.measurement] }),
      /is refused: its evidence does not verify: collateral: missing/,
    );
    const { attest } = n;
    const other = await makeTdxTestPki({ name: "Other Test" });
    // With its own collateral, as a forger would send it: the collateral is refused first, by name;
    // with the genuine set, the quote's chain is.
    const foreign = await makeTdxQuote(other, ZERO_REPORT_DATA, td);
    assert.equal((await attest(foreign, other.collateral)).body.code, "collateral_untrusted");
    assert.deepEqual(await attest(foreign, pki.collateral), {
      status: 422,
      body: {
        code: "verification_failed",
        message: "PCK chain: certificate chain does not start at the pinned root",
      },
    });
    // The service holds no collateral: a quote judged needs the set the chain holds, sent with it.
    const quote = await makeTdxQuote(pki, ZERO_REPORT_DATA, td);
    assert.equal((await attest(quote)).body.code, "collateral_missing");
    const debug = await attest(
      await makeTdxQuote(pki, ZERO_REPORT_DATA, { ...td, debug: true }),
      pki.collateral,
    );
    assert.equal(debug.status, 422);
    assert.match(debug.body.message, /Debug mode is enabled/);
    assert.equal((await attest(quote, pki.collateral)).status, 200);
  });

  test("a node restarts: its enclave comes back as a new member with a snapshot, and the network goes on", async () => {
    const index = 2;
    const before = n.nodes[index]!.address;
    await n.nodes[index]!.stop();
    n.nodes[index] = await startNodeService({
      ...n.options[index]!,
      peers: n.nodes.slice(0, index).map((node) => node.url),
    });
    const again = n.nodes[index]!.address;
    assert.notEqual(again, before, "TDX seals for the process: a new enclave identity");
    // The old enclave stays a member (its keys died with its process) until a signed policy revokes it.
    const isNew = (m: string) => m.toLowerCase() === again.toLowerCase();
    await waitForGroup(n.net.running(), { size: NODES + 1, where: (g) => g.members.some(isNew) });
    await revokeWithDevPolicy(n.chain, before, 1n);
    await waitForGroup(n.net.running(), {
      what: "the old enclave revoked",
      where: (g) => g.members.some(isNew) && !g.members.some((m) => m.toLowerCase() === before.toLowerCase()),
    });
    const sender = await n.token.fundedAccount(10n);
    const recipient = newAccount();
    const receipt = await (await n.client(sender, index)).call("transfer", {
      to: recipient.address,
      amount: "7",
    });
    assert.equal(receipt.status, "applied");
    await waitForApplied(n.net.running(), receipt.sequence + 1n);
    assert.equal(await (await n.client(recipient, 0)).query("balanceOf", {}), 7n);
  });
});
