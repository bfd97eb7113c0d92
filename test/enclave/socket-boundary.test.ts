// The boundary across a VM: enclaves served over TCP (`anonify enclave serve --listen`) and hosts that
// connect to them (`enclaveEndpoint`, `node start --enclave-endpoint`), on loopback. The same frames
// and calls as over stdio; a peer that is not the host is refused before any byte reaches the
// enclave; a host whose connection drops reconnects and loses no acknowledged command. Reads dist/
// (run `npm run build` first). The rest of the enclave suite runs over TCP too with
// ANONIFY_ENCLAVE_OVER_TCP=1 (src/host/enclave-loopback.ts).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { Hex } from "viem";
import type { RunningService } from "../../src/attestation/service.js";
import { encodeFrame } from "../../src/boundary/frames.js";
import {
  challenge,
  encodeHandshake,
  type SessionMode,
  takeHandshake,
} from "../../src/boundary/host-handshake.js";
import { DEFAULT_ENCLAVE_BUNDLE } from "../../src/build/enclave-bundle.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { type ChildCommand, startChildCommand } from "../../src/devnet/child-command.js";
import { buildNodeApi } from "../../src/host/api/api.js";
import { EnclaveExitedError, EnclaveProcess } from "../../src/host/enclave-process.js";
import type { EnclaveServer } from "../../src/host/enclave-serve.js";
import { createLogger } from "../../src/host/log.js";
import type { EnclaveNode } from "../../src/host/node-host.js";
import { type LedgerFixture, startLedgerFixture } from "../support/chain.js";
import { waitForGroup } from "../support/group.js";
import { allowEnclaves, hostWallet, startService } from "../support/network.js";
import { TestNodes } from "../support/nodes.js";
import { type ServedEnclave, servedEnclave } from "../support/served-enclave.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { issueToken, newAccount } from "../support/token.js";
import { startTransferStream } from "../support/transfer-stream.js";
import { until } from "../support/wait.js";

const CLI = join(import.meta.dirname, "../../bin/anonify.mjs");
const LOOPBACK = "127.0.0.1";
const DOMAIN = { chainId: 31337, contract: `0x${"ab".repeat(20)}` as Hex };
const HOST_TOKEN = "5e".repeat(32);
const STRANGER_TOKEN = "0f".repeat(32);
const FUNDS = 1_000n;
/** Transfers acknowledged before the connection drops, and again after the host reconnected. */
const ACKNOWLEDGED_EACH_SIDE = 4;
/** The nodes' enclave call deadline: short, so that a hung enclave is noticed within the test. */
const NODE_CALL_DEADLINE_MS = 10_000;

/** What a peer that skips the handshake hears: every handshake message the server sent, until it closed. */
function speakFramesUnproved(port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: LOOPBACK, port });
    const heard: string[] = [];
    let bytes: Uint8Array = new Uint8Array(0);
    socket.on("connect", () =>
      socket.write(
        encodeFrame({ v: 1, id: 1, call: "init", args: { chainId: 1, contract: DOMAIN.contract } }),
      ),
    );
    socket.on("data", (chunk) => {
      bytes = new Uint8Array([...bytes, ...chunk]);
      for (let taken = takeHandshake(bytes); taken; taken = takeHandshake(bytes)) {
        heard.push(JSON.stringify(taken.message));
        bytes = taken.rest;
      }
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(heard));
  });
}

describe("an enclave served over TCP", () => {
  let served: ServedEnclave;
  let server: EnclaveServer;
  const connectAs = (token: string, session: SessionMode = "resume") => served.connectAs(token, { session });
  before(async () => {
    served = await servedEnclave(HOST_TOKEN, "socket");
    ({ server } = served);
  });
  after(() => served.close());

  test("a peer that is not the host is refused, and the host's session goes on", async () => {
    const host = connectAs(HOST_TOKEN, "fresh");
    const made = await host.call("init", DOMAIN);
    assert.equal(made.created, "first-start");

    const stranger = connectAs(STRANGER_TOKEN);
    await assert.rejects(stranger.call("status"), EnclaveExitedError);
    assert.match(
      await stranger.whenExited,
      /refused this host: the proof does not match this enclave's host token/,
    );
    // Frames without the handshake: the challenge, then a refusal; no call is answered.
    const heard = await speakFramesUnproved(server.address.port);
    assert.equal(heard.length, 2, heard.join("\n"));
    assert.match(heard[0]!, /"step":"challenge"/);
    assert.match(
      heard[1]!,
      /"step":"refused","reason":"bad handshake message: handshake.step: is not a known case/,
    );

    const status = await host.call("status");
    assert.equal(status.address, made.address, "the host's enclave is the one it initialized");
  });

  test("the host's next connection replaces its last and continues with its enclave; fresh asks for a new one", async () => {
    const first = connectAs(HOST_TOKEN, "fresh");
    const made = await first.call("init", DOMAIN);
    const pid = server.pid;
    const second = connectAs(HOST_TOKEN);
    assert.equal(
      (await second.call("status")).address,
      made.address,
      "the same enclave, its identity in memory",
    );
    assert.equal(server.pid, pid);
    assert.match(await first.whenExited, /closed the connection/);
    const third = connectAs(HOST_TOKEN, "fresh");
    assert.equal((await third.call("status")).address, undefined, "a fresh enclave, as after a restart");
    assert.notEqual(server.pid, pid);
    const again = await third.call("init", { ...DOMAIN, sealedIdentity: made.sealedIdentity });
    assert.equal(again.address, made.address);
  });
});

