// A node as its operator watches it, through the real `anonify node start` process: `/metrics` on a
// port of its own (`--metrics-port`), and `anonify node status`, which says whether it serves, how far
// it has read the chain, its gas, and warns before the gas account runs dry; the log says it once
// when it starts to hold and once when it clears.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readVectorJson, vectorsSkip } from "../../src/attestation/dcap/test-vectors.js";
import { anvilKey } from "../support/chain.js";
import { until } from "../support/wait.js";
import { anonify, type OperatorNet, startOperatorNet } from "./operator-net.js";

/** Wei a gas account is left with: a few transactions' worth, far below 100 batches. */
const NEARLY_DRY_WEI = 10n ** 15n;
const REFILLED_WEI = 10n ** 22n;

async function setBalance(rpcUrl: string, account: Hex, wei: bigint): Promise<void> {
  const res = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "anvil_setBalance",
      params: [account, `0x${wei.toString(16)}`],
    }),
  });
  assert.equal(((await res.json()) as { error?: unknown }).error, undefined);
}

describe("a node as its operator watches it", () => {
  let net: OperatorNet;
  before(async () => {
    net = await startOperatorNet(1, { nodeArgs: ["--metrics-port", "0"] });
  });
  after(async () => net?.stop());

  test("metrics on their own port, and node status warning of low gas before it bites", async () => {
    const node = net.nodes[0]!;
    const metricsUrl = (node.process.ready as { metricsUrl?: string }).metricsUrl;
    assert.ok(metricsUrl, "node start --json names the metrics URL");
    const scrape = await fetch(new URL("/metrics", metricsUrl));
    assert.equal(scrape.status, 200);
    assert.match(await scrape.text(), /^anonify_ready\{state="ready"\} 1$/m);
    // Not on the API's port, which the public reaches.
    assert.equal((await fetch(new URL("/metrics", node.url))).status, 404);

    const healthy = await anonify("node", "status", "--node", node.url);
    assert.match(healthy.stdout, /: ready\n/);
    assert.match(healthy.stdout, /gas {10}\d+(\.\d+)? ETH/);
    assert.match(healthy.stdout, /chain {8}head \d+, read through \d+ \(\d+ blocks behind\)/);
    assert.match(healthy.stdout, /^no warnings$/m);

    const gasAccount = privateKeyToAccount(anvilKey(1)).address;
    await setBalance(net.anvil.rpcUrl, gasAccount, NEARLY_DRY_WEI);
    const low = await anonify("node", "status", "--node", node.url, "--json");
    const status = JSON.parse(low.stdout) as { warnings: { code: string; message: string }[] };
    assert.deepEqual(
      status.warnings.map((w) => w.code),
      ["low_gas"],
    );
    assert.match(status.warnings[0]!.message, /holds 0\.0010 ETH, less than .* fund it/);
    const text = await (await fetch(new URL("/metrics", metricsUrl))).text();
    assert.match(text, /^anonify_warnings\{code="low_gas"\} 1$/m);
    const warned = () => net.logs.filter((l) => l.includes('"code":"low_gas"') && l.includes("holds"));
    await until("the low-gas warning logged", () => (warned().length > 0 ? true : undefined));
    // Read again: logged once, not at each read.
    await anonify("node", "status", "--node", node.url);
    assert.equal(warned().filter((l) => !l.includes("no longer")).length, 1);

    await setBalance(net.anvil.rpcUrl, gasAccount, REFILLED_WEI);
    const refilled = await anonify("node", "status", "--node", node.url);
    assert.match(refilled.stdout, /^no warnings$/m);
    await until("the warning's clearing logged", () =>
      warned().some((l) => l.includes("no longer")) ? true : undefined,
    );
  });

  test("collateral past its next update is warned of, and its seconds to it are a metric", {
    skip: vectorsSkip,
  }, async () => {
    const node = net.nodes[0]!;
    // Intel's real collateral for one SGX FMSPC, whose next update (2025-07-19) is past.
    const file = join(net.dir, "collateral.json");
    writeFileSync(file, JSON.stringify(readVectorJson("sgx-dcap/sgx_quote_collateral.json")));
    const key = join(net.dir, "publisher.key");
    writeFileSync(key, `${anvilKey(7)}\n`, { mode: 0o600 });
    await anonify("collateral", "publish", file, "--network", net.profile, "--key", key);
    const status = await until("the collateral held", async () => {
      const s = JSON.parse((await anonify("node", "status", "--node", node.url, "--json")).stdout) as {
        collateral: unknown[];
        warnings: { code: string; message: string }[];
      };
      return s.collateral.length > 0 ? s : undefined;
    });
    const past = status.warnings.filter((w) => w.code === "collateral_past");
    assert.equal(past.length, 1);
    assert.match(
      past[0]!.message,
      /sgx collateral for FMSPC 00a067110000 .* passed its next update at 2025-07-19/,
    );
    const metricsUrl = (node.process.ready as { metricsUrl?: string }).metricsUrl!;
    const text = await (await fetch(new URL("/metrics", metricsUrl))).text();
    const due = text.match(
      /^anonify_collateral_next_update_seconds\{platform="sgx",fmspc="00a067110000"\} (\S+)$/m,
    );
    assert.ok(due && Number(due[1]) < 0, "seconds to the next update, negative once past");
    assert.match(text, /^anonify_warnings\{code="collateral_past"\} 1$/m);
  });
});
