// The per-client connection cap on connections as a server reports them: one client is an IPv4
// address or an IPv6 /64, a trusted proxy is not capped, and a closed connection frees its place.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import { trustedProxyCheck } from "./client-address.js";
import { capConnectionsPerClient } from "./connection-cap.js";

/** A connection as the cap sees it: its peer's address, closed by the cap or by its client. */
class Connection extends EventEmitter {
  destroyed = false;
  constructor(readonly remoteAddress: string) {
    super();
  }
  destroy() {
    this.destroyed = true;
    this.emit("close");
  }
}

function capped(max: number, trusted: string[] = []) {
  const server = new EventEmitter();
  capConnectionsPerClient(server, max, trustedProxyCheck(trusted));
  return (address: string) => {
    const connection = new Connection(address);
    server.emit("connection", connection as unknown as Socket);
    return connection;
  };
}

describe("the per-client connection cap", () => {
  test("the addresses of one IPv6 /64 share one client's cap; another /64 has its own", () => {
    const open = capped(2);
    const held = [open("2001:db8:1:2::1"), open("2001:db8:1:2::2")];
    assert.equal(open("2001:db8:1:2:ffff::3").destroyed, true, "a third address of the /64 is one too many");
    assert.equal(open("2001:db8:1:3::1").destroyed, false);
    assert.ok(held.every((c) => !c.destroyed));
    held[0]?.destroy();
    assert.equal(open("2001:db8:1:2::9").destroyed, false, "a closed connection frees its place");
  });

  test("an IPv4-mapped peer is its IPv4 address", () => {
    const open = capped(1);
    open("::ffff:192.0.2.1");
    assert.equal(open("192.0.2.1").destroyed, true);
  });

  test("a trusted proxy is not capped; every other peer is", () => {
    const open = capped(1, ["10.0.0.0/8"]);
    const fromProxy = [open("10.0.0.5"), open("10.0.0.5"), open("::ffff:10.0.0.5")];
    assert.ok(fromProxy.every((c) => !c.destroyed));
    open("192.0.2.1");
    assert.equal(open("192.0.2.1").destroyed, true);
  });
});
