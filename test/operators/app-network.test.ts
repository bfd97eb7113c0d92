// A network of an app other than the token: the fixture app `counter` (test/fixtures/apps, not
// shipped), built with `anonify enclave build --app counter --apps-dir`, run by a node. The node
// names the app and its code hash (status, /v1/enclave, the registration on chain), and the CLI
// learns the app from the network: `call` and `query` without --app use it, and one asked for
// another app says plainly that this network runs counter. Its public query `total` is read by anyone,
// without a key, and checked by the reader; a node that changes the answer is caught by name. Runs
// bin/anonify.mjs: `npm run build` first.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { REPO_ROOT } from "../../src/build/enclave-bundle.js";
import { AnonifyClient } from "../../src/client/anonify-client.js";
import { AnonifyClientError } from "../../src/client/errors.js";
import { readNetworkProfile } from "../../src/client/network-profile.js";
import { decodeOutcome, encodeOutcome, publicAnswerDigest } from "../../src/protocol/public-answer.js";
import { anonify, type OperatorNet, startOperatorNet } from "./operator-net.js";

const FIXTURE_APPS = join(REPO_ROOT, "test/fixtures/apps");

type AppSummary = { name: string; codeHash: Hex; stateVersion: number; id: Hex };
type Built = { path: string; measurement: Hex; app: AppSummary };

const stderrOf = (e: unknown) => (e as { stderr: string }).stderr;

describe("a network of another app, named everywhere", () => {
  let net: OperatorNet;
  let built: Built;
  let keyFile: string;
  /** The CLI as a user of this network runs it. */
  const user = (...args: string[]) =>
    anonify(...args, "--node", net.nodes[0]!.url, "--key", keyFile, "--network", net.profile);

  const dir = mkdtempSync(join(tmpdir(), "anonify-app-network-"));

  before(async () => {
    const { stdout } = await anonify(
      ...["enclave", "build", "--app", "counter", "--apps-dir", FIXTURE_APPS, "--json"],
      ...["--out", join(dir, "counter.mjs")],
    );
    built = JSON.parse(stdout) as Built;
    net = await startOperatorNet(1, { enclave: built });
    keyFile = join(net.dir, "user.key");
    await anonify("wallet", "new", "--out", keyFile);
  });
  after(async () => {
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the build, the node and the chain name the app and its code hash", async () => {
    assert.equal(built.app.name, "counter");
    const url = net.nodes[0]!.url;
    const status = (await (await fetch(new URL("/v1/status", url))).json()) as {
      measurement: Hex;
      app: AppSummary;
    };
    assert.equal(status.measurement, built.measurement);
    assert.deepEqual(status.app, built.app);
    const enclave = (await (await fetch(new URL("/v1/enclave", url))).json()) as {
      app: AppSummary;
      registration: { app: Hex };
    };
    assert.deepEqual(enclave.app, built.app);
    assert.equal(enclave.registration.app, built.app.id, "the registration on chain carries its id");
    const shown = await anonify("node", "status", "--node", url);
    assert.match(shown.stdout, new RegExp(`app {10}counter v1 \\(code hash ${built.app.codeHash}\\)`));
  });

  test("call and query use the network's app; asked for another, the CLI says which this network runs", async () => {
    const added = await user("call", "add", '{"by":2}');
    assert.match(added.stdout, /^applied at sequence \d+: 0x[0-9a-f]{64}\n$/);
    assert.match(added.stderr, /, app counter\n/);
    assert.equal((await user("query", "count", "{}", "--app", "counter")).stdout, `"2"\n`);
    for (const args of [
      [
        "call",
        "transfer",
        '{"to":"0x000000000000000000000000000000000000dEaD","amount":1}',
        "--app",
        "erc20",
      ],
      ["query", "balanceOf", "{}", "--app", "erc20"],
    ])
      await assert.rejects(user(...args), (e: unknown) => {
        assert.equal((e as { code: number }).code, 1);
        assert.match(stderrOf(e), /^rejected \(wrong_app\): this network runs counter, not erc20\n$/m);
        return true;
      });
    // Nothing reached the enclave: the count is what it was.
    assert.equal((await user("query", "count", "{}")).stdout, `"2"\n`);
  });

  test("a public query is read without a key and checked by the reader; a node that changes it is caught", async () => {
    const url = net.nodes[0]!.url;
    const reader = (...args: string[]) => anonify(...args, "--node", url, "--network", net.profile);
    const signedCount = (await user("query", "count", "{}")).stdout;
    assert.equal((await reader("query", "total", "{}", "--public")).stdout, signedCount);
    const json = JSON.parse((await reader("query", "total", "{}", "--public", "--json")).stdout) as {
      at: { seq: string; digest?: Hex };
    };
    assert.ok(json.at.digest, "the answer names the state digest it reflects, checked on chain");
    for (const [args, pattern] of [
      [
        ["query", "count", "{}", "--public"],
        /^rejected \(not_public\): app counter declares no public query "count"\n$/m,
      ],
      [["query", "count", "{}"], /^rejected \(no_key\): --key <file> is needed/m],
    ] as const)
      await assert.rejects(reader(...args), (e: unknown) => {
        assert.match(stderrOf(e), pattern);
        return true;
      });

    // A node that changes what crosses: the reader refuses each by name.
    type Answer = {
      outcome: Hex;
      at: { seq: string; head: Hex; block: string; digest?: Hex };
      signature: Hex;
      enclave: Hex;
    };
    const stranger = privateKeyToAccount(generatePrivateKey());
    const network = readNetworkProfile(net.profile);
    const domain = { chainId: network.chainId, contract: network.contract };
    const lies: [string, (a: Answer) => Promise<Answer> | Answer, string][] = [
      [
        "another result",
        (a) => ({ ...a, outcome: bytesToHex(encodeOutcome({ status: "ok", result: 999n })) }),
        "forged_answer",
      ],
      [
        "another point",
        (a) => ({ ...a, at: { ...a.at, seq: String(BigInt(a.at.seq) - 1n) } }),
        "forged_answer",
      ],
      [
        "a key of its own, signing the answer as an enclave would",
        async (a) => {
          const answer = {
            name: "total",
            params: "{}",
            outcome: decodeOutcome(hexToBytes(a.outcome)),
            at: {
              seq: BigInt(a.at.seq),
              head: a.at.head,
              block: BigInt(a.at.block),
              ...(a.at.digest ? { digest: a.at.digest } : {}),
            },
          };
          const digest = publicAnswerDigest(domain, built.app.id, answer);
          return { ...a, enclave: stranger.address, signature: await stranger.sign({ hash: digest }) };
        },
        "enclave_not_active",
      ],
    ];
    for (const [what, lie, code] of lies) {
      const lying: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        if (!String(input).endsWith("/v1/public-queries") || !res.ok) return res;
        return Response.json(await lie((await res.json()) as Answer));
      };
      const client = await AnonifyClient.connect({
        network,
        node: url,
        account: privateKeyToAccount(generatePrivateKey()),
        fetch: lying,
      });
      await assert.rejects(
        client.publicQuery("total", {}),
        (e: unknown) => e instanceof AnonifyClientError && e.code === code,
        what,
      );
    }
  });
});
