// `GET /metrics` on a real node while transfers go through it: the counters move as the commands
// do, the states and heights are there, and nothing confidential is (no address, no amount).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestNet, type TestNet } from "../support/network.js";
import { issueToken, newAccount, type Token } from "../support/token.js";

/** 13 digits: an amount no counter or timing prints by chance. */
const AMOUNT = 4_242_424_242_421n;
const TRANSFERS = 3;

/** The value of the sample `name{labels}` in a scrape; `absent` when the scrape has no such sample. */
function sample(scrape: string, name: string, labels = "", absent?: number): number {
  const line = scrape.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  if (line) return Number(line.slice(line.lastIndexOf(" ") + 1));
  if (absent === undefined) throw new Error(`no sample ${name}{${labels}} in the scrape`);
  return absent;
}

describe("a node's metrics", () => {
  let tn: TestNet;
  let token: Token;
  const scrape = async () => {
    const res = await fetch(new URL("/metrics", tn.net.nodes[0]!.url));
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  before(async () => {
    tn = await startTestNet(2);
    token = await issueToken(tn);
  });
  after(async () => tn?.stop());

  test("count commands and stages as they happen, say the node's state and heights, and hold nothing confidential", async () => {
    const alice = await token.fundedAccount(AMOUNT * BigInt(TRANSFERS));
    const client = await tn.client(alice, 0);
    const before = await scrape();
    const recipients = Array.from({ length: TRANSFERS }, () => newAccount().address);
    for (const to of recipients) {
      const receipt = await client.call("transfer", { to, amount: AMOUNT });
      assert.equal(receipt.status, "applied");
    }
    const after = await scrape();
    const posted = (s: string) =>
      ["200", "202"].reduce(
        (n, status) =>
          n +
          sample(
            s,
            "anonify_http_requests_total",
            `route="/v1/commands",method="POST",status="${status}"`,
            0,
          ),
        0,
      );
    assert.ok(posted(after) - posted(before) >= TRANSFERS, "each transfer's POST counted");
    for (const stage of ["open-and-check", "apply"])
      assert.ok(
        sample(after, "anonify_stage_calls_total", `stage="${stage}"`) >
          sample(before, "anonify_stage_calls_total", `stage="${stage}"`, 0),
        stage,
      );
    // The enclave's calls, by the call table's names, moved with the commands; no crash.
    const enclaveCalls = (scrape: string) =>
      scrape
        .split("\n")
        .filter((l) => l.startsWith("anonify_enclave_calls_total{call="))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    assert.ok(enclaveCalls(after) >= enclaveCalls(before) + TRANSFERS);
    assert.match(after, /^anonify_enclave_call_seconds_total\{call="[a-zA-Z]+"\} /m);
    assert.equal(sample(after, "anonify_enclave_crashes_total"), 0);
    assert.equal(sample(after, "anonify_ready", 'state="ready"'), 1);
    assert.equal(sample(after, "anonify_ready", 'state="diverged"'), 0);
    assert.equal(sample(after, "anonify_group_members"), 2);
    assert.ok(
      sample(after, "anonify_applied_sequence") >= sample(before, "anonify_applied_sequence") + TRANSFERS,
    );
    // Commands counted as the host sees them: accepted, ordered, with the time between; batches sent.
    const moved = (name: string, labels = "") =>
      sample(after, name, labels) - sample(before, name, labels, 0);
    assert.equal(moved("anonify_commands_accepted_total"), TRANSFERS);
    assert.equal(moved("anonify_commands_ordered_total"), TRANSFERS);
    assert.equal(moved("anonify_command_ordered_seconds_count"), TRANSFERS);
    assert.ok(moved("anonify_command_ordered_seconds_sum") > 0);
    // The devnet's finality depth is 0: final when ordered.
    assert.equal(moved("anonify_command_final_seconds_count"), TRANSFERS);
    assert.ok(moved("anonify_batches_submitted_total") >= 1);
    assert.equal(sample(after, "anonify_batches_failed_total", 'reason="reverted"'), 0);
    assert.equal(sample(after, "anonify_rpc_errors_total", 'endpoint="0"'), 0);
    assert.ok(sample(after, "anonify_chain_lag_blocks") >= 0);
    assert.equal(sample(after, "anonify_collateral_sets"), 0);
    assert.equal(sample(after, "anonify_warnings", 'code="low_gas"'), 0);
    assert.ok(sample(after, "anonify_chain_head_block") > 0);
    assert.ok(sample(after, "anonify_gas_balance_ether") > 0, "the node's gas account holds ether");
    assert.ok(sample(after, "anonify_process_resident_memory_bytes") > 0);
    // Nothing confidential, nor anything that names a user: no address, no amount, no command name.
    for (const secret of [alice.address, ...recipients, tn.net.nodes[0]!.address])
      assert.ok(!after.toLowerCase().includes(secret.slice(2).toLowerCase()), secret);
    assert.ok(!after.includes(AMOUNT.toString()));
    assert.doesNotMatch(after, /transfer|0x[0-9a-fA-F]{40}/);
    // The alert rules and the dashboard use only what a node exports.
    const deploy = (path: string) => readFileSync(join(import.meta.dirname, "../../deploy", path), "utf8");
    const dashboard = JSON.parse(deploy("grafana/anonify-nodes.json")) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    assert.ok(dashboard.panels.length > 0 && dashboard.panels.every((p) => p.targets.length > 0));
    const queries = [
      deploy("prometheus/alerts.yml"),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ];
    const used = new Set(queries.flatMap((q) => q.match(/anonify_[a-z_]+/g) ?? []));
    assert.ok(used.size > 10, `only ${used.size} metrics used`);
    // Declared, if not sampled: a set of labelled gauges is empty until there is something to label.
    for (const name of used)
      assert.match(after, new RegExp(`^(# TYPE )?${name}[{ ]`, "m"), `${name} is exported`);
  });
});
