// The key a client's limits count under, and which peers are trusted proxies.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkTrustedProxies, clientKey, trustedProxyCheck } from "./client-address.js";

describe("client addresses", () => {
  test("an IPv4 address is its own key, also when a dual-stack socket reports it IPv4-mapped", () => {
    assert.equal(clientKey("192.0.2.1"), "192.0.2.1");
    assert.equal(clientKey("::ffff:192.0.2.1"), "192.0.2.1");
    assert.equal(clientKey("::FFFF:192.0.2.1"), "192.0.2.1");
    assert.notEqual(clientKey("192.0.2.1"), clientKey("192.0.2.2"));
  });

  test("an IPv6 address counts as its /64, however it is written", () => {
    const key = clientKey("2001:db8:1:2::1");
    assert.equal(key, "2001:db8:1:2::");
    for (const other of ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:DB8:1:2:a::b", "2001:0db8:0001:0002::9"])
      assert.equal(clientKey(other), key, other);
    assert.notEqual(clientKey("2001:db8:1:3::1"), key, "the next /64");
    assert.notEqual(clientKey("2001:db8:1:2::1"), clientKey("2001:db9:1:2::1"));
    assert.equal(clientKey("::1"), "::");
  });

  test("what is no address (a header gone wrong, a socket already closed) is a key of its own", () => {
    assert.equal(clientKey("Unknown"), "unknown");
    assert.equal(clientKey(undefined), "");
  });

  test("trusted proxies: addresses and CIDR ranges of either family; an IPv4-mapped peer matches its IPv4 entry", () => {
    const trusted = trustedProxyCheck(["127.0.0.1", "10.0.0.0/8", "fd00::/8", "2001:db8::7"]);
    for (const address of [
      "127.0.0.1",
      "::ffff:127.0.0.1",
      "10.200.3.4",
      "::ffff:10.0.0.1",
      "fd12::1",
      "2001:db8::7",
    ])
      assert.equal(trusted(address), true, address);
    for (const address of ["127.0.0.2", "11.0.0.1", "fe80::1", "2001:db8::8", "", "unknown", "10.0.0.0/8"])
      assert.equal(trusted(address), false, address);
    assert.equal(trustedProxyCheck([])("127.0.0.1"), false, "none is trusted by default");
  });

  test("a trusted-proxy entry that is not an address or a range is refused, naming it; so is a /0", () => {
    for (const [entry, problem] of [
      ["proxy.example", /"proxy\.example" must be an IP address or a CIDR range/],
      ["10.0.0.0/33", /"10\.0\.0\.0\/33" needs a prefix from 1 to 32/],
      ["::/0", /"::\/0" needs a prefix from 1 to 128/],
      ["0.0.0.0/0", /needs a prefix from 1 to 32/],
      ["10.0.0.0/8/8", /must be an IP address or a CIDR range/],
      ["10.0.0.0/x", /needs a prefix/],
      ["", /must be an IP address/],
    ] as const) {
      assert.throws(() => checkTrustedProxies([entry]), problem, entry);
      assert.throws(() => trustedProxyCheck(["127.0.0.1", entry]), problem, entry);
    }
  });
});
