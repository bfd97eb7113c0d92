// `anonify enclave serve --listen`: the enclave in a confidential VM, served to a host outside it over
// TCP. One host connection at a time is a session: an enclave process of its own, fed the
// connection's bytes as a host's child is fed its stdin, its stdout written back. A session ends as a
// child process does (the host closes its side, or the enclave exits), and the next connection starts
// a fresh enclave that the host restores from what it keeps sealed, exactly as after a crash.
//
// Who may be the host: a peer that proves it holds the operator's host token
// (src/boundary/host-handshake.ts) before any byte reaches the enclave. A stranger is refused and
// changes nothing; the host's session goes on. A second peer that does prove it replaces the first:
// a host whose connection died unseen (a half-open TCP connection, a host restarted) must get its
// enclave back at once, and only the token's holder, the host itself, can do so. This process sees
// no more than the host does (the same frames), so it is no more trusted than the host.
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
  /** The current session's enclave process. */
  readonly pid: number | undefined;
  /** Why the last session's enclave ended. */
  readonly lastExit: string | undefined;
  close(): Promise<void>;
};

type Session = { socket: Socket; link: EnclaveLink };

export async function serveEnclave(options: EnclaveServeOptions): Promise<EnclaveServer> {
  const note = options.onNote ?? (() => undefined);
  const pending = new Set<Socket>();
  let current: Session | undefined;
  let lastExit: string | undefined;
  let closing = false;
  // Sessions start and end one after another: two enclaves never share the data directory.
  let turn = Promise.resolve();

  const endSession = async (session: Session | undefined): Promise<void> => {
    if (!session) return;
    session.socket.destroy();
    await endLink(session.link);
  };

  const startSession = (socket: Socket, rest: Uint8Array, peer: string): void => {
    const link = spawnEnclave(options.bundle, options.dataDir, {
      onData: (chunk) => socket.write(chunk),
      ...(options.onLog ? { onLog: options.onLog } : {}),
    });
    const session = { socket, link };
    current = session;
    socket.write(encodeHandshake({ step: "accepted" }));
    if (rest.length > 0) link.write(rest);
    socket.on("data", (chunk: Buffer) => link.write(chunk));
    // The host closing its side ends the enclave's input, as closing a child's stdin does.
    socket.once("close", () => link.end());
    socket.resume();
    note(`host ${peer} connected`);
    void link.ended.then((why) => {
      lastExit = why;
      if (current === session) current = undefined;
      note(`session of ${peer} ended: ${why}`);
      socket.end();
    });
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
    turn = turn.then(async () => {
      if (closing) return void socket.destroy();
      if (socket.destroyed) return;
      await endSession(current);
      if (!socket.destroyed) startSession(socket, rest, peer);
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
      turn = turn.then(() => endSession(current));
      await turn;
      await closed;
    },
  };
}
