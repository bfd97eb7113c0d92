// What the explorer reads of the contract, all public: batches, handshakes and enclave records,
// read from the chain (the profile's RPC) in pages of blocks as the chain grows.
import type { Address, Hex } from "viem";
import { getBlockNumber, getContractEvents, readContract } from "viem/actions";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import type { ChainClient } from "../../src/client/chain-client.js";
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
/** Blocks asked for in one `eth_getLogs`: providers refuse wide ranges (commonly beyond 10,000). */
const BLOCKS_PER_READ = 5_000n;

/** Everything the contract logged so far, read incrementally: each call reads only the new blocks. */
export class LedgerEvents {
  readonly batches: BatchRow[] = [];
  readonly handshakes: HandshakeRow[] = [];
  readonly registered: Address[] = [];
  private scanned: bigint;

  constructor(
    private readonly chain: ChainClient,
    private readonly profile: NetworkProfile,
  ) {
    this.scanned = profile.deployedAtBlock - 1n;
  }

  /** Reads the blocks after the last one read, up to the head. */
  async update(): Promise<void> {
    const head = await getBlockNumber(this.chain, { cacheTime: 0 });
    while (this.scanned < head) {
      const last = this.scanned + BLOCKS_PER_READ < head ? this.scanned + BLOCKS_PER_READ : head;
      await this.read(this.scanned + 1n, last);
      this.scanned = last;
    }
  }

  private async read(fromBlock: bigint, toBlock: bigint): Promise<void> {
    const range = {
      address: this.profile.contract,
      abi: anonifyAbi,
      fromBlock,
      toBlock,
      strict: true,
    } as const;
    const [batches, handshakes, registered] = await Promise.all([
      getContractEvents(this.chain, { ...range, eventName: "BatchSubmitted" }),
      getContractEvents(this.chain, { ...range, eventName: "HandshakeCommitted" }),
      getContractEvents(this.chain, { ...range, eventName: "EnclaveRegistered" }),
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
  }

  /** The contract's record of each registered enclave (read now: a state may have changed). */
  enclaves(): Promise<EnclaveRow[]> {
    return Promise.all(
      this.registered.map(async (address) => {
        const r = await readContract(this.chain, {
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
