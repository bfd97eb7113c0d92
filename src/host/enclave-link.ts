// How bytes reach an enclave: the pipes of a child process (the enclave on this machine), or a TCP
// connection to `anonify enclave serve` (the enclave in a confidential VM, src/host/enclave-serve.ts),
// opened by the host-token handshake (src/boundary/host-handshake.ts). Both carry the same frames;
// the calls above them (enclave-process.ts) do not know which.
import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import {
  encodeHandshake,
  HandshakeError,
  type HandshakeMessage,
  proofFor,
  type SessionMode,
  takeHandshake,
} from "../boundary/host-handshake.js";

export type EnclaveLink = {
  /** Bytes to the enclave, in order (held until the link is open). */
  write(bytes: Uint8Array): void;
  /** Ends the enclave's input: it ends once it has read it (the process exits, the session closes). */
  end(): void;
  /** Cuts the link at once. */
  kill(): void;
  /** The enclave's process, when it is a child of this one. */
  readonly pid: number | undefined;
  /** Resolves with why the link ended, whoever ended it. */
  readonly ended: Promise<string>;
};

export type LinkListeners = {
  /** Bytes from the enclave. */
  onData: (chunk: Buffer) => void;
  /** Lines the enclave writes to stderr (it writes no secret there); a child's only. */
  onLog?: (line: string) => void;
};

/** Where a host finds an enclave that runs elsewhere, and the token it proves itself with. */
export type EnclaveEndpoint = { host: string; port: number; token: string };

/** A connection or handshake that has not completed by then is given up (the next attempt backs off). */
const CONNECT_TIMEOUT_MS = 10_000;
/** How long an enclave may take to end once its input is closed, before it is cut. */
const EXIT_GRACE_MS = 5_000;
/** TCP keepalive: a peer that vanished (a VM gone, a cable cut) is noticed, not waited on for ever. */
export const KEEPALIVE_MS = 5_000;

/**
 * Opt-in CPU profiles of the enclave processes, for benchmarks (`BENCH_CPU_PROF=DIR`): Node refuses
 * `--cpu-prof` in NODE_OPTIONS, so the flag has to be passed where the process is started.
 */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
const profileFlags = CPU_PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF_DIR}`] : [];

/** The enclave bundle as a child process of this one, `dataDir` its platform's directory. */
export function spawnEnclave(bundle: string, dataDir: string, listeners: LinkListeners): EnclaveLink {
  return spawnChild(
    { command: process.execPath, args: [...profileFlags, bundle, "--data-dir", dataDir] },
    listeners,
  );
}

/**
 * A launcher that runs the enclave inside itself (`gramine-sgx NAME` in `cwd`, src/host/gramine-launch.ts):
 * its pipes are the enclave's. Its last line on stderr is said with its exit: a launcher that refuses
 * to start (a trusted file's hash differs) says why there.
 */
export type LauncherCommand = {
  command: string;
  args: readonly string[];
  cwd?: string;
  sayLastLine?: boolean;
};

export function spawnChild(launch: LauncherCommand, listeners: LinkListeners): EnclaveLink {
  const child = spawn(launch.command, launch.args, {
    stdio: ["pipe", "pipe", "pipe"],
    ...(launch.cwd ? { cwd: launch.cwd } : {}),
  });
  child.stdout?.on("data", listeners.onData);
  // Writing to a process that has just died fails with EPIPE on its stdin; its exit ends the link,
  // so the write error itself is not thrown (as an uncaught exception).
  child.stdin?.on("error", () => undefined);
  let lastLine: string | undefined;
  forwardLines(child, (line) => {
    lastLine = line;
    listeners.onLog?.(line);
  });
  const said = () => (launch.sayLastLine && lastLine ? `: ${lastLine}` : "");
  const ended = new Promise<string>((resolve) => {
    child.once("error", (error) => resolve(`enclave process did not start (${error.message})`));
    // `close`, not `exit`: its last answers are read from stdout first.
    child.once("close", (code, signal) =>
      resolve(`enclave process exited (code ${code}, signal ${signal})${said()}`),
    );
  });
  return {
    write: (bytes) => void child.stdin?.write(bytes),
    end: () => void child.stdin?.end(),
    kill: () => void child.kill("SIGKILL"),
    pid: child.pid,
    ended,
  };
}

/** Ends the enclave's input, cuts the link if it lingers, and waits until it has ended. */
export async function endLink(link: EnclaveLink): Promise<void> {
  link.end();
  const timer = setTimeout(() => link.kill(), EXIT_GRACE_MS);
  await link.ended;
  clearTimeout(timer);
}

function forwardLines(child: ChildProcess, onLog: ((line: string) => void) | undefined): void {
  let partial = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line) onLog?.(line);
  });
}

/**
 * A connection to an enclave served elsewhere: open once the enclave side accepts the host's proof of
 * `endpoint.token`; what is written before is held. Refused, unreachable or silent, it ends with why.
 * `session`: continue with the enclave running there (resume), or have it replaced (fresh).
 */
export function connectEnclave(
  endpoint: EnclaveEndpoint,
  listeners: LinkListeners,
  session: SessionMode = "resume",
): EnclaveLink {
  const where = `${endpoint.host}:${endpoint.port}`;
  const socket = connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
  socket.setKeepAlive(true, KEEPALIVE_MS);
  let held: Uint8Array[] | undefined = [];
  let handshake: Uint8Array = new Uint8Array(0);
  let reason: string | undefined;
  const fail = (why: string) => {
    reason ??= why;
    socket.destroy();
  };
  const timer = setTimeout(
    () => fail(`enclave at ${where}: no accepted handshake within ${CONNECT_TIMEOUT_MS} ms`),
    CONNECT_TIMEOUT_MS,
  );
  const open = (rest: Uint8Array) => {
    clearTimeout(timer);
    socket.off("data", onHandshake);
    socket.on("data", listeners.onData);
    for (const bytes of held ?? []) socket.write(bytes);
    held = undefined;
    if (rest.length > 0) listeners.onData(Buffer.from(rest));
  };
  const onHandshake = (chunk: Buffer) => {
    handshake = handshake.length === 0 ? chunk : Buffer.concat([handshake, chunk]);
    try {
      for (let taken = takeHandshake(handshake); taken; taken = takeHandshake(handshake)) {
        handshake = taken.rest;
        if (answer(taken.message, taken.rest)) return;
      }
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      fail(`enclave at ${where}: ${error.message}`);
    }
  };
  /** True once the handshake is over (open, or refused). */
  const answer = (message: HandshakeMessage, rest: Uint8Array): boolean => {
    if (message.step === "challenge")
      socket.write(encodeHandshake(proofFor(endpoint.token, message, session)));
    else if (message.step === "accepted") open(rest);
    else if (message.step === "refused") fail(`enclave at ${where} refused this host: ${message.reason}`);
    else throw new HandshakeError(`unexpected ${message.step}`);
    return message.step !== "challenge";
  };
  socket.on("data", onHandshake);
  // Every error is followed by `close`, which ends the link with the first reason given.
  socket.on("error", (error) => {
    reason ??= `enclave at ${where}: ${error.message}`;
  });
  const ended = new Promise<string>((resolve) =>
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(reason ?? `enclave at ${where} closed the connection`);
    }),
  );
  return {
    write: (bytes) => {
      if (held) held.push(bytes);
      else socket.write(bytes);
    },
    // Before it is open there is no session to end in order: the connection is dropped.
    end: () => (held ? socket.destroy() : socket.end()),
    kill: () => void socket.destroy(),
    pid: undefined,
    ended,
  };
}
