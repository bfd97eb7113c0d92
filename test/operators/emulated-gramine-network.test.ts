// A production network on SGX under Gramine, emulated: a test build (production profile, the
// gramine-sgx adapter, its pinned Intel root replaced by a test PKI's) deployed as an operator does
// (`enclave build --platform gramine-sgx`'s template, rendered and signed as gramine-manifest and
// gramine-sgx-sign would) and started by each node as Gramine expects, `gramine-sgx enclave` in that
// directory, where a TEST STAND-IN (test/support/emulated-gramine.ts, NOT Gramine, no SGX) checks the
// signed manifest and runs the bundle. Its quotes are SGX quotes v3 signed by the test PKI for an
// MRENCLAVE the test derives from the signed manifest (real SGX measures the enclave's pages). The
// rest is the real path: the attestation service under the production policy, the contract with the
// MRENCLAVE allowed and debug refused, the SGX collateral published on chain, members judging joiners
// with the real DCAP verifier, a client with the production policy. An operator's `anonify node start
// --platform gramine-sgx` (dist/: run `npm run build` first) joins that network the same way. A bundle
// changed after signing is refused by name before anything starts, and a Node changed after signing
// is refused by the launcher, as Gramine refuses it, and the node says so.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { before, describe, test } from "node:test";
import { bytesToHex } from "viem";
import { makeTdxTestPki, type TdxTestPki } from "../../src/attestation/dcap/test-pki.js";
import { makeSgxQuote, type SgxEnclave } from "../../src/attestation/dcap/test-quote.js";
import { writeDeployment } from "../../src/build/deployment.js";
import type { NodeStarted } from "../../src/cli/node.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { startChildCommand } from "../../src/devnet/child-command.js";
import type { LauncherCommand } from "../../src/host/enclave-link.js";
import { prepareGramineLaunch } from "../../src/host/gramine-launch.js";
import { startNodeService } from "../../src/host/node-service.js";
import { refusal } from "../support/anonify-cli.js";
import { anvilKey } from "../support/chain.js";
import { placeNode, signEmulated, writeStandIn } from "../support/emulated-gramine.js";
import {
  type EmulatedNetwork,
  emulatedNetworkTests,
  startEmulatedNetwork,
} from "../support/emulated-network.js";
import { waitForApplied, waitForGroup } from "../support/group.js";
import { newAccount } from "../support/token.js";
import { CLI } from "./operator-net.js";

const NODES = 3;
const NAME = "enclave";
const ZERO_REPORT_DATA = new Uint8Array(64);
const sha256 = (bytes: Uint8Array) => new Uint8Array(createHash("sha256").update(bytes).digest());

