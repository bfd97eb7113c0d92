// `anonify enclave serve`: inside a confidential VM, the enclave bundle served to its host over TCP
// (src/host/enclave-serve.ts); the host runs `anonify node start --enclave-endpoint HOST:PORT`. Both
// read the same host token file. vsock: Node has no vsock sockets; a relay such as socat carries the
// TCP connection over it (docs/architecture.md, "A boundary across a VM").
import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { resolve } from "node:path";
import type { Command } from "commander";
import { HandshakeError, hostToken } from "../boundary/host-handshake.js";
import { DEFAULT_ENCLAVE_BUNDLE } from "../build/enclave-bundle.js";
import type { EnclaveEndpoint } from "../host/enclave-link.js";
import { serveEnclave } from "../host/enclave-serve.js";
import { OperatorError } from "../operator/operator-checks.js";
import { MAX_PORT, parseCount } from "./flags.js";
import { run } from "./output.js";

/** `HOST:PORT`, an IPv6 address in brackets (`[::1]:7000`). */
const ENDPOINT = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):([0-9]+)$/;

/** A `HOST:PORT` flag; `minPort` 0 lets a listener take any free port. */
export function parseEndpoint(value: string, flag: string, minPort = 1): { host: string; port: number } {
  const match = ENDPOINT.exec(value);
  const host = match?.[1] ?? match?.[2];
  if (!match || !host || (match[1] !== undefined && isIP(host) !== 6))
    throw new OperatorError(
      "bad_flag",
      `${flag} is HOST:PORT (an IPv6 address in brackets), not ${JSON.stringify(value)}`,
    );
  return { host, port: parseCount(match[3]!, `${flag}'s port`, MAX_PORT, minPort) };
}

/** The host token a `--host-token-file` holds (never printed). */
export function readHostToken(file: string): string {
  if (!existsSync(file))
    throw new OperatorError(
      "bad_host_token",
      `--host-token-file ${file}: no such file (openssl rand -hex 32 > ${file} makes one; give the same file to both sides)`,
    );
  try {
    return hostToken(readFileSync(file, "utf8"), file);
  } catch (error) {
    if (error instanceof HandshakeError) throw new OperatorError("bad_host_token", error.message);
    throw error;
  }
}

/**
 * `node start --enclave-endpoint HOST:PORT --host-token-file FILE`: the enclave the node connects to
 * instead of starting one. The bundle is the VM's then, so flags that choose or check a local bundle
 * are refused beside it.
 */
export function enclaveEndpointFlags(flags: {
  enclaveEndpoint?: string;
  hostTokenFile?: string;
  enclave?: string;
  app?: string;
  platform?: string;
}): EnclaveEndpoint | undefined {
  if (flags.enclaveEndpoint === undefined) {
    if (flags.hostTokenFile !== undefined)
      throw new OperatorError("bad_flag", "--host-token-file goes with --enclave-endpoint");
    return undefined;
  }
  if (flags.hostTokenFile === undefined)
    throw new OperatorError(
      "bad_flag",
      "--enclave-endpoint needs --host-token-file: the secret this host proves to the enclave's server",
    );
  const local = (["enclave", "app", "platform"] as const).find((name) => flags[name] !== undefined);
  if (local)
    throw new OperatorError(
      "bad_flag",
      `--${local} chooses or checks a local bundle; with --enclave-endpoint the VM runs the bundle (anonify enclave serve --enclave FILE)`,
    );
  return {
    ...parseEndpoint(flags.enclaveEndpoint, "--enclave-endpoint"),
    token: readHostToken(flags.hostTokenFile),
  };
}

type ServeFlags = { listen: string; hostTokenFile: string; dataDir: string; enclave?: string; json: boolean };

export function registerEnclaveServe(enclave: Command): void {
  enclave
    .command("serve")
    .description(
      "inside a confidential VM: serve the enclave to its host over TCP until Ctrl-C (one host connection at a time)",
    )
    .requiredOption("--listen <host:port>", "where the host connects (port 0: any free port)")
    .requiredOption(
      "--host-token-file <file>",
      "the secret the host proves it holds before any call (the same file as node start's)",
    )
    .option("--data-dir <dir>", "the enclave's platform directory, inside the VM", ".anonify/enclave")
    .option(
      "--enclave <file>",
      "the enclave bundle to run (anonify enclave build); default: the development build",
    )
    .option("--json", "print one JSON line once listening", false)
    .action((flags: ServeFlags) =>
      run(flags, async () => {
        const listen = parseEndpoint(flags.listen, "--listen", 0);
        const token = readHostToken(flags.hostTokenFile);
        const bundle = flags.enclave === undefined ? DEFAULT_ENCLAVE_BUNDLE : resolve(flags.enclave);
        if (!existsSync(bundle))
          throw new OperatorError(
            "bad_flag",
            `--enclave ${bundle}: no such bundle (anonify enclave build writes one)`,
          );
        const server = await serveEnclave({
          listen,
          token,
          bundle,
          dataDir: resolve(flags.dataDir),
          onLog: (line) => process.stderr.write(`${line}\n`),
          onNote: (line) => process.stderr.write(`enclave serve: ${line}\n`),
        });
        const stop = async () => {
          await server.close();
          process.exit(0);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        const { host, port } = server.address;
        if (flags.json) return console.log(JSON.stringify({ ok: true, host, port, pid: process.pid }));
        console.log(
          `enclave serving on ${host}:${port}: the host connects with anonify node start --enclave-endpoint`,
        );
      }),
    );
}
