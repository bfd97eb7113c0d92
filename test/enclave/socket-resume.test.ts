// An enclave served over TCP outlives its host's connection (src/host/enclave-serve.ts): a host that
// reconnects continues with the same enclave, its state in memory; only the token's holder can, for
// the session it proved; a connection cut mid-message leaves the enclave in step; a hung enclave is
// noticed by the host's call deadline (src/host/call-deadline.ts), not waited on for ever. Reads dist/
// (run `npm run build` first).
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Hex } from "viem";
import { encodeFrame } from "../../src/boundary/frames.js";
import {
  encodeHandshake,
  type HandshakeMessage,
  proofFor,
  takeHandshake,
} from "../../src/boundary/host-handshake.js";
import { EnclaveHungError } from "../../src/host/enclave-process.js";
import type { EnclaveServer } from "../../src/host/enclave-serve.js";
import { type ServedEnclave, servedEnclave } from "../support/served-enclave.js";

const LOOPBACK = "127.0.0.1";
const DOMAIN = { chainId: 31337, contract: `0x${"cd".repeat(20)}` as Hex };
const HOST_TOKEN = "7a".repeat(32);
const STRANGER_TOKEN = "0f".repeat(32);
/** Short, for the test: the enclave is stopped, so any deadline is met by its silence. */
const HUNG_DEADLINE_MS = 1_000;

/** A raw peer: the challenge it was sent, and what it hears next (the server's verdict, as text). */
async function rawPeer(port: number): Promise<{
  socket: Socket;
  challenged: HandshakeMessage;
  verdict: () => Promise<string>;
}> {
  const socket = connect({ host: LOOPBACK, port });
  let bytes: Uint8Array = new Uint8Array(0);
  const messages: HandshakeMessage[] = [];
  const waiting: (() => void)[] = [];
  socket.on("data", (chunk) => {
    bytes = new Uint8Array([...bytes, ...chunk]);
    for (let taken = takeHandshake(bytes); taken; taken = takeHandshake(bytes)) {
      messages.push(taken.message);
      bytes = taken.rest;
    }
    for (const check of waiting.splice(0)) check();
  });
  const next = (index: number) =>
    new Promise<HandshakeMessage>((resolve, reject) => {
      const check = () => {
        const message = messages[index];
        if (message) resolve(message);
        else waiting.push(check);
      };
      socket.once("close", () => reject(new Error("closed before a handshake message")));
      check();
    });
  const challenged = await next(0);
  return { socket, challenged, verdict: async () => JSON.stringify(await next(1)) };
}

describe("a host's connections to an enclave that outlives them", () => {
  let served: ServedEnclave;
  let server: EnclaveServer;
  const connectAs: ServedEnclave["connectAs"] = (token, options) => served.connectAs(token, options);
  let address: Hex;
  before(async () => {
    served = await servedEnclave(HOST_TOKEN, "socket-resume");
    ({ server } = served);
    address = (await connectAs(HOST_TOKEN).call("init", DOMAIN)).address;
  });
  after(() => served.close());

  test("only the token's holder takes over, for the session it proved: replayed or altered proofs are refused", async () => {
    const pid = server.pid;
    // The host's own proof, overheard on the path, replayed on a connection of the attacker's.
    const overheard = await rawPeer(server.address.port);
    const proof = encodeHandshake(proofFor(HOST_TOKEN, overheard.challenged));
    overheard.socket.destroy();
    const replay = await rawPeer(server.address.port);
    replay.socket.write(proof);
    assert.match(await replay.verdict(), /"refused".*the proof does not match/);
    // A proof of resume, turned into fresh on the path (that would end the enclave: a rejoin on TDX).
    const altered = await rawPeer(server.address.port);
    const resume = proofFor(HOST_TOKEN, altered.challenged);
    altered.socket.write(encodeHandshake({ ...resume, session: "fresh" } as HandshakeMessage));
    assert.match(await altered.verdict(), /"refused".*the proof does not match/);
    // A stranger.
    const stranger = connectAs(STRANGER_TOKEN, { session: "fresh" });
    assert.match(await stranger.whenExited, /refused this host/);
    assert.equal(server.pid, pid, "the enclave was not replaced");
    assert.equal((await connectAs(HOST_TOKEN).call("status")).address, address);
  });

  test("a connection cut in the middle of a call leaves the enclave in step for the next one", async () => {
    const peer = await rawPeer(server.address.port);
    peer.socket.write(encodeHandshake(proofFor(HOST_TOKEN, peer.challenged)));
    assert.match(await peer.verdict(), /"accepted"/);
    const frame = encodeFrame({ v: 1, id: 1, call: "status", args: { pad: "x".repeat(64) } });
    peer.socket.write(frame.subarray(0, frame.length - 10));
    await new Promise<void>((resolve) => peer.socket.end(resolve));
    const next = connectAs(HOST_TOKEN);
    assert.equal((await next.call("status")).address, address, "the same enclave, reading in step");
    assert.equal((await next.call("init", DOMAIN)).created, undefined, "its identity kept in memory");
  });

  test("a stopped enclave fails the call in flight by name and the link is cut; reconnected, it is the same", async () => {
    const pid = server.pid;
    assert.ok(pid);
    const host = connectAs(HOST_TOKEN, { callDeadlineMs: () => HUNG_DEADLINE_MS });
    assert.equal((await host.call("status")).address, address);
    process.kill(pid, "SIGSTOP");
    try {
      // The connection stays up (the kernel answers keepalive probes): only the deadline notices.
      await assert.rejects(
        host.call("status"),
        (e) => e instanceof EnclaveHungError && /no answer to status within 1000 ms/.test(e.message),
      );
      assert.match(await host.whenExited, /enclave hung: no answer to status/);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const again = connectAs(HOST_TOKEN);
    assert.equal((await again.call("status")).address, address, "its state kept through the hang");
    assert.equal(server.pid, pid);
  });
});