describe("a production network on SGX under a Gramine stand-in (emulated: not Gramine, not SGX)", () => {
  let pki: TdxTestPki;
  let enclave: SgxEnclave;
  let launcher: LauncherCommand;
  let n: EmulatedNetwork;

  before(async () => {
    pki = await makeTdxTestPki({ tee: "sgx" });
    n = await startEmulatedNetwork({
      platform: "gramine-sgx",
      nodes: NODES,
      roots: { intel: pki.rootPem },
      collateral: { set: pki.collateral, rootPem: pki.rootPem },
      guest: async (bundle, tree) => {
        // The operator's deployment directory: the build's template, Node, data/, then render and sign.
        const dir = dirname(bundle.path);
        writeDeployment("gramine-sgx", bundle);
        placeNode(dir);
        const signed = signEmulated(dir, NAME);
        const standIn = writeStandIn(join(dirname(tree), "bin"), tree);
        enclave = {
          mrEnclave: sha256(readFileSync(signed.manifest)),
          mrSigner: sha256(readFileSync(signed.signature)),
        };
        // What `node start --platform gramine-sgx --gramine-command STAND_IN` checks and starts.
        launcher = {
          ...prepareGramineLaunch({ dir, command: standIn, bundle: bundle.path }),
          sayLastLine: true,
        };
        return {
          measurement: bytesToHex(enclave.mrEnclave),
          answer: async (inblob) => ({ outblob: await makeSgxQuote(pki, inblob, enclave) }),
          launcher,
        };
      },
    });
  });

  emulatedNetworkTests(() => n, "gramine-sgx");

  test("refused by name: a debug enclave's quote, another PKI's quote", async () => {
    const debug = await n.attest(
      await makeSgxQuote(pki, ZERO_REPORT_DATA, { ...enclave, debug: true }),
      pki.collateral,
    );
    assert.equal(debug.status, 422);
    assert.match(debug.body.message, /[Dd]ebug/);
    const other = await makeTdxTestPki({ name: "Other Test", tee: "sgx" });
    assert.deepEqual(await n.attest(await makeSgxQuote(other, ZERO_REPORT_DATA, enclave), pki.collateral), {
      status: 422,
      body: {
        code: "verification_failed",
        message: "PCK chain: certificate chain does not start at the pinned root",
      },
    });
    assert.equal(
      (await n.attest(await makeSgxQuote(pki, ZERO_REPORT_DATA, enclave), pki.collateral)).status,
      200,
    );
  });

  test("an operator's `anonify node start --platform gramine-sgx` starts its enclave under the launcher, joins, and a command applies through it", async () => {
    const dir = dirname(launcher.cwd!);
    const key = join(dir, "cli-node.key");
    writeFileSync(key, `${anvilKey(NODES + 1)}\n`, { mode: 0o600 });
    const lines: string[] = [];
    const node = await startChildCommand<NodeStarted>(
      CLI,
      [
        ...["node", "start", "--rpc", n.chain.anvil.rpcUrl, "--contract", n.chain.contract],
        ...["--deployed-at-block", "0", "--attestation", n.service.url, "--key", key, "--json"],
        ...["--data-dir", join(dir, "cli-node"), "--peer", n.nodes[0]!.url],
        ...["--platform", "gramine-sgx", "--enclave", n.bundle.path, "--gramine-command", launcher.command],
      ],
      { onLine: (line) => lines.push(line) },
    );
    try {
      assert.equal(node.ready.registered, "now");
      // Its enclave was started by the launcher, not as `node BUNDLE`.
      assert.match(
        lines.join("\n"),
        /emulated-gramine-sgx: enclave: signed manifest checked \(\d+ trusted files\)/,
      );
      await waitForGroup(n.net.running(), {
        size: NODES + 1,
        where: (g) => g.members.some((m) => m.toLowerCase() === node.ready.enclave.toLowerCase()),
      });
      const sender = await n.token.fundedAccount(10n);
      const recipient = newAccount();
      const client = await AnonifyClient.connect({
        network: { rpcUrl: n.chain.anvil.rpcUrl, chainId: n.chain.anvil.chainId, contract: n.chain.contract },
        node: node.ready.url,
        account: sender,
        enclavePolicy: n.policy(),
      });
      const receipt = await client.call("transfer", { to: recipient.address, amount: "3" });
      assert.equal(receipt.status, "applied");
      await waitForApplied(n.net.running(), receipt.sequence + 1n);
      assert.equal(await (await n.client(recipient, 0)).query("balanceOf", {}), 3n);
    } finally {
      await node.stop();
    }
  });

  test("attack first, by the CLI: a bundle changed after signing is refused by name before anything starts", async () => {
    const dir = join(dirname(launcher.cwd!), "cli-tampered");
    cpSync(launcher.cwd!, dir, { recursive: true });
    const bundle = join(dir, `${NAME}.mjs`);
    writeFileSync(bundle, "\n// changed after signing\n", { flag: "a" });
    const { code, stderr } = await refusal(
      ...["node", "start", "--rpc", n.chain.anvil.rpcUrl, "--contract", n.chain.contract],
      ...["--attestation", n.service.url, "--key", join(dir, "nosuch.key")],
      ...["--platform", "gramine-sgx", "--enclave", bundle, "--gramine-command", launcher.command],
    );
    assert.equal(code, 1);
    assert.match(
      stderr,
      /rejected \(gramine_bundle_mismatch\): .*cli-tampered\/enclave\.mjs has SHA-256 [0-9a-f]{64}, but the signed manifest pins [0-9a-f]{64}: Gramine refuses to open a trusted file whose hash differs/,
    );
    const flagAlone = await refusal(
      ...["node", "start", "--rpc", n.chain.anvil.rpcUrl, "--contract", n.chain.contract],
      ...["--attestation", n.service.url, "--key", join(dir, "nosuch.key"), "--gramine-dir", dir],
    );
    assert.match(flagAlone.stderr, /rejected \(bad_flag\): --gramine-dir goes with --platform gramine-sgx/);
  });

  test("attack: Node changed after signing: the launcher refuses to start it, and the node says so", async () => {
    const dir = join(dirname(launcher.cwd!), "tampered");
    cpSync(launcher.cwd!, dir, { recursive: true });
    writeFileSync(join(dir, "node"), "#!/bin/sh\nexec cat\n");
    await assert.rejects(
      startNodeService({
        ...n.options[0]!,
        hostDir: join(dir, "host"),
        enclaveLauncher: { ...launcher, cwd: dir },
      }),
      /emulated-gramine-sgx: error: trusted file file:node has SHA-256 [0-9a-f]{64}, not the manifest's [0-9a-f]{64}: refused/,
    );
  });
});
