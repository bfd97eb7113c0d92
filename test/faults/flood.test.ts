// Issue #15's flood: several client addresses send malformed, oversized and replayed requests and
// hold waiting requests for seconds, while an honest client keeps transferring and querying at the
// same node. Every hostile request gets a 4xx or 503 in the API's error shape, its code naming what
// it hit; the honest client is served throughout; a replayed command is answered as the one command
// it is (a resend: src/enclave/calls/resend.test.ts) and applied once;
// the node stays up, its heap does not grow from one equal flood to the next, and its logs show no
// secret and no plaintext.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { bytesToHex, type Hex, hexToBytes, type LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  openQueryResult,
  openReceipt,
  sealCommand,
  sealQuery,
  signCommand,
  signQuery,
} from "../../src/client/command.js";
import { type FloodKind, type FloodReport, flood } from "../support/flood.js";
import {
  claimingToBe,
  envelopeBody,
  LONGEST_WAIT,
  MALFORMED_REQUESTS,
  post,
  WAITING_ON_NOTHING,
} from "../support/hostile-requests.js";
import { startTestNet, type TestNet } from "../support/network.js";
import { RawClient } from "../support/raw-client.js";
import { issueToken, newAccount, type Token } from "../support/token.js";
import { until } from "../support/wait.js";

/** The honest client's address; the flood comes from the others, each a client of its own. */
const HONEST_ADDRESS = "127.0.0.1";
/** Addresses that send junk and replays, and those that hold waiting requests (their rate spent on nothing else). */
const JUNK_ATTACKERS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"];
const WAITING_ATTACKERS = ["127.0.0.8", "127.0.0.9"];
const CONNECTIONS_PER_ATTACKER = 6;
const FLOOD_MS = 3_000;
/** Low enough that every attacker meets it each second, high enough that much of the flood gets past it. */
const RATE_LIMIT = { max: 40, timeWindowMs: 1_000 };
/** Fewer than the waiting attackers' connections, so that they fill it. */
const MAX_WAITING = 8;
const HONEST_FUNDS = 1_000n;
const VICTIM_FUNDS = 50n;
const REPLAYED_AMOUNT = 7n;
/** The honest client must get at least this many transfers through during each flood. */
const MIN_HONEST_TRANSFERS = 2;
/**
 * How much the test process's heap (it hosts the nodes) may grow from after the first flood to after
 * the second, equal one (measured: under 2 MiB): generous for what the chain and the ledger add, and
 * less than keeping a body limit's worth (33 KB) of each of a flood's many hundred requests would.
 */
const HEAP_GROWTH_LIMIT = 16 * 1024 * 1024;
/** Shortest string of a secret searched for in the logs: long enough not to match by chance. */
const SECRET_PREFIX_CHARS = 24;

/** The collector, as `--expose-gc` gives it (the test runner starts files without that flag). */
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

