// The contract's logs, decoded, a page of blocks at a time: what the client and a node's host read
// events with (providers cap a log range).
import {
  type Address,
  type DecodeEventLogReturnType,
  decodeEventLog,
  type Hex,
  hexToBigInt,
  hexToNumber,
  numberToHex,
} from "viem";
import { blockPages } from "../chain/block-pages.js";
import { anonifyAbi } from "../chain/generated/contracts.js";
import type { ChainClient } from "./chain-client.js";

export type ContractLog = {
  decoded: DecodeEventLogReturnType<typeof anonifyAbi>;
  block: bigint;
  logIndex: number;
};

/** The contract's logs with `topics` in blocks `from` to `to`, decoded, in chain order. */
export async function* contractLogs(
  chain: ChainClient,
  contract: Address,
  topics: readonly (Hex | Hex[] | null)[],
  from: bigint,
  to: bigint,
): AsyncGenerator<ContractLog> {
  for (const page of blockPages(from, to)) {
    // eth_getLogs itself: viem's getLogs takes an event and its arguments, not raw topics (given
    // topics, it sent none and every log of the contract came back, to be filtered here).
    const logs = await chain.request({
      method: "eth_getLogs",
      params: [
        {
          address: contract,
          fromBlock: numberToHex(page.from),
          toBlock: numberToHex(page.to),
          topics: [...topics],
        },
      ],
    });
    for (const log of logs) {
      if (log.removed || log.blockNumber === null || log.logIndex === null) continue;
      let decoded: DecodeEventLogReturnType<typeof anonifyAbi>;
      try {
        decoded = decodeEventLog({ abi: anonifyAbi, data: log.data, topics: log.topics, strict: true });
      } catch {
        continue; // another event whose first topic happens to match
      }
      yield { decoded, block: hexToBigInt(log.blockNumber), logIndex: hexToNumber(log.logIndex) };
    }
  }
}
