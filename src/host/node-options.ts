// What one node's host is started with: its directory, the chain and contract it serves, the
// attestation service, and its batching, rotation and peer settings.
import type { Address } from "viem";
import type { LedgerWallet } from "../chain/chain.js";
import type { EnclaveEndpoint, LauncherCommand } from "./enclave-link.js";
import type { LogTarget } from "./log.js";

export type EnclaveNodeOptions = LogTarget & {
  hostDir: string;
  wallet: LedgerWallet;
  contract: Address;
  deployedAtBlock: bigint;
  attestationUrl: string;
  bundle?: string;
  /**
   * An enclave served in a confidential VM (`anonify enclave serve`): the host connects to it, and
   * reconnects after a dropped connection as it restarts a crashed child; `bundle` is then unused.
   */
  enclaveEndpoint?: EnclaveEndpoint;
  /** The enclave under a launcher (`gramine-sgx NAME`, src/host/gramine-launch.ts) instead of `node BUNDLE`. */
  enclaveLauncher?: LauncherCommand;
  /**
   * How long any enclave call may wait for its answer before the enclave is taken for hung and its
   * link cut (default: per call, src/host/call-deadline.ts); tests make it short.
   */
  enclaveCallDeadlineMs?: number;
  confirmations?: bigint;
  /**
   * Blocks that must follow a batch before its commands are `final` (a block at or below the
   * chain's finalized block is final too): default 0 on the devnet, else 12 (src/chain/finality.ts).
   */
  finalityDepth?: bigint;
  /** Rotation policy: ask for a key rotation this often (ms); off when omitted. */
  rotateEveryMs?: number;
  /** Rotation policy: ask for a key rotation after this many of this node's batches; off when omitted. */
  rotateEveryBatches?: number;
  /** At most this many commands per batch. */
  maxBatchCommands?: number;
  /** At most this many of this node's batches sent and not yet ordered (1 sends one at a time). */
  maxBatchesInFlight?: number;
  /**
   * Base URLs of other nodes' APIs: where this node fetches the state snapshot it needs when it
   * joins the group after commands were applied (tried in turn).
   */
  peers?: readonly string[];
  /**
   * The URL at which this node serves its API and snapshots (`--public-url`): announced on chain once
   * its enclave is active, so that joiners find it (src/host/snapshots/peer-announcer.ts).
   */
  publicUrl?: string;
};
