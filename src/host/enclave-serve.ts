// `anonify enclave serve --listen`: the enclave in a confidential VM, served to a host outside it over
// TCP. One enclave process, fed the attached connection's bytes as a host's child is fed its stdin,
// its stdout written back; it outlives the connection. A connection that drops (a blip, a host that
// restarted, a host that gave up on a hung call) leaves the enclave running with its state and group
// membership in memory, and the host's next connection continues with it (`session: "resume"`): on
// TDX and SEV-SNP, where nothing sealed outlives the process, a new process would be a new identity
// that rejoins the group. The host asks for a new process with `session: "fresh"` (a rollback needs
// one); an enclave that exits is replaced at the next connection, which the host restores.
//
// Connections carry whole messages only (frame-position.ts): a connection attached while the enclave
// is writing an answer for the last one gets the stream from the next answer on (answers meant for a
// connection that is gone are dropped: its host failed those calls, and its next calls have other
// ids); a connection cut in the middle of a message has it completed with padding, which the enclave
// refuses as not JSON, so the next connection's frames are read in step. Nothing is read but headers.
//
// Who may be the host: a peer that proves it holds the operator's host token
// (src/boundary/host-handshake.ts) before any byte reaches the enclave. A stranger is refused and
// changes nothing; the host's connection goes on. A second peer that does prove it replaces the first
// connection (the enclave stays): a host whose connection died unseen (a half-open TCP connection, a
// host restarted) must get its enclave back at once, and only the token's holder, the host itself,
// can do so; refusing it instead would lock the host out for as long as the dead connection lingers.
// This process sees no more than the host does (the same frames), so it is no more trusted than the host.
import { createServer, type Server, type Socket } from "node:net";
import {
  challenge,
  encodeHandshake,
  HandshakeError,
  type HandshakeMessage,
  provesHost,
  takeHandshake,
} from "../boundary/host-handshake.js";
import { type EnclaveLink, endLink, KEEPALIVE_MS, spawnEnclave } from "./enclave-link.js";
import { FramePosition } from "./frame-position.js";

/** A peer that has not proved itself by then is refused. */
const HANDSHAKE_TIMEOUT_MS = 5_000;
/** Peers in their handshake at once; more are dropped unanswered (a flood must not exhaust the server). */
const MAX_PENDING_PEERS = 16;
/** How long a refused peer's socket lingers for it to read why, before it is cut. */
const REFUSED_LINGER_MS = 1_000;

export type EnclaveServeOptions = {
  listen: { host: string; port: number };
  token: string;
  bundle: string;
  /** The enclave's platform directory, inside the VM. */
  dataDir: string;
  /** Lines the enclave writes to stderr. */
  onLog?: (line: string) => void;
  /** What the server itself says: peers accepted, refused, sessions ended (never the token). */
  onNote?: (line: string) => void;
};

export type EnclaveServer = {
  /** Where it listens (the port chosen when 0 was asked for). */
  readonly address: { host: string; port: number };
  /** The enclave process, while one runs. */
  readonly pid: number | undefined;
  /** Why the last enclave process ended. */
  readonly lastExit: string | undefined;
  close(): Promise<void>;
};

/** The host connection attached to the enclave: `forwarding` once the enclave's output is at a message start. */
type Host = { socket: Socket; peer: string; forwarding: boolean; held: Buffer };
/** The enclave process, which outlives connections; `input`/`output`: where its streams stand. */
type Enclave = { link: EnclaveLink; input: FramePosition; output: FramePosition; host: Host | undefined };

