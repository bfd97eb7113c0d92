// A node restarts on emulated SEV-SNP (issue #28: "the group forms, commands apply, a node
// restarts"), on the network of emulated-sev-snp.test.ts (test/support/emulated-sev-snp.ts) with a
// fourth node whose enclave is served in its own "VM" (`serveEnclave`, as `anonify enclave serve` runs
// in a confidential VM; the host connects over TCP with its host token). Two restarts:
//   - the host process restarts: it resumes the enclave in the VM (src/host/enclave-resume.ts), the
//     same member, with no rejoin; commands it acknowledged before it stopped apply exactly once;
//   - the VM restarts: SEV-SNP seals nothing (a new enclave process is a new identity), so the node's
//     new enclave registers, rejoins the group with a snapshot, and the old one is revoked by a
//     signed policy; the node goes on applying commands.
// After each, the node applies new commands and every acknowledged command applied exactly once (the
// recipient's balance is their count).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Hex, LocalAccount } from "viem";
import { makeSevSnpTestCrl, makeSevSnpTestPki } from "../../src/attestation/sev-snp/test-pki.js";
import { withWallet } from "../../src/chain/chain.js";
import type { AnonifyClient } from "../../src/client/anonify-client.js";
import { type EnclaveServer, serveEnclave } from "../../src/host/enclave-serve.js";
import { createLogger } from "../../src/host/log.js";
import { type NodeServiceOptions, startNodeService } from "../../src/host/node-service.js";
import { anvilKey, revokeWithDevPolicy } from "../support/chain.js";
import type { EmulatedNetwork } from "../support/emulated-network.js";
import { startEmulatedSevSnp } from "../support/emulated-sev-snp.js";
import { waitForApplied, waitForGroup } from "../support/group.js";
import { newAccount } from "../support/token.js";
import { until } from "../support/wait.js";

const NODES = 3;
const LOOPBACK = "127.0.0.1";
const HOST_TOKEN = "emulated-sev-snp-host-token";
/** Commands sent through the node on each side of a restart. */
const EACH_SIDE = 3;

describe("a node restarts on emulated SEV-SNP", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-snp-restart-"));
  const logs: string[] = [];
  let n: EmulatedNetwork;
  let vm: EnclaveServer;
  let vms = 0;
  /** The served node: its index among n.nodes. */
  let index: number;
  let sender: LocalAccount;
  const recipient = newAccount();
  /** Transfers of 1 to `recipient` the node acknowledged. */
  let acknowledged = 0;

  const serve = async () => {
    vms++;
    vm = await serveEnclave({
      listen: { host: LOOPBACK, port: 0 },
      token: HOST_TOKEN,
      bundle: n.bundle.path,
      dataDir: join(dir, `vm-${vms}`),
      onNote: (line) => logs.push(`vm-${vms}: ${line}`),
    });
    return { host: LOOPBACK, port: vm.address.port, token: HOST_TOKEN };
  };
  /** (Re)starts the served node's host on the same API port, connecting to `vm`. */
  const startHost = async (options: NodeServiceOptions) => {
    n.options[index] = options;
    n.nodes[index] = await startNodeService(options);
  };
  const client = (): Promise<AnonifyClient> => n.client(sender, index);
  /** Sends transfers of 1 through the served node, each acknowledged; returns their ids and keys. */
  const send = async (count: number) => {
    const c = await client();
    const sent: { id: Hex; responseKey: Uint8Array }[] = [];
    for (let i = 0; i < count; i++)
      sent.push(await c.send("transfer", { to: recipient.address, amount: "1" }));
    acknowledged += count;
    return { c, sent };
  };
  /** Every acknowledged transfer applied, each exactly once: the recipient holds their count. */
  const assertExactlyOnce = async (sent: {
    c: AnonifyClient;
    sent: { id: Hex; responseKey: Uint8Array }[];
  }) => {
    let last = 0n;
    for (const { id, responseKey } of sent.sent) {
      const receipt = await sent.c.waitForReceipt(id, responseKey);
      assert.equal(receipt.status, "applied", `acknowledged command ${id}`);
      last = receipt.sequence > last ? receipt.sequence : last;
    }
    await waitForApplied(n.net.running(), last + 1n);
    assert.equal(await (await n.client(recipient, 0)).query("balanceOf", {}), BigInt(acknowledged));
  };

  before(async () => {
    const pki = await makeSevSnpTestPki();
    const crl = await makeSevSnpTestCrl(pki);
    ({ n } = await startEmulatedSevSnp(pki, {
      nodes: NODES,
      sevSnpCrls: { crls: [crl], rootPem: pki.arkPem },
    }));
    index = n.nodes.length;
    const first = {
      ...n.options[0]!,
      hostDir: join(dir, "node-4"),
      wallet: withWallet(n.chain.owner, anvilKey(index + 1)),
      enclaveEndpoint: await serve(),
      peers: n.nodes.map((node) => node.url),
      log: createLogger({ write: (l) => logs.push(l) }).child({ node: "node-4" }),
    };
    n.options.push(first);
    n.nodes.push(await startNodeService(first));
    // Its host comes back on the same port: clients keep its URL.
    n.options[index] = { ...first, port: Number(new URL(n.nodes[index]!.url).port) };
    await waitForGroup(n.net.running());
    sender = await n.token.fundedAccount(100n);
  });
  after(async () => {
    await n?.close();
    await vm?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the host restarts: it resumes the enclave in its VM, the same member, and acknowledged commands apply exactly once", async () => {
    const before = n.nodes[index]!.address;
    // Acknowledged and not yet known applied when the host stops: queued in the enclave it resumes.
    const inFlight = await send(EACH_SIDE);
    await n.nodes[index]!.stop();
    await startHost(n.options[index]!);
    assert.equal(n.nodes[index]!.address, before, "the same identity, held in the VM's memory");
    assert.ok(logs.some((l) => /node-4.*enclave kept its state: continuing with it/.test(l)));
    assert.ok(!logs.some((l) => /vm-1: .*enclave ended/.test(l)), "the VM's enclave never ended");
    await waitForGroup(n.net.running());
    await assertExactlyOnce(inFlight);
    await assertExactlyOnce(await send(EACH_SIDE));
  });

  test("the VM restarts: a new enclave (SEV-SNP seals nothing) rejoins with a snapshot, the old is revoked, and commands go on", async () => {
    const before = n.nodes[index]!.address;
    await assertExactlyOnce(await send(EACH_SIDE));
    const installed = () => logs.filter((l) => /node-4.*state snapshot installed/.test(l)).length;
    const installedBefore = installed();
    await n.nodes[index]!.stop();
    await vm.close();
    await startHost({ ...n.options[index]!, enclaveEndpoint: await serve() });
    const again = n.nodes[index]!.address;
    assert.notEqual(again, before, "a new enclave process is a new identity on SEV-SNP");
    const isNew = (m: string) => m.toLowerCase() === again.toLowerCase();
    await waitForGroup(n.net.running(), { size: NODES + 2, where: (g) => g.members.some(isNew) });
    // Commands were applied before it joined: it starts from a peer's state snapshot.
    await until(
      "node 4's new enclave to install a state snapshot",
      () => installed() > installedBefore || undefined,
    );
    await revokeWithDevPolicy(n.chain, before, 1n);
    await waitForGroup(n.net.running(), {
      what: "the old enclave revoked",
      where: (g) => g.members.some(isNew) && !g.members.some((m) => m.toLowerCase() === before.toLowerCase()),
    });
    await assertExactlyOnce(await send(EACH_SIDE));
  });
});
