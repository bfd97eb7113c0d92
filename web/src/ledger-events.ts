// What the explorer reads of the contract, all public: batches, handshakes and enclave records,
// read from the chain (the profile's RPC) in pages of blocks as the chain grows.
import type { Address, Hex, PublicClient } from "viem";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { platformName } from "../../src/client/enclave-policy.js";
import type { NetworkProfile } from "../../src/client/network-profile-format.js";

/** The contract's `EnclaveState` names, by number. */
const ENCLAVE_STATES = ["none", "active", "revoked", "left"] as const;

export type BatchRow = {
  index: bigint;
  epoch: bigint;
  count: number;
  paddedBytes: number;
  enclave: Address;
  block: bigint;
};
export type HandshakeRow = { slot: bigint; enclave: Address; block: bigint; bytes: number };
export type EnclaveRow = {
  address: Address;
  platform: string;
  measurement: Hex;
  debug: boolean;
  state: string;
};

const hexBytes = (hex: Hex) => (hex.length - 2) / 2;

/** Everything the contract logged so far, read incrementally: each call reads only the new blocks. */
export class LedgerEvents {
  readonly batches: BatchRow[] = [];
  readonly handshakes: HandshakeRow[] = [];
  readonly registered: Address[] = [];
  private scanned: bigint;

  constructor(
    private readonly chain: PublicClient,
    private readonly profile: NetworkProfile,
  ) {
    this.scanned = profile.deployedAtBlock - 1n;
  }

  /** Reads the blocks after the last one read; returns whether anything new came. */
  async update(): Promise<boolean> {
    const head = await this.chain.getBlockNumber({ cacheTime: 0 });
    if (head <= this.scanned) return false;
    const range = {
      address: this.profile.contract,
      abi: anonifyAbi,
      fromBlock: this.scanned + 1n,
      toBlock: head,
      strict: true,
    } as const;
    const [batches, handshakes, registered] = await Promise.all([
      this.chain.getContractEvents({ ...range, eventName: "BatchSubmitted" }),
      this.chain.getContractEvents({ ...range, eventName: "HandshakeCommitted" }),
      this.chain.getContractEvents({ ...range, eventName: "EnclaveRegistered" }),
    ]);
    for (const { args, blockNumber } of batches)
      this.batches.push({
        index: args.batch,
        epoch: args.epoch,
        count: args.count,
        paddedBytes: hexBytes(args.ciphertext),
        enclave: args.enclave,
        block: blockNumber,
      });
    for (const { args, blockNumber } of handshakes)
      this.handshakes.push({
        slot: args.epoch,
        enclave: args.enclave,
        block: blockNumber,
        bytes: hexBytes(args.handshake),
      });
    for (const { args } of registered)
      if (!this.registered.includes(args.enclave)) this.registered.push(args.enclave);
    this.scanned = head;
    return batches.length + handshakes.length + registered.length > 0;
  }

  /** The contract's record of each registered enclave (read now: a state may have changed). */
  enclaves(): Promise<EnclaveRow[]> {
    return Promise.all(
      this.registered.map(async (address) => {
        const r = await this.chain.readContract({
          address: this.profile.contract,
          abi: anonifyAbi,
          functionName: "getEnclave",
          args: [address],
        });
        return {
          address,
          platform: platformName(r.platform) ?? `unknown (${r.platform})`,
          measurement: r.measurement,
          debug: r.debug,
          state: ENCLAVE_STATES[r.state] ?? String(r.state),
        };
      }),
    );
  }
}
