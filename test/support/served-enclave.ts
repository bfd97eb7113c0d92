// An enclave served over TCP on loopback in this process (`serveEnclave`, src/host/enclave-serve.ts),
// in a directory of its own, and hosts that connect to it: for the socket boundary's tests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_ENCLAVE_BUNDLE } from "../../src/build/enclave-bundle.js";
import { EnclaveProcess, type EnclaveProcessOptions } from "../../src/host/enclave-process.js";
import { type EnclaveServer, serveEnclave } from "../../src/host/enclave-serve.js";

const LOOPBACK = "127.0.0.1";

export type ServedEnclave = {
  readonly server: EnclaveServer;
  /** A host connecting with `token` (resuming unless `options.session` says fresh). */
  connectAs(
    token: string,
    options?: Pick<EnclaveProcessOptions, "session" | "callDeadlineMs">,
  ): EnclaveProcess;
  /** Stops every host, then the server; removes the directory. */
  close(): Promise<void>;
};

export async function servedEnclave(token: string, name: string): Promise<ServedEnclave> {
  const dir = mkdtempSync(join(tmpdir(), `anonify-${name}-`));
  const hosts: EnclaveProcess[] = [];
  const server = await serveEnclave({
    listen: { host: LOOPBACK, port: 0 },
    token,
    bundle: DEFAULT_ENCLAVE_BUNDLE,
    dataDir: join(dir, "vm"),
  });
  return {
    server,
    connectAs: (hostToken, options = {}) => {
      const host = EnclaveProcess.start({
        dataDir: join(dir, "unused"),
        endpoint: { host: LOOPBACK, port: server.address.port, token: hostToken },
        ...options,
      });
      hosts.push(host);
      return host;
    },
    close: async () => {
      for (const host of hosts) await host.stop();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
