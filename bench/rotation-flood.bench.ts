// A rotation flood from one member's host (the issue "One history, provably"): the host asks its own
// enclave for a key rotation at every tick (25 ms) and sends each one to the contract from a wallet of
// its own, as an attacker host would (not through its node's own, rate-respecting writes). Every
// landed handshake makes the batches in flight elsewhere revert `StaleEpoch` and be sealed again, so
// an unbounded flood stalls ordering for everyone. Measured side by side in one run, on a devnet of
// three nodes (real Anvil, real enclave processes): the honest nodes' ordered commands per second
// with no flood, under the flood with the contract's limit (one rotation per enclave per
// `rotationInterval`, 60 s by default), and under the flood with the limit off (interval 0), as the
// contract was before.
//   npm run bench -- rotation-flood        (writes rotation-flood.json + .md)
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LocalAccount } from "viem";
import { connectLedger, withWallet, writeAnonify } from "../src/chain/chain.js";
import { anvilKey } from "../test/support/chain.js";
import { startTestNet, type TestNet } from "../test/support/network.js";
import { startRotationFlood } from "../test/support/rotation-flood.js";
import { issueToken, newAccount } from "../test/support/token.js";

/** Each phase's length: long enough for many batches, short enough for a bench. */
const WINDOW_MS = 20_000;
/** Senders on the honest nodes, each sending its next transfer once the last is ordered. */
const SENDERS = 8;
const HONEST = [0, 1] as const;
const FLOODER = 2;
/** The stated margin: under the flood with the limit, honest throughput stays above this share of normal. */
const MARGIN = 0.8;
/** Anvil accounts no devnet node or owner uses: the attacker's own wallet. */
const ATTACKER_ACCOUNT = 9;
const OWNER_ACCOUNT = 0;

type Phase = {
  phase: string;
  ordered: number;
  perSecond: number;
  rotationsLanded: number;
  rotationsRefused: number;
};

/** Commands ordered at the honest nodes in WINDOW_MS, every sender calling in turn. */
async function orderedIn(tn: TestNet, senders: LocalAccount[]): Promise<number> {
  const deadline = Date.now() + WINDOW_MS;
  const counts = await Promise.all(
    senders.map(async (sender, i) => {
      const client = await tn.client(sender, HONEST[i % HONEST.length]!);
      let n = 0;
      while (Date.now() < deadline) {
        const receipt = await client.call("transfer", { to: newAccount().address, amount: "1" });
        if (receipt.status !== "applied") throw new Error(`transfer ${receipt.status}: ${receipt.reason}`);
        n++;
      }
      return n;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

export async function run(outDir: string): Promise<void> {
  const tn = await startTestNet(3);
  try {
    const token = await issueToken(tn, HONEST[0]);
    const senders = await Promise.all(Array.from({ length: SENDERS }, () => token.fundedAccount(1_000_000n)));
    const ledger = await connectLedger(tn.net.rpcUrl);
    const attacker = withWallet(ledger, anvilKey(ATTACKER_ACCOUNT));
    const owner = withWallet(ledger, anvilKey(OWNER_ACCOUNT));
    const contract = tn.net.contract;
    const phases: Phase[] = [];
    const measure = async (phase: string, flooding: boolean) => {
      const f = flooding ? startRotationFlood(tn.running()[FLOODER]!, attacker, contract) : undefined;
      const ordered = await orderedIn(tn, senders);
      await f?.stop();
      phases.push({
        phase,
        ordered,
        perSecond: Math.round((ordered / WINDOW_MS) * 1000 * 10) / 10,
        rotationsLanded: f?.landed ?? 0,
        rotationsRefused: [...(f?.refused.values() ?? [])].reduce((a, b) => a + b, 0),
      });
      process.stdout.write(`  ${JSON.stringify(phases.at(-1))}\n`);
    };
    await measure("no flood", false);
    await measure("flood, rotations limited (60 s per enclave)", true);
    await writeAnonify(owner, contract, "setRotationInterval", [0]);
    await measure("flood, no limit (as before)", true);
    const normal = phases[0]!.perSecond;
    const ratios = phases.map((p) => ({ ...p, ofNormal: Math.round((p.perSecond / normal) * 100) / 100 }));
    const limited = ratios[1]!.ofNormal;
    const result = {
      date: new Date().toISOString().slice(0, 10),
      windowMs: WINDOW_MS,
      senders: SENDERS,
      margin: MARGIN,
      pass: limited >= MARGIN,
      phases: ratios,
    };
    writeFileSync(join(outDir, "rotation-flood.json"), `${JSON.stringify(result, null, 2)}\n`);
    const md = [
      "# Rotation flood",
      "",
      `${result.date}. One member's host (node ${FLOODER + 1}) asks its enclave for a rotation as fast as it answers and`,
      "sends each from its own wallet; the other two nodes' clients send transfers, each waiting for its",
      `receipt (${SENDERS} senders), for ${WINDOW_MS / 1000} s per phase, all three phases in one run on one devnet`,
      "(real Anvil, real enclave processes, this 2-core machine). `npm run bench -- rotation-flood`.",
      "",
      "| phase | commands ordered | per second | of normal | flooder's rotations landed | refused |",
      "|---|---:|---:|---:|---:|---:|",
      ...ratios.map(
        (p) =>
          `| ${p.phase} | ${p.ordered} | ${p.perSecond} | ${p.ofNormal} | ${p.rotationsLanded} | ${p.rotationsRefused} |`,
      ),
      "",
      `Target: with the limit, the honest throughput stays at or above ${MARGIN} of normal: ${result.pass ? "met" : "NOT met"} (${limited}).`,
      "",
    ].join("\n");
    writeFileSync(join(outDir, "rotation-flood.md"), md);
    process.stdout.write(md);
  } finally {
    await tn.stop();
  }
}
