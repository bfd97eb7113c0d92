// What a client is given (`AnonifyClient.connect`'s options) and the shapes of what it answers.
import type { Hex, LocalAccount } from "viem";
import type { App } from "../app/app.js";
import type { StateValue } from "../app/canonical.js";
import type { CommandStatus, ReceiptStatus } from "../protocol/receipts.js";
import type { AnswerPosition, CheckedReceipt } from "./chain-checks.js";
import type { EnclavePolicy } from "./enclave-policy.js";
import type { ChainTarget, ProfileTrust } from "./network-profile-format.js";
import type { RetryPolicy } from "./node-retry.js";

export type AnonifyClientOptions<A extends App = App> = {
  /**
   * The chain RPC, chain id and contract, and what the profile's users trust (`trust`), from a
   * network profile the user chose (a `NetworkProfile` read with `readNetworkProfile` fits): never
   * from a node.
   */
  network: ChainTarget & { trust?: ProfileTrust };
  /** The node to send to (any node of the network; trusted for nothing but availability). */
  node: string;
  account: LocalAccount;
  /**
   * The app the client means (default: whichever the network runs, learned when it connects): its
   * definition (`import erc20 from "anonify/apps/erc20"`) types every command and query name and its
   * params; a name alone does not. A network that runs another app is refused at connect (`wrong_app`).
   */
  app?: A | string;
  /**
   * Which enclaves this client encrypts to, judged from their evidence on chain (default:
   * `ENCLAVE_POLICIES.production`, or `development` on a development chain, id 31337).
   */
  enclavePolicy?: EnclavePolicy;
  /** The time evidence is judged at (default: now); for tests that pin a vector's validity window. */
  now?: () => Date;
  /** Makes every request, to the node and to the chain (the global fetch when omitted). */
  fetch?: typeof globalThis.fetch;
  /**
   * How many blocks must follow a receipt's batch before the client calls it `final` (a block at or
   * below the chain's `finalized` block is final too): 0 on the devnet (chain id 31337), else 12.
   */
  confirmations?: bigint;
  /**
   * How long after an event is ordered a query answer may still not reflect it (seconds; default
   * `DEFAULT_MAX_LAG_SECONDS`, 30): an answer from further behind is refused, `stale_answer`.
   */
  maxLagSeconds?: number;
  /**
   * How a request the node refused before running it (`rate_limited`, `waiting_full`) is sent again:
   * the same bytes, after the node's `Retry-After` with jitter, within a bound (default
   * `DEFAULT_RETRY_POLICY`: 10 attempts, 30 s of waiting), past which it throws `rate_limited`.
   */
  retry?: Partial<RetryPolicy>;
};

/** A query's result with the point it reflects, as the client checked it on chain. */
export type QueryResult = { result: StateValue; at: AnswerPosition };

/** Steps of a command before the node answers, for a caller that shows its progress (the web wallet). */
export type SendProgress = (step: "signed" | "sealed") => void;

/**
 * What the client knows of a command: its status as the node says it (`queued`, `submitted`,
 * `ordered`), or once its receipt is opened, what the receipt says (`applied`, `failed`): the node
 * never learns which.
 */
export type CommandView = {
  id: Hex;
  status: CommandStatus | ReceiptStatus;
  receipt?: CheckedReceipt;
};
