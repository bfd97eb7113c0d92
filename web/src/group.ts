// The operator's group view of this page's node: members, epoch, key fingerprint, last handshake,
// as that node says it (a malformed answer shown as such), and a key rotation, which the node runs
// only for its admin token (kept in no storage).

import { CHAIN_POLL_MS } from "./chain.js";
import { errorText, everyMs, fill, h, labelledForm, table } from "./dom.js";
import { nodeStatus, statusProblem } from "./node-status.js";

const ROTATE_PATH = "/v1/group/rotate";

export function groupView(node: string): HTMLElement {
  const state = h("div");
  const result = h("p", { role: "status" });
  const token = h("input", { id: "admin-token", type: "password", autocomplete: "off", required: true });
  const rotate = labelledForm("rotate", [{ label: "admin token", input: token }], "rotate", async () => {
    try {
      const res = await fetch(new URL(ROTATE_PATH, node), {
        method: "POST",
        headers: { authorization: `Bearer ${token.value.trim()}` },
      });
      const body = (await res.json()) as { code?: string; message?: string };
      result.textContent = res.ok ? "rotation requested" : `${body.code}: ${body.message}`;
    } catch (error) {
      result.textContent = errorText(error);
    }
  });
  everyMs(CHAIN_POLL_MS, async () => {
    try {
      const s = await nodeStatus(node);
      fill(
        state,
        h(
          "p",
          {},
          `This node says: its enclave ${s.enclave}, ${s.member ? "a member" : "not a member"}, slot ${s.slot}, MLS epoch ${s.epoch ?? "none"}, epoch key fingerprint ${s.epochKeyFingerprint ?? "none"}${s.rotationPending ? ", rotation pending" : ""}`,
        ),
        s.lastHandshake
          ? h(
              "p",
              {},
              `Its last handshake: slot ${s.lastHandshake.slot} by ${s.lastHandshake.enclave}: ${s.lastHandshake.outcome}`,
            )
          : null,
        table(
          "Group members",
          ["enclave"],
          s.members.map((m) => [m]),
        ),
      );
    } catch (error) {
      fill(state, h("p", { role: "alert" }, `this node's status is ${statusProblem(error)}`));
    }
  });
  return h(
    "section",
    { "aria-labelledby": "group-title" },
    h("h2", { id: "group-title" }, "Group"),
    state,
    rotate,
    result,
  );
}
