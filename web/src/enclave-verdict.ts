// What the wallet's client concluded of the enclave it encrypts to, shown beside "served by": the
// verdict it acted on, reached from the enclave's evidence on chain (platform, TCB status,
// measurement, debug) and the policy it applied; or, when it refused the enclave or the node, the
// refusal with its reason. Nothing was sent to a refused node.
import type { AnonifyClient } from "../../src/client/anonify-client.js";
import { type EnclavePolicyName, platformLabel } from "../../src/client/enclave-policy.js";
import { AnonifyClientError } from "../../src/client/errors.js";
import { h } from "./dom.js";

/** What each policy the wallet may apply admits, for people. */
const POLICY_TEXT: Record<EnclavePolicyName, string> = {
  production: "production: real TEEs, no debug, a current TCB, pinned measurements only",
  development: "development (the default on a development chain): any enclave whose evidence verifies",
};

/** The client's refusals of the enclave a node names, and of the node itself. */
const ENCLAVE_REFUSALS = new Set(["enclave_not_allowed", "enclave_not_active"]);
const NODE_REFUSALS = new Set(["wrong_network", "wrong_chain"]);

const row = (term: string, ...detail: (Node | string)[]) => [h("dt", {}, term), h("dd", {}, ...detail)];

export function verdictView(client: AnonifyClient, policy: EnclavePolicyName): HTMLElement {
  const v = client.served;
  const advisories = v.advisoryIds.length ? ` (${v.advisoryIds.join(", ")})` : "";
  return h(
    "div",
    { role: "group", "aria-label": "enclave verdict", class: "verdict" },
    h("p", { class: "enclave" }, `served by enclave ${v.address}`),
    h(
      "dl",
      {},
      // The simulated platform's evidence is signed by a key anyone may hold: it attests nothing.
      ...row(
        "platform",
        platformLabel(v),
        ...(v.simulated ? [" ", h("strong", {}, "protects nothing")] : []),
      ),
      ...row("measurement", v.measurement),
      ...row("TCB status", `${v.tcbStatus}${advisories}`),
      ...row("debug", v.simulated ? "yes (simulated)" : v.debug ? "yes: its host can read its memory" : "no"),
      ...row("policy", POLICY_TEXT[policy]),
    ),
    ...client.warnings.map((w) => h("p", { class: "warning", role: "note" }, w)),
  );
}

/** The client's refusal of `node` or of the enclave it names, with its reason; undefined for other errors. */
export function refusalView(error: unknown, node: string): HTMLElement | undefined {
  if (!(error instanceof AnonifyClientError)) return undefined;
  const heading = ENCLAVE_REFUSALS.has(error.code)
    ? `This wallet refuses the enclave that ${node} names`
    : NODE_REFUSALS.has(error.code)
      ? `This wallet refuses the node ${node}`
      : undefined;
  if (!heading) return undefined;
  return h(
    "div",
    { role: "alert", class: "refusal" },
    h("strong", {}, heading),
    h("p", {}, `${error.message} (${error.code})`),
    h("p", {}, "Nothing was sent to it."),
  );
}
