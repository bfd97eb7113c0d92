// The cap on one client's open connections. It acts when a connection opens, before any header is
// read, so it sees the socket's peer only: a client is that peer's key (an IPv4 address, an IPv6
// /64), and a trusted proxy, which carries every client behind it, is left to the node's overall cap.
import type { Socket } from "node:net";
import { clientKey, type TrustedProxy } from "./client-address.js";

/** What the cap listens to: a server's new connections. */
type ConnectionSource = { on(event: "connection", listener: (socket: Socket) => void): unknown };

/**
 * Closes a connection at once when its client already holds `max`: an idle keep-alive connection
 * lasts fastify's 72 s, so without this one client could hold every connection of the node's cap
 * with a few requests a second. (A short keep-alive instead races clients that reuse a connection
 * just as the server closes it: their request fails.) A peer `exempt` says is a trusted proxy is
 * not capped: a cap on it would be one cap on all its clients together, which the node's
 * `maxConnections` already is; sharing connections fairly among them is the proxy's job.
 */
export function capConnectionsPerClient(server: ConnectionSource, max: number, exempt: TrustedProxy): void {
  const open = new Map<string, number>();
  server.on("connection", (socket) => {
    const address = socket.remoteAddress ?? "";
    if (exempt(address)) return;
    const key = clientKey(address);
    const count = (open.get(key) ?? 0) + 1;
    if (count > max) {
      socket.destroy();
      return;
    }
    open.set(key, count);
    socket.once("close", () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left === 0) open.delete(key);
      else open.set(key, left);
    });
  });
}
