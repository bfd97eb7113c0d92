// The explorer: public data only, updated live. Batches, handshakes and enclave records come from the
// chain (the profile's RPC); each node's sync state, group view and epoch key fingerprint come from
// that node's `/v1/status`, each claim labelled as that node's ("node X says"), and a malformed
// answer shown as such: no node's answer can blank what the chain says.
import type { ChainClient } from "../../src/client/chain-client.js";
import type { NetworkProfile } from "../../src/client/network-profile-format.js";
import { CHAIN_POLL_MS } from "./chain.js";
import { errorText, everyMs, fill, h, labelledForm, table } from "./dom.js";
import { LedgerEvents } from "./ledger-events.js";
import { addNode, type NodeStatus, nodeStatus, statusProblem, watchedNodes } from "./node-status.js";

/** Newest rows shown of each list (the chain keeps them all). */
const SHOWN_ROWS = 50;

type Observed = { node: string; status?: NodeStatus; error?: string };

const newestFirst = <T>(rows: readonly T[]) => rows.slice(-SHOWN_ROWS).reverse();

export function explorerView(profile: NetworkProfile, chain: ChainClient, node: string): HTMLElement {
  const events = new LedgerEvents(chain, profile);
  const nodesPart = h("div");
  const membersPart = h("div");
  const batchesPart = h("div");
  const handshakesPart = h("div");
  const problem = h("p", { role: "status" });
  const nodeInput = h("input", { id: "add-node-url", type: "url", placeholder: "http://127.0.0.1:PORT" });
  const addForm = labelledForm("add node", [{ label: "node URL", input: nodeInput }], "add node", () => {
    try {
      addNode(nodeInput.value);
      nodeInput.value = "";
    } catch (error) {
      problem.textContent = errorText(error);
    }
  });

  everyMs(CHAIN_POLL_MS, async () => {
    try {
      await events.update();
      const observed: Observed[] = await Promise.all(
        watchedNodes(node).map((node) =>
          nodeStatus(node).then(
            (status) => ({ node, status }),
            (error: unknown) => ({ node, error: statusProblem(error) }),
          ),
        ),
      );
      fill(nodesPart, nodesTable(observed));
      fill(membersPart, membersTable(await events.enclaves(), observed));
      fill(batchesPart, batchesTable(events));
      fill(handshakesPart, handshakesTable(events, observed));
      problem.textContent = "";
    } catch (error) {
      problem.textContent = errorText(error);
    }
  });

  return h(
    "section",
    { "aria-labelledby": "explorer-title" },
    h("h2", { id: "explorer-title" }, "Explorer"),
    h("p", {}, `Chain ${profile.chainId}, contract ${profile.contract}, read from ${profile.rpcUrl}`),
    problem,
    nodesPart,
    addForm,
    membersPart,
    batchesPart,
    handshakesPart,
  );
}

function nodesTable(observed: Observed[]): HTMLTableElement {
  return table(
    "Nodes (each node's own word)",
    [
      "node",
      "enclave",
      "synced",
      "chain head",
      "applied sequence",
      "batches",
      "queued",
      "epoch",
      "epoch key fingerprint",
    ],
    observed.map(({ node, status: s, error }) =>
      s
        ? [
            node,
            s.enclave,
            s.synced ? "synced" : "catching up",
            s.chainHead,
            s.appliedSequence,
            s.batches,
            s.queued,
            s.epoch ?? "none",
            s.epochKeyFingerprint ?? "none",
          ]
        : [node, error, "", "", "", "", "", "", ""],
    ),
  );
}

/** Each node's claim of `what`, labelled as its own, or that no node answered. */
function nodesSay(observed: Observed[], what: (s: NodeStatus) => string | undefined): string {
  const claims = observed.flatMap(({ node, status }) => {
    const claim = status && what(status);
    return claim ? [`node ${node} says ${claim}`] : [];
  });
  return claims.length ? claims.join("; ") : "no node's word";
}

function membersTable(
  enclaves: Awaited<ReturnType<LedgerEvents["enclaves"]>>,
  observed: Observed[],
): HTMLTableElement {
  return table(
    "Members",
    ["enclave", "state on chain", "group member (nodes' word)", "platform", "measurement", "debug"],
    enclaves.map((e) => [
      e.address,
      e.state,
      nodesSay(observed, (s) =>
        s.members.some((m) => m === e.address.toLowerCase()) ? "member" : "not a member",
      ),
      e.platform,
      e.measurement,
      e.debug ? "debug" : "no",
    ]),
  );
}

function batchesTable(events: LedgerEvents): HTMLTableElement {
  return table(
    "Batches",
    ["index", "epoch", "commands", "padded size (bytes)", "submitting enclave", "block"],
    newestFirst(events.batches).map((b) => [b.index, b.epoch, b.count, b.paddedBytes, b.enclave, b.block]),
  );
}

function handshakesTable(events: LedgerEvents, observed: Observed[]): HTMLTableElement {
  const outcome = (slot: bigint) =>
    nodesSay(observed, (s) =>
      s.lastHandshake?.slot === slot.toString() ? s.lastHandshake.outcome : undefined,
    );
  return table(
    "Handshakes",
    ["slot", "committer", "block", "size (bytes)", "outcome (nodes' word)"],
    newestFirst(events.handshakes).map((x) => [x.slot, x.enclave, x.block, x.bytes, outcome(x.slot)]),
  );
}
