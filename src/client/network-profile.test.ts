import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  type NetworkProfile,
  NetworkProfileError,
  parseNetworkProfile,
  readNetworkProfile,
  writeNetworkProfile,
} from "./network-profile.js";

const GOOD = {
  version: 1,
  chainId: 31337,
  contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  deployedAtBlock: "1",
  rpcUrl: "http://127.0.0.1:8545",
};

/** `parseNetworkProfile` of GOOD with `change` applied must fail, blaming `field`. */
function refuses(change: Record<string, unknown>, field: string | undefined, message: RegExp) {
  const json: Record<string, unknown> = { ...GOOD, ...change };
  for (const [k, v] of Object.entries(change)) if (v === undefined) delete json[k];
  assert.throws(
    () => parseNetworkProfile(json, "p.json"),
    (e: unknown) =>
      e instanceof NetworkProfileError &&
      e.code === "bad_network_profile" &&
      e.field === field &&
      message.test(e.message) &&
      e.message.startsWith(`p.json: ${field ? `${field}: ` : ""}`),
  );
}

describe("network profile", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-profile-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads back what it writes", () => {
    const profile: NetworkProfile = {
      chainId: 31337,
      contract: GOOD.contract as NetworkProfile["contract"],
      deployedAtBlock: 12n,
      rpcUrl: GOOD.rpcUrl,
    };
    const path = join(dir, "network.json");
    writeNetworkProfile(path, profile);
    assert.deepEqual(readNetworkProfile(path), profile);
  });

  it("takes a lower-case contract, checksums it, and takes numbers as decimal strings", () => {
    const p = parseNetworkProfile(
      { ...GOOD, contract: GOOD.contract.toLowerCase(), chainId: "10", deployedAtBlock: 7 },
      "p.json",
    );
    assert.equal(p.contract, GOOD.contract);
    assert.equal(p.chainId, 10);
    assert.equal(p.deployedAtBlock, 7n);
  });

  it("names each bad field", () => {
    refuses({ chainId: 0 }, "chainId", /positive integer/);
    refuses({ chainId: "0x7a69" }, "chainId", /positive integer/);
    refuses({ chainId: undefined }, "chainId", /missing/);
    refuses({ contract: "0x1234" }, "contract", /20-byte address/);
    // One letter's case changed: not the checksum of the address.
    refuses({ contract: GOOD.contract.replace("F", "f") }, "contract", /20-byte address/);
    refuses({ deployedAtBlock: -1 }, "deployedAtBlock", /block number/);
    refuses({ deployedAtBlock: "0x10" }, "deployedAtBlock", /block number/);
    refuses({ rpcUrl: "127.0.0.1:8545" }, "rpcUrl", /http\(s\) URL/);
    refuses({ rpcUrl: "file:///etc/passwd" }, "rpcUrl", /http\(s\) URL/);
    refuses({ version: 2 }, "version", /must be 1/);
    refuses({ chainRpc: "http://x" }, "chainRpc", /unknown field/);
  });

  it("says when the file is missing or not JSON", () => {
    assert.throws(() => readNetworkProfile(join(dir, "absent.json")), /absent\.json: no such file/);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ chainId: 1");
    assert.throws(() => readNetworkProfile(bad), /bad\.json: not JSON/);
    writeFileSync(bad, "[]");
    assert.throws(() => readNetworkProfile(bad), /bad\.json: must be a JSON object/);
  });
});
