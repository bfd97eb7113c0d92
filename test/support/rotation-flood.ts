// A member's host as an attacker runs it: it asks its own enclave for a key rotation at every tick
// of a host (25 ms) and sends each from a wallet of its own (not through its node's rate-respecting
// writes), until stopped. What landed, and the contract's refusals by name.
import type { Hex } from "viem";
import { ContractFunctionRevertedError } from "viem";
import { type LedgerWallet, writeAnonifyMined } from "../../src/chain/chain.js";
import type { EnclaveNode } from "../../src/host/node-host.js";

export type RotationFlood = {
  readonly landed: number;
  /** Contract errors by name (`RotationTooSoon`, or `StaleEpoch` when another handshake won the slot). */
  readonly refused: Map<string, number>;
  stop(): Promise<void>;
};

/** The contract error a failed write names, or the error's class name. */
function revertName(error: unknown): string {
  let e: unknown = error;
  while (e instanceof Error) {
    if (e instanceof ContractFunctionRevertedError) return e.data?.errorName ?? "reverted";
    e = e.cause;
  }
  return error instanceof Error ? error.name : String(error);
}

/** A write that passed its simulation and reverted once mined (the reason is not in the receipt). */
const MINED_REVERTED = "reverted when mined";

/** A host's tick: how often a node asks its enclave for group writes. */
const TICK_MS = 25;

export function startRotationFlood(node: EnclaveNode, wallet: LedgerWallet, contract: Hex): RotationFlood {
  let running = true;
  let landed = 0;
  const refused = new Map<string, number>();
  const loop = (async () => {
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
      const p = await node.enclave.call("proposeHandshake", { rotate: true });
      if (p.handshake === null) continue;
      try {
        const receipt = await writeAnonifyMined(wallet, contract, "commitHandshake", [
          BigInt(p.epoch),
          p.handshake,
          p.rotation,
          BigInt(p.baseSeq),
          p.signature,
        ]);
        // Its own host offers the same commit: both pass the simulation, one reverts when mined.
        if (receipt.status === "success") landed++;
        else refused.set(MINED_REVERTED, (refused.get(MINED_REVERTED) ?? 0) + 1);
      } catch (error) {
        const name = revertName(error);
        refused.set(name, (refused.get(name) ?? 0) + 1);
      }
    }
  })();
  return {
    get landed() {
      return landed;
    },
    refused,
    async stop() {
      running = false;
      await loop;
    },
  };
}