describe("a flood of malformed, oversized and replayed requests while an honest client is served", () => {
  let tn: TestNet;
  let token: Token;
  let base: string;

  before(async () => {
    tn = await startTestNet(2, { apiLimits: { rateLimit: RATE_LIMIT, maxWaiting: MAX_WAITING } });
    token = await issueToken(tn);
    base = tn.net.nodes[0]!.url;
  });
  after(() => tn?.stop());

  /** What `account` holds, as node `index` answers it. */
  const balanceAt = async (account: LocalAccount, index: number) =>
    (await tn.client(account, index)).query("balanceOf", {});

  test("every hostile request is refused by name; the honest client is served; nothing grows", async () => {
    const honestKey = generatePrivateKey();
    const honestAccount = privateKeyToAccount(honestKey);
    await token.fund(honestAccount.address, HONEST_FUNDS);
    const honestRecipient = newAccount();
    /** The honest client's command envelopes once the node acknowledged them, for the flood to replay. */
    const acknowledged: string[] = [];
    /** Refusals the honest client took in its stride (no waiting slot free: it asked without waiting). */
    let honestRefusals = 0;
    const honest = await tn.client(honestAccount, 0, async (input, init) => {
      const res = await fetch(input, init);
      if (res.status === 503) honestRefusals++;
      if (init?.method === "POST" && String(input).includes("/v1/commands") && res.ok)
        acknowledged.push((JSON.parse(String(init.body)) as { envelope: string }).envelope);
      return res;
    });

    const victim = await token.fundedAccount(VICTIM_FUNDS);
    const victimRecipient = newAccount();
    const { domain } = honest;
    const { hpkePublicKey } = await tn.net.nodes[0]!.node.onChainRecord();
    const replayed = await signCommand(victim, domain, {
      app: "erc20",
      command: "transfer",
      params: { to: victimRecipient.address, amount: REPLAYED_AMOUNT.toString() },
      nonce: 0n,
    });
    const replayedEnvelope = bytesToHex(await sealCommand(replayed.signed, hpkePublicKey));
    const victimQuery = await signQuery(victim, domain, { app: "erc20", query: "balanceOf", params: {} });
    const victimQueryEnvelope = bytesToHex(await sealQuery(victimQuery.signed, hpkePublicKey));
    /** A command nobody else sends: a fresh account's, so each one is accepted and waits for its batch. */
    const freshCommand = async () => {
      const account = privateKeyToAccount(generatePrivateKey());
      const signed = await signCommand(account, domain, {
        app: "erc20",
        command: "transfer",
        params: { to: victimRecipient.address, amount: "1" },
        nonce: 0n,
      });
      return bytesToHex(await sealCommand(signed.signed, hpkePublicKey));
    };

    const replays = { answered: 0, ids: new Set<string>(), queriesAnswered: 0 };
    let queryAnswer: string | undefined;
    const junk: FloodKind[] = [
      ...MALFORMED_REQUESTS,
      // Replays: the victim's command and query, and every command the honest client had acknowledged.
      {
        name: "replayed command",
        codes: [],
        served: [200, 202],
        request: () => post("/v1/commands", envelopeBody(replayedEnvelope)),
        onAnswer: (answer) => {
          if (answer.status !== 200 && answer.status !== 202) return;
          replays.answered++;
          replays.ids.add((JSON.parse(answer.text) as { id: string }).id);
        },
      },
      {
        name: "replayed query",
        codes: [],
        served: [200],
        request: () => post("/v1/queries", envelopeBody(victimQueryEnvelope)),
        onAnswer: (answer) => {
          if (answer.status !== 200) return;
          replays.queriesAnswered++;
          queryAnswer ??= (JSON.parse(answer.text) as { answer: string }).answer;
        },
      },
      {
        name: "replayed honest command",
        codes: [],
        served: [200, 202],
        request: () => post("/v1/commands", envelopeBody(acknowledged.at(-1) ?? replayedEnvelope)),
      },
    ];
    // Waiting requests, more than the node holds at once: mostly for commands that are accepted and
    // wait for their batch, so that each holds its slot a while.
    const freshCommandWait: FloodKind = {
      name: "waiting for a fresh command",
      codes: ["waiting_full"],
      served: [200, 202],
      request: async () => post(`/v1/commands${LONGEST_WAIT}`, envelopeBody(await freshCommand())),
    };
    const waiting: FloodKind[] = [freshCommandWait, ...WAITING_ON_NOTHING, freshCommandWait];
    // Every request claims to come from the honest client: were the header trusted, the flood would
    // spend the honest client's rate.
    const claimingHonest = claimingToBe(HONEST_ADDRESS);

    /** One flood, with the honest client sending and querying throughout; its report, once all is answered. */
    let sent = 0n;
    const round = async (): Promise<FloodReport & { honestTransfers: number }> => {
      let flooding = true;
      let honestTransfers = 0;
      // Settled, not awaited yet: the flood goes on to its end whatever happens to the honest client.
      const honestTraffic = (async () => {
        while (flooding || honestTransfers < MIN_HONEST_TRANSFERS) {
          const receipt = await honest.call("transfer", { to: honestRecipient.address, amount: "1" });
          assert.equal(receipt.status, "applied", `the honest transfer: ${receipt.reason}`);
          sent++;
          honestTransfers++;
          assert.equal(await honest.query("balanceOf", {}), HONEST_FUNDS - sent, "the honest balance");
        }
      })().then(
        () => undefined,
        (error: unknown) => error,
      );
      const report = await flood({
        base,
        attackers: [
          { from: JUNK_ATTACKERS, connections: CONNECTIONS_PER_ATTACKER, kinds: junk.map(claimingHonest) },
          {
            from: WAITING_ATTACKERS,
            connections: CONNECTIONS_PER_ATTACKER,
            kinds: waiting.map(claimingHonest),
          },
        ],
        durationMs: FLOOD_MS,
      }).finally(() => {
        flooding = false;
      });
      const honestError = await honestTraffic;
      if (honestError) throw honestError;
      return { ...report, honestTransfers };
    };
    const heapAfter = () => {
      collectGarbage();
      return process.memoryUsage();
    };

    const first = await round();
    const memoryAfterFirst = heapAfter();
    const second = await round();
    const memoryAfterSecond = heapAfter();
    const outcomes = (report: FloodReport) =>
      [...report.outcomes].map(([outcome, count]) => `${outcome}: ${count}`).join("\n");
    for (const report of [first, second]) {
      assert.deepEqual(report.failures, [], `wrong answers:\n${report.failures.join("\n")}`);
      const outcome = (prefix: string) =>
        [...report.outcomes].filter(([key]) => key.includes(prefix)).reduce((n, [, count]) => n + count, 0);
      assert.ok(outcome("rate_limited") > 0, `the flood met the rate limit:\n${outcomes(report)}`);
      assert.ok(outcome("waiting_full") > 0, `the flood met the waiting cap:\n${outcomes(report)}`);
      assert.ok(report.honestTransfers >= MIN_HONEST_TRANSFERS);
    }
    console.log(
      `first flood: ${first.answers} answers, ${first.honestTransfers} honest transfers; second: ` +
        `${second.answers} answers, ${second.honestTransfers} honest transfers; the honest client was ` +
        `refused ${honestRefusals} times (no waiting slot), and went on without waiting`,
    );

    // The replayed command: every replay answered as the one command it is, none refused...
    assert.ok(replays.answered > 1, `the replays were answered (${replays.answered})`);
    assert.deepEqual([...replays.ids], [replayed.digest], "each answer names the replayed command");
    // ...and applied once, at every node. Sent to the other node now (sealed to its enclave, as its
    // sender could), it is answered there too: ordered, with the receipt only its sender opens.
    await until("the replayed transfer is applied at every node", async () => {
      const at = await Promise.all([0, 1].map((i) => balanceAt(victimRecipient, i)));
      return at.every((b) => b === REPLAYED_AMOUNT) ? true : undefined;
    });
    const otherKey = (await tn.net.nodes[1]!.node.onChainRecord()).hpkePublicKey;
    const other = new RawClient(JUNK_ATTACKERS[0]!, tn.net.nodes[1]!.url, 1);
    const elsewhere = await other.send(
      post("/v1/commands", envelopeBody(bytesToHex(await sealCommand(replayed.signed, otherKey)))),
    );
    other.close();
    assert.equal(elsewhere.status, 200, elsewhere.text);
    const answered = JSON.parse(elsewhere.text) as { id: string; status: string; receipt?: string };
    assert.deepEqual([answered.id, answered.status], [replayed.digest, "ordered"]);
    assert.ok(answered.receipt, "the receipt, sealed to the sender");
    const receipt = await openReceipt(replayed.responseKey, hexToBytes(answered.receipt as Hex), {
      domain,
      digest: replayed.digest,
    });
    assert.equal(receipt.status, "applied", "the other node names the one application");
    for (const i of [0, 1]) assert.equal(await balanceAt(victim, i), VICTIM_FUNDS - REPLAYED_AMOUNT);
    // A replayed query is answered (reads need no nonce), sealed to its signer only.
    assert.ok(replays.queriesAnswered > 0 && queryAnswer);
    const answer = await openQueryResult(victimQuery.responseKey, hexToBytes(queryAnswer as Hex), {
      domain,
      digest: victimQuery.digest,
    });
    assert.equal(answer.status, "ok");

    // The node is up and ready, with every waiting slot free again: as many requests as it holds wait
    // at once for a command of the honest client's until it is ordered.
    const probe = new RawClient(HONEST_ADDRESS, base, MAX_WAITING);
    assert.equal((await probe.send({ path: "/v1/health" })).status, 200);
    assert.equal((await probe.send({ path: "/v1/ready" })).status, 200);
    const last = await honest.send("transfer", { to: honestRecipient.address, amount: "1" });
    sent++;
    const waits = await Promise.all(
      Array.from({ length: MAX_WAITING }, () =>
        probe.send({ path: `/v1/commands/${last.id}${LONGEST_WAIT}` }),
      ),
    );
    probe.close();
    assert.deepEqual(
      waits.map((w) => w.status),
      Array(MAX_WAITING).fill(200),
      "the floods left no waiting slot taken",
    );
    assert.equal((await honest.waitForReceipt(last.id, last.responseKey)).status, "applied");

    // Every transfer the honest client had acknowledged is applied once: the balances add up.
    assert.equal(await balanceAt(honestRecipient, 0), sent);
    assert.equal(await honest.query("balanceOf", {}), HONEST_FUNDS - sent);

    // Memory: what the first flood left (caches, connections' buffers) the second does not add to.
    const growth = memoryAfterSecond.heapUsed - memoryAfterFirst.heapUsed;
    console.log(
      `heap after the first flood ${memoryAfterFirst.heapUsed >> 20} MiB, after the second ` +
        `${memoryAfterSecond.heapUsed >> 20} MiB; rss ${memoryAfterFirst.rss >> 20} → ${memoryAfterSecond.rss >> 20} MiB`,
    );
    assert.ok(growth < HEAP_GROWTH_LIMIT, `the heap grew by ${growth >> 20} MiB from one flood to the next`);

    // The logs: no key, no envelope, no plaintext of any command.
    const logs = tn.logs.join("\n").toLowerCase();
    const secrets: [string, string][] = [
      ["the honest key", honestKey],
      ["the replayed command's response key", bytesToHex(replayed.responseKey)],
      ["the replayed envelope", replayedEnvelope],
      ["an honest envelope", acknowledged[0]!],
      ["the honest recipient", honestRecipient.address],
      ["the victim's recipient", victimRecipient.address],
      ["the victim", victim.address],
    ];
    for (const [what, secret] of secrets)
      assert.ok(
        !logs.includes(secret.slice(2, 2 + SECRET_PREFIX_CHARS).toLowerCase()),
        `${what} is in the logs`,
      );
    assert.doesNotMatch(logs, /"amount"|"to":|transfer/, "a command's plaintext is in the logs");
  });
});
