// A chain RPC that lies about batches' public outputs: every `OutputsPublished` log it returns is
// rewritten by the test's lie (other outputs, another signature, another enclave), the rest passed on
// as the chain gave it. For tests of readers (src/client/public-outputs.ts), as their `fetch`.
import {
  type Address,
  decodeAbiParameters,
  encodeAbiParameters,
  encodeEventTopics,
  type Hex,
  pad,
  parseAbiParameters,
} from "viem";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";

/** An `OutputsPublished` log's fields as a lie may change them. */
export type OutputsLog = { enclave: Address; seq: bigint; outputs: Hex; signature: Hex };
export type OutputsLie = (log: OutputsLog) => OutputsLog;

const [OUTPUTS_TOPIC] = encodeEventTopics({ abi: anonifyAbi, eventName: "OutputsPublished" });
const DATA = parseAbiParameters("uint64, bytes, bytes");

type RawLog = { topics: Hex[]; data: Hex };
const JSON_TYPE = { "content-type": "application/json" };

/** The log's fields (topics: event, batch, enclave; data: seq, outputs, signature). */
export function outputsLog(raw: RawLog): OutputsLog {
  const [seq, outputs, signature] = decodeAbiParameters(DATA, raw.data);
  return { enclave: `0x${raw.topics[2]!.slice(26)}`, seq, outputs, signature };
}

function rewritten(raw: RawLog, lie: OutputsLie): RawLog {
  const told = lie(outputsLog(raw));
  return {
    ...raw,
    topics: [raw.topics[0]!, raw.topics[1]!, pad(told.enclave)],
    data: encodeAbiParameters(DATA, [told.seq, told.outputs, told.signature]),
  };
}

/** A fetch that passes everything on, but tells `lie` of every outputs record `eth_getLogs` returns. */
export function rpcLyingAboutOutputs(lie: OutputsLie): typeof globalThis.fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const asked = typeof init?.body === "string" ? (JSON.parse(init.body) as { method?: string }) : {};
    if (asked.method !== "eth_getLogs") return response;
    const answer = (await response.json()) as { result?: RawLog[] };
    answer.result = answer.result?.map((log) =>
      log.topics[0] === OUTPUTS_TOPIC ? rewritten(log, lie) : log,
    );
    return new Response(JSON.stringify(answer), { status: response.status, headers: JSON_TYPE });
  };
}