describe("a host connected to something that is not an enclave of ours", () => {
  test("a frame that is not JSON fails the calls in flight and cuts the link; the host goes on", async () => {
    // Accepts any proof, then answers every call with bytes that are not JSON.
    const impostor = createServer((socket) => {
      socket.write(encodeHandshake(challenge().message));
      socket.once("data", () => {
        socket.write(encodeHandshake({ step: "accepted" }));
        socket.on("data", () => socket.write(Buffer.from([0, 0, 0, 3, 0x7b, 0x7b, 0x7b])));
      });
    });
    await new Promise<void>((resolve) => impostor.listen(0, LOOPBACK, resolve));
    const { port } = impostor.address() as AddressInfo;
    const host = EnclaveProcess.start({
      dataDir: "unused",
      endpoint: { host: LOOPBACK, port, token: HOST_TOKEN },
    });
    try {
      await assert.rejects(host.call("status"), /enclave sent a frame that is not JSON/);
      assert.match(await host.whenExited, /enclave sent a frame that is not JSON|closed the connection/);
    } finally {
      impostor.close();
    }
  });
});

describe("nodes whose enclaves run behind anonify enclave serve", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-socket-nodes-"));
  const tokenFile = join(dir, "host.token");
  const logs: string[] = [];
  const started = new TestNodes();
  const served: ChildCommand<{ port: number }>[] = [];
  const apis: { close(): Promise<void> }[] = [];
  const urls: string[] = [];
  let f: LedgerFixture;
  let service: RunningService;
  /** Between node 2's host and its enclave: cut to drop the connection. */
  let link: TcpProxy;
  let nodes: EnclaveNode[];
  const net = {
    running: () => nodes,
    client: (account: Parameters<typeof AnonifyClient.connect>[0]["account"], index: number) =>
      AnonifyClient.connect({
        network: { rpcUrl: f.anvil.rpcUrl, chainId: f.domain.chainId, contract: f.contract },
        node: urls[index]!,
        account,
      }),
  };

  /** The network's one token, constructed by the first test that asks. */
  let issued: ReturnType<typeof issueToken> | undefined;
  const token = () => {
    issued ??= issueToken(net, 0);
    return issued;
  };
  const serve = async (name: string) => {
    const server = await startChildCommand<{ port: number }>(
      CLI,
      [
        ...["enclave", "serve", "--listen", `${LOOPBACK}:0`, "--host-token-file", tokenFile],
        ...["--data-dir", join(dir, name), "--json"],
      ],
      { onLine: (line) => logs.push(`${name}: ${line}`) },
    );
    served.push(server);
    return server;
  };
  const startNode = async (index: number, port: number) => {
    const node = await started.start({
      hostDir: join(dir, `node-${index}`),
      wallet: hostWallet(f, index),
      contract: f.contract,
      deployedAtBlock: 0n,
      attestationUrl: service.url,
      enclaveEndpoint: { host: LOOPBACK, port, token: HOST_TOKEN },
      enclaveCallDeadlineMs: NODE_CALL_DEADLINE_MS,
      log: createLogger({ write: (l) => logs.push(l) }).child({ node: `node-${index}` }),
    });
    const api = buildNodeApi({ node, contract: f.contract, chainId: f.domain.chainId });
    apis.push(api);
    urls.push(await api.listen({ port: 0, host: LOOPBACK }));
    return node;
  };

  before(async () => {
    writeFileSync(tokenFile, `${HOST_TOKEN}\n`, { mode: 0o600 });
    f = await startLedgerFixture();
    service = await startService();
    const { measurement } = JSON.parse(readFileSync(`${DEFAULT_ENCLAVE_BUNDLE}.json`, "utf8")) as {
      measurement: Hex;
    };
    await allowEnclaves(f, service, measurement);
  });
  after(async () => {
    for (const api of apis) await api.close();
    await started.stopAll();
    for (const server of served) await server.stop();
    await link?.close();
    await service?.close();
    await f?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("node start --enclave-endpoint is refused without the host token", async () => {
    const start = promisify(execFile)(process.execPath, [
      CLI,
      ...["node", "start", "--attestation", "http://127.0.0.1:9", "--key", join(dir, "no-key")],
      ...["--enclave-endpoint", "127.0.0.1:7000"],
    ]);
    await assert.rejects(start, (e: { stderr: string }) =>
      /rejected \(bad_flag\): --enclave-endpoint needs --host-token-file/.test(e.stderr),
    );
  });

  test("two nodes form their group and apply commands; a stranger at the enclave's port is refused", async () => {
    const [a, b] = [await serve("vm-1"), await serve("vm-2")];
    link = await startTcpProxy(`http://${LOOPBACK}:${b.ready.port}`);
    nodes = [await startNode(1, a.ready.port), await startNode(2, Number(new URL(link.url).port))];
    await waitForGroup(nodes);

    const stranger = EnclaveProcess.start({
      dataDir: join(dir, "unused"),
      endpoint: { host: LOOPBACK, port: a.ready.port, token: STRANGER_TOKEN },
    });
    assert.match(await stranger.whenExited, /refused this host/);

    const sender = await (await token()).fundedAccount(FUNDS);
    const recipient = newAccount();
    const sent = await (await net.client(sender, 1)).call("transfer", { to: recipient.address, amount: "5" });
    assert.equal(sent.status, "applied");
    await until("node 1 to apply the transfer", async () =>
      (await (await net.client(recipient, 0)).query("balanceOf", {})) === 5n ? true : undefined,
    );
    assert.ok(logs.some((l) => /vm-1: enclave serve: refused .*the proof does not match/.test(l)));
  });

  /**
   * Transfers to node 2 until `ACKNOWLEDGED_EACH_SIDE` are acknowledged, then `disrupt`, then as many
   * again once `recovered`; every acknowledged one applied, and nothing else (a command whose answer
   * was lost in the disruption is acknowledged all the same: the client asks for it by id).
   */
  const underLoad = async (what: string, disrupt: () => Promise<void>, recovered: () => boolean) => {
    const victim = 1;
    const address = nodes[victim]!.address;
    const sender = await (await token()).fundedAccount(FUNDS);
    const recipient = newAccount();
    const client = await net.client(sender, victim);
    const stream = startTransferStream(client, recipient.address, urls[victim]!);
    const { acknowledged } = stream;
    await until(`transfers acknowledged before ${what}`, () =>
      acknowledged.length >= ACKNOWLEDGED_EACH_SIDE ? true : undefined,
    );
    const before = acknowledged.length;
    await disrupt();
    await until(`transfers acknowledged after ${what}`, () =>
      acknowledged.length >= before + ACKNOWLEDGED_EACH_SIDE && recovered() ? true : undefined,
    );
    await stream.stop();
    for (const { id, responseKey } of acknowledged) {
      const receipt = await client.waitForReceipt(id, responseKey);
      assert.equal(receipt.status, "applied", `acknowledged command ${id}`);
    }
    const expected = BigInt(acknowledged.length);
    await until("node 1 to apply every accepted transfer", async () =>
      (await (await net.client(recipient, 0)).query("balanceOf", {})) === expected ? true : undefined,
    );
    // The same enclave, still a member: no new identity, no registration, no snapshot to install.
    assert.equal(nodes[victim]!.address, address);
    assert.ok(logs.some((l) => /node-2.*enclave kept its state: continuing with it/.test(l)));
    assert.ok(!logs.some((l) => /vm-2: enclave serve: enclave ended/.test(l)), "vm-2's enclave never ended");
  };

  test("a host whose connection drops reconnects to the same enclave and loses no acknowledged command", async () => {
    const connections = link.connections;
    await underLoad(
      "the connection drops",
      async () => link.set("forward"), // cuts the open connection; the next ones go through
      () => link.connections > connections,
    );
    assert.ok(
      logs.some((l) => /vm-2: enclave serve: host .* disconnected; its enclave keeps running/.test(l)),
    );
  });

  test("a hung enclave is noticed by the call deadline; continued, it is the same enclave", async () => {
    const vm = served[1]!;
    const hung = () => logs.some((l) => /node-2.*enclave hung: no answer to/.test(l));
    const resumed = () => logs.filter((l) => /node-2.*enclave kept its state/.test(l)).length;
    const resumedBefore = resumed();
    await underLoad(
      "the enclave side stops",
      async () => {
        // The server stops: the TCP connection stays up, nothing crosses it.
        process.kill(vm.pid, "SIGSTOP");
        try {
          await until("the host to notice its enclave hung", () => (hung() ? true : undefined));
        } finally {
          process.kill(vm.pid, "SIGCONT");
        }
      },
      () => resumed() > resumedBefore,
    );
  });

  // Last: node 2's API stays bound to the node it was built for.
  test("a host process that restarts resumes the enclave in its VM: the same member, no rejoin", async () => {
    const before = nodes[1]!;
    const resumed = () => logs.filter((l) => /node-2.*enclave kept its state/.test(l)).length;
    const resumedBefore = resumed();
    const restarted = await started.restart(before);
    nodes = [nodes[0]!, restarted];
    assert.equal(restarted.address, before.address, "the same identity, held in the VM's memory");
    assert.equal(resumed(), resumedBefore + 1);
    assert.ok(!logs.some((l) => /vm-2: enclave serve: enclave ended/.test(l)), "vm-2's enclave never ended");
    await waitForGroup(nodes);
  });
});
