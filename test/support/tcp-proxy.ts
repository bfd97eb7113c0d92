// An RPC endpoint that fails the way real ones do: a TCP proxy in front of a real node that forwards,
// drops every connection at once (a provider that went away), or accepts and never answers (a
// stalled one). It counts the connections it was asked for, so a test can tell who was tried.

import type { AddressInfo } from "node:net";
import { connect, createServer, type Socket } from "node:net";

export type ProxyMode = "forward" | "drop" | "stall";

export type TcpProxy = {
  readonly url: string;
  /** Connections accepted so far, in any mode. */
  readonly connections: number;
  /** Changes how new connections are served; open ones are cut, as a restarting provider would. */
  set(mode: ProxyMode): void;
  close(): Promise<void>;
};

export async function startTcpProxy(target: string, mode: ProxyMode = "forward"): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  let current = mode;
  let connections = 0;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    connections++;
    open.add(client);
    client.on("close", () => open.delete(client));
    client.on("error", () => client.destroy());
    if (current === "drop") return client.destroy();
    if (current === "stall") return; // read nothing, answer nothing
    const upstream = connect(Number(port), hostname);
    open.add(upstream);
    upstream.on("close", () => {
      open.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    get connections() {
      return connections;
    },
    set(mode) {
      current = mode;
      for (const socket of open) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
