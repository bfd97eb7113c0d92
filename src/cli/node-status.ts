// `anonify node status --node URL`: one node as its operator watches it: whether it serves (and if
// not, why), how far it has read the chain, its gas, the collateral its enclave holds, and what it
// warns of before it bites (low gas, collateral due). The node's answer is parsed by schema: a node
// is trusted for nothing, and a wrong type is `malformed`, never printed as if it were right.
import type { Command } from "commander";
import { formatEther } from "viem";
import { address, array, decimal, int, nullable, object, optional, string } from "../app/schema.js";
import { parseUrl } from "./flags.js";
import { nodeRequest } from "./node-request.js";
import { printable, run } from "./output.js";

/** Bounds on what a node may say: far above any real node, so only a lie meets them. */
const MAX_TEXT = 1024;
const MAX_WARNINGS = 64;
const MAX_COLLATERAL_SETS = 256;
const MAX_MEMBERS = 10_000;
const MAX_PEERS = 10_000;
const BLOCK_BITS = 64;
const WEI_BITS = 256;

const text = () => string({ maxLength: MAX_TEXT });

/** The fields of `GET /v1/status` this command shows, as a node must send them. */
const NODE_STATUS = object(
  {
    enclave: address(),
    measurement: text(),
    platform: text(),
    release: optional(text()),
    app: object(
      { name: text(), codeHash: text(), stateVersion: int({ min: 0, max: Number.MAX_SAFE_INTEGER }) },
      { unknownFields: "drop" },
    ),
    ready: text(),
    chainHead: decimal({ bits: BLOCK_BITS }),
    followedHead: nullable(decimal({ bits: BLOCK_BITS })),
    lagBlocks: nullable(decimal({ bits: BLOCK_BITS })),
    gasBalance: nullable(decimal({ bits: WEI_BITS })),
    epoch: nullable(decimal({ bits: BLOCK_BITS })),
    members: array(address(), { max: MAX_MEMBERS }),
    appliedSequence: decimal({ bits: BLOCK_BITS }),
    queued: int({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    collateral: array(
      object(
        { platform: text(), fmspc: optional(text()), product: optional(text()), nextUpdate: text() },
        { unknownFields: "drop" },
      ),
      { max: MAX_COLLATERAL_SETS },
    ),
    sync: optional(
      object(
        {
          peers: int({ min: 0, max: MAX_PEERS }),
          announced: int({ min: 0, max: MAX_PEERS }),
          reason: nullable(text()),
        },
        { unknownFields: "drop" },
      ),
    ),
    warnings: array(object({ code: text(), message: text() }, { unknownFields: "drop" }), {
      max: MAX_WARNINGS,
    }),
  },
  { unknownFields: "drop" },
);

export function registerNodeStatus(node: Command): void {
  node
    .command("status")
    .description(
      "whether a node serves, how far it has read the chain, its gas and collateral, and its warnings",
    )
    .requiredOption("--node <url>", "the node's API URL")
    .option("--json", "machine-readable output", false)
    .action((flags: { node: string; json: boolean }) =>
      run(flags, async () => {
        const s = await nodeRequest(parseUrl(flags.node, "--node"), "GET", "/v1/status", NODE_STATUS);
        if (flags.json) return console.log(printable(JSON.stringify({ ok: true, ...s })));
        const lines = [
          `node ${flags.node}: ${s.ready}`,
          `  enclave      ${s.enclave} (${s.platform}, measurement ${s.measurement}${s.release ? `, release ${s.release}` : ""})`,
          `  app          ${s.app.name} v${s.app.stateVersion} (code hash ${s.app.codeHash}); ${s.appliedSequence} commands applied, ${s.queued} queued`,
          `  group        epoch ${s.epoch ?? "(not a member)"}, ${s.members.length} members`,
          `  chain        head ${s.chainHead}, read through ${s.followedHead ?? "-"} (${s.lagBlocks ?? "-"} blocks behind)`,
          `  gas          ${s.gasBalance === null ? "(the chain did not answer)" : `${formatEther(BigInt(s.gasBalance))} ETH`}`,
          ...(s.sync
            ? [
                `  peers        ${s.sync.peers} given, ${s.sync.announced} announced on chain${s.sync.reason ? ` (${s.sync.reason}: no peer to fetch its state snapshot from; start it with --peer URL, or have a member announce --public-url)` : ""}`,
              ]
            : []),
          ...s.collateral.map(
            (c) =>
              `  collateral   ${c.platform} ${c.product ? `CRLs of ${c.product}` : `FMSPC ${c.fmspc}`}, next update ${c.nextUpdate}`,
          ),
          ...(s.warnings.length === 0
            ? ["no warnings"]
            : s.warnings.map((w) => `warning ${w.code}: ${w.message}`)),
        ];
        for (const line of lines) console.log(printable(line));
      }),
    );
}