export async function serveEnclave(options: EnclaveServeOptions): Promise<EnclaveServer> {
  const note = options.onNote ?? (() => undefined);
  const pending = new Set<Socket>();
  let current: Enclave | undefined;
  let lastExit: string | undefined;
  let closing = false;
  // Connections are attached one after another, and an enclave ends before the next starts: two
  // enclaves never share the data directory.
  let turn = Promise.resolve();

  const toHost = (enclave: Enclave, chunk: Buffer): void => {
    const ends = enclave.output.advance(chunk);
    const host = enclave.host;
    if (!host) return; // answers to a connection that is gone: its host already failed those calls
    if (host.forwarding) return void host.socket.write(chunk);
    // Attached while the enclave was writing a message for the last connection: from the next one on.
    const first = ends[0];
    if (first === undefined) return;
    host.forwarding = true;
    if (first < chunk.length) host.socket.write(chunk.subarray(first));
  };

  const fromHost = (enclave: Enclave, host: Host, chunk: Buffer): void => {
    enclave.input.advance(chunk);
    const bytes = host.held.length === 0 ? chunk : Buffer.concat([host.held, chunk]);
    // A header is passed on whole or not at all: a cut connection leaves no half header behind.
    const keep = enclave.input.partialHeader;
    host.held = Buffer.from(bytes.subarray(bytes.length - keep));
    if (bytes.length > keep) enclave.link.write(bytes.subarray(0, bytes.length - keep));
  };

  /** The host's connection is gone: the message it was sending is completed, the enclave goes on. */
  const detach = (enclave: Enclave, host: Host): void => {
    if (enclave.host !== host) return;
    enclave.host = undefined;
    host.socket.destroy();
    if (current !== enclave) return; // it has ended: nothing to keep in step
    const rest = enclave.input.close();
    if (rest === undefined) {
      note(`host ${host.peer} left in an oversized frame: its enclave ends`);
      enclave.link.end();
      return;
    }
    if (rest.length > 0) enclave.link.write(rest);
    note(`host ${host.peer} disconnected; its enclave keeps running for the next connection`);
  };

  const startEnclave = (): Enclave => {
    const enclave: Enclave = {
      link: spawnEnclave(options.bundle, options.dataDir, {
        onData: (chunk) => toHost(enclave, chunk),
        ...(options.onLog ? { onLog: options.onLog } : {}),
      }),
      input: new FramePosition(),
      output: new FramePosition(),
      host: undefined,
    };
    void enclave.link.ended.then((why) => {
      lastExit = why;
      if (current === enclave) current = undefined;
      note(`enclave ended: ${why}`);
      // Its host sees the connection close, as a child's host sees it exit; the next one is fresh.
      enclave.host?.socket.end();
    });
    return enclave;
  };

  const endEnclave = async (enclave: Enclave | undefined): Promise<void> => {
    if (!enclave) return;
    if (enclave.host) detach(enclave, enclave.host);
    await endLink(enclave.link);
  };

  const attach = (enclave: Enclave, socket: Socket, rest: Uint8Array, peer: string): void => {
    const host: Host = { socket, peer, forwarding: enclave.output.atBoundary, held: Buffer.alloc(0) };
    enclave.host = host;
    socket.write(encodeHandshake({ step: "accepted" }));
    if (rest.length > 0) fromHost(enclave, host, Buffer.from(rest));
    socket.on("data", (chunk: Buffer) => fromHost(enclave, host, chunk));
    socket.once("close", () => detach(enclave, host));
    socket.resume();
    note(`host ${peer} connected`);
  };

  const refuse = (socket: Socket, peer: string, reason: string): void => {
    note(`refused ${peer}: ${reason}`);
    socket.end(encodeHandshake({ step: "refused", reason }));
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  };

  const admit = (
    socket: Socket,
    answer: HandshakeMessage,
    nonce: Uint8Array,
    rest: Uint8Array,
    peer: string,
  ) => {
    if (!provesHost(answer, options.token, nonce))
      return refuse(socket, peer, "the proof does not match this enclave's host token");
    const fresh = answer.step === "proof" && answer.session === "fresh";
    turn = turn.then(async () => {
      if (closing) return void socket.destroy();
      if (socket.destroyed) return;
      // The host's last connection, if still attached, is replaced (why: at the top).
      if (current?.host) detach(current, current.host);
      if (fresh) await endEnclave(current);
      if (socket.destroyed) return;
      current ??= startEnclave();
      attach(current, socket, rest, peer);
    });
  };

  const onConnection = (socket: Socket): void => {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on("error", () => undefined); // followed by close
    if (pending.size >= MAX_PENDING_PEERS) return void socket.destroy();
    pending.add(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    const asked = challenge();
    socket.write(encodeHandshake(asked.message));
    let received: Uint8Array = new Uint8Array(0);
    const settle = () => {
      clearTimeout(timer);
      pending.delete(socket);
      socket.off("data", onData);
      // Paused until its session starts: bytes meanwhile wait in the socket, in order.
      socket.pause();
    };
    const timer = setTimeout(() => {
      settle();
      refuse(socket, peer, `no proof within ${HANDSHAKE_TIMEOUT_MS} ms`);
    }, HANDSHAKE_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      let taken: ReturnType<typeof takeHandshake>;
      try {
        taken = takeHandshake(received);
      } catch (error) {
        if (!(error instanceof HandshakeError)) throw error;
        settle();
        return refuse(socket, peer, error.message);
      }
      if (!taken) return;
      settle();
      admit(socket, taken.message, asked.nonce, taken.rest, peer);
    };
    socket.on("data", onData);
    socket.once("close", () => {
      if (pending.delete(socket)) clearTimeout(timer);
    });
  };

  const server: Server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : options.listen.port;
  return {
    address: { host: options.listen.host, port },
    get pid() {
      return current?.link.pid;
    },
    get lastExit() {
      return lastExit;
    },
    close: async () => {
      closing = true;
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of pending) socket.destroy();
      turn = turn.then(() => endEnclave(current));
      await turn;
      await closed;
    },
  };
}
