// The test suite's calls over the socket boundary: with ANONIFY_ENCLAVE_OVER_TCP=1 in its environment,
// a host starts each enclave behind an `enclave serve` of its own on 127.0.0.1 (in this process, the
// enclave its child) and reaches it through the host-token handshake and TCP, as the host of a VM
// does. Nothing else changes: the frames, the calls, a crash (the enclave's exit ends the connection).
import { randomBytes } from "node:crypto";
import { connectEnclave, type EnclaveLink, type LinkListeners } from "./enclave-link.js";
import { type EnclaveServer, serveEnclave } from "./enclave-serve.js";

/** The environment variable that puts every enclave a host starts behind a loopback socket. */
export const OVER_TCP_ENV = "ANONIFY_ENCLAVE_OVER_TCP";
const LOOPBACK = "127.0.0.1";
const TOKEN_BYTES = 32;

export const overTcp = (): boolean => process.env[OVER_TCP_ENV] === "1";

/** The enclave `bundle` served on a loopback port of its own, and the host's connection to it. */
export function loopbackEnclave(bundle: string, dataDir: string, listeners: LinkListeners): EnclaveLink {
  const token = randomBytes(TOKEN_BYTES).toString("hex");
  let server: EnclaveServer | undefined;
  const linked = serveEnclave({
    listen: { host: LOOPBACK, port: 0 },
    token,
    bundle,
    dataDir,
    ...(listeners.onLog ? { onLog: listeners.onLog } : {}),
  }).then((served) => {
    server = served;
    return connectEnclave({ ...served.address, token }, listeners);
  });
  // The server goes with its one connection; the enclave's own exit says more than a closed socket.
  const ended = linked.then(
    async (link) => {
      const why = await link.ended;
      await server?.close();
      return server?.lastExit ?? why;
    },
    (error: Error) => `loopback enclave server did not start (${error.message})`,
  );
  // Each is chained on `linked`, so they happen in the order they were asked for.
  const later = (act: (link: EnclaveLink) => void) => void linked.then(act, () => undefined);
  return {
    write: (bytes) => later((link) => link.write(bytes)),
    end: () => later((link) => link.end()),
    kill: () => later((link) => link.kill()),
    get pid() {
      return server?.pid;
    },
    ended,
  };
}
