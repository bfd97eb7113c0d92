// The contract owner's policy, one change at a time: each reads what the chain holds, sends the
// change only if it differs, and reports before → after with its transaction. `anonify policy`,
// `anonify deploy` and the devnet all change the policy through here.
import type { Address, Hex } from "viem";
import { type LedgerWallet, writeAnonifyMined } from "../chain/chain.js";
import { anonifyAbi } from "../chain/generated/contracts.js";
import { revertName } from "../host/chain-io/chain-writer.js";
import { ENCLAVE_STATE } from "../host/registration.js";
import { OperatorError } from "./operator-checks.js";

export type PolicyAction =
  | { kind: "measurement"; measurement: Hex; allowed: boolean }
  | { kind: "signer"; signer: Address; trusted: boolean }
  | { kind: "debug"; allowed: boolean }
  | { kind: "revoke"; enclave: Address }
  /** The first step of moving ownership: `to` becomes the owner only when it accepts. */
  | { kind: "offer-ownership"; to: Address }
  /** The second step, sent by the account the owner offered ownership to. */
  | { kind: "accept-ownership"; by: Address };

/** One change as the owner sees it; `transaction` and `block` are null when the chain already held `after`. */
export type PolicyChange = {
  change: string;
  before: string;
  after: string;
  transaction: Hex | null;
  block: string | null;
};

const allowedWord = (allowed: boolean) => (allowed ? "allowed" : "not allowed");
const trustedWord = (trusted: boolean) => (trusted ? "trusted" : "not trusted");
const offeredWord = (to: Address) => (BigInt(to) === 0n ? "offered to no one" : `offered to ${to}`);
const ownedWord = (by: Address) => `owned by ${by}`;

/** What the chain holds now for the setting `action` changes, in the words the report uses. */
async function holds(owner: LedgerWallet, contract: Address, action: PolicyAction): Promise<string> {
  const read = { address: contract, abi: anonifyAbi } as const;
  const { publicClient } = owner;
  switch (action.kind) {
    case "measurement":
      return allowedWord(
        await publicClient.readContract({
          ...read,
          functionName: "allowedMeasurements",
          args: [action.measurement],
        }),
      );
    case "signer":
      return trustedWord(
        await publicClient.readContract({ ...read, functionName: "trustedSigners", args: [action.signer] }),
      );
    case "debug":
      return allowedWord(await publicClient.readContract({ ...read, functionName: "debugAllowed" }));
    case "revoke": {
      const record = await publicClient.readContract({
        ...read,
        functionName: "getEnclave",
        args: [action.enclave],
      });
      return ENCLAVE_STATE[record.state] ?? "none";
    }
    case "offer-ownership":
      return offeredWord(await publicClient.readContract({ ...read, functionName: "pendingOwner" }));
    case "accept-ownership":
      return ownedWord(await publicClient.readContract({ ...read, functionName: "owner" }));
  }
}

function describe(action: PolicyAction): { change: string; after: string } {
  switch (action.kind) {
    case "measurement":
      return { change: `measurement ${action.measurement}`, after: allowedWord(action.allowed) };
    case "signer":
      return { change: `attestation signer ${action.signer}`, after: trustedWord(action.trusted) };
    case "debug":
      return { change: "debug and simulated enclaves", after: allowedWord(action.allowed) };
    case "revoke":
      return { change: `enclave ${action.enclave}`, after: "revoked" };
    case "offer-ownership":
      return { change: "ownership of the contract", after: offeredWord(action.to) };
    case "accept-ownership":
      return { change: "ownership of the contract", after: ownedWord(action.by) };
  }
}

function send(owner: LedgerWallet, contract: Address, action: PolicyAction) {
  switch (action.kind) {
    case "measurement":
      return writeAnonifyMined(owner, contract, "setMeasurementAllowed", [
        action.measurement,
        action.allowed,
      ]);
    case "signer":
      return writeAnonifyMined(owner, contract, "setTrustedSigner", [action.signer, action.trusted]);
    case "debug":
      return writeAnonifyMined(owner, contract, "setDebugAllowed", [action.allowed]);
    case "revoke":
      return writeAnonifyMined(owner, contract, "revokeEnclave", [action.enclave]);
    case "offer-ownership":
      return writeAnonifyMined(owner, contract, "transferOwnership", [action.to]);
    case "accept-ownership":
      return writeAnonifyMined(owner, contract, "acceptOwnership", []);
  }
}

/**
 * Refuses a key that may not send `action` before it sends anything: the owner for every change but
 * an acceptance, which only the account the owner offered ownership to may send.
 */
export async function requireOwner(
  owner: LedgerWallet,
  contract: Address,
  action?: PolicyAction,
): Promise<void> {
  const accepting = action?.kind === "accept-ownership";
  const role = accepting ? "pendingOwner" : "owner";
  const actual = await owner.publicClient.readContract({
    address: contract,
    abi: anonifyAbi,
    functionName: role,
  });
  if (actual.toLowerCase() === owner.account.address.toLowerCase()) return;
  throw accepting
    ? new OperatorError(
        "not_offered",
        `ownership of contract ${contract} is not offered to ${owner.account.address} (${offeredWord(actual)})`,
      )
    : new OperatorError(
        "not_owner",
        `${owner.account.address} is not the owner of contract ${contract} (its owner is ${actual})`,
      );
}

/** Makes the chain hold what `action` says, unless it already does; reports before → after. */
export async function applyPolicy(
  owner: LedgerWallet,
  contract: Address,
  action: PolicyAction,
): Promise<PolicyChange> {
  const { change, after } = describe(action);
  const before = await holds(owner, contract, action);
  if (before === after) return { change, before, after, transaction: null, block: null };
  let receipt: Awaited<ReturnType<typeof send>>;
  try {
    receipt = await send(owner, contract, action);
  } catch (error) {
    const name = revertName(error);
    if (!name) throw error;
    throw new OperatorError("refused", `the contract refused to change ${change} (${before}): ${name}`);
  }
  if (receipt.status !== "success")
    throw new OperatorError(
      "reverted",
      `changing ${change} reverted in transaction ${receipt.transactionHash}`,
    );
  return {
    change,
    before,
    after,
    transaction: receipt.transactionHash,
    block: receipt.blockNumber.toString(),
  };
}

/** `applyPolicy` for each action in turn (one owner account: its transactions go one after another). */
export async function applyPolicies(
  owner: LedgerWallet,
  contract: Address,
  actions: readonly PolicyAction[],
): Promise<PolicyChange[]> {
  const changes: PolicyChange[] = [];
  for (const action of actions) changes.push(await applyPolicy(owner, contract, action));
  return changes;
}

/** One line of a change for a terminal. */
export function changeLine(c: PolicyChange): string {
  const landed = c.transaction
    ? `transaction ${c.transaction}, block ${c.block}`
    : "unchanged: the chain already holds it";
  return `${c.change}: ${c.before} → ${c.after} (${landed})`;
}
