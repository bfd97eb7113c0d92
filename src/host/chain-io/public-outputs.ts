// Batches' public outputs in the host (src/protocol/public-outputs.ts). Its enclave hands it the
// signed record of each batch it submitted, once applied; the host publishes them on chain
// (`publishOutputs`), one write per tick with the node's other writes, retrying a failed one a few
// times: a record never published costs only its readers, never the ledger (nothing applies it).
// And it feeds the records it reads on chain (`OutputsPublished`) back to its enclave, which checks
// them against its own (`checkOutputs`): one that differs stops it as any divergence does.
import type { Address, Hex } from "viem";
import type { Divergence, OutputsRecord } from "../../boundary/call-results.js";
import { MAX_OUTPUTS_RECORDS_PER_CALL } from "../../boundary/calls.js";
import type { LedgerWallet } from "../../chain/chain.js";
import type { AnonifyEvent } from "../../chain/follower.js";
import { anonifyAbi } from "../../chain/generated/contracts.js";
import type { EnclaveCalls } from "../enclave-process.js";
import { FailureLog, firstLine, type Logger } from "../log.js";
import type { NodeMetrics } from "../node-metrics.js";
import type { Keep } from "../sealed-store.js";
import type { ChainWriter } from "./chain-writer.js";

/** Between attempts of a publication that failed. */
const RETRY_MS = 2_000;
/** Attempts before a record is given up (its batch's head may have left the contract's window). */
const MAX_ATTEMPTS = 10;
const ZERO_HASH = `0x${"00".repeat(32)}`;

export type PublicOutputsOptions = {
  enclave: EnclaveCalls;
  writer: ChainWriter;
  wallet: LedgerWallet;
  contract: Address;
  counts: NodeMetrics;
  keep: Keep;
  log: Logger;
  /** The enclave found a published record is not its own: it applies nothing more. */
  diverged(divergence: Divergence): void;
};

type Pending = { record: OutputsRecord; notBefore: number; attempts: number };

export class PublicOutputs {
  private pending: Pending[] = [];
  private readonly failures: FailureLog;

  constructor(private readonly options: PublicOutputsOptions) {
    this.failures = new FailureLog(options.log, "public outputs publication");
  }

  /** Schedules the records an apply produced (the same record again, after a replay, is taken once). */
  take(records: readonly OutputsRecord[]): void {
    for (const record of records)
      if (!this.pending.some((p) => p.record.batch === record.batch))
        this.pending.push({ record, notBefore: 0, attempts: 0 });
  }

  /** Publishes one due record, if any; run by the node's tick. Whether it sent (or tried to). */
  async publishDue(): Promise<boolean> {
    const due = this.pending.find((p) => p.notBefore <= Date.now());
    if (!due) return false;
    const { record } = due;
    const { wallet, contract, writer, counts, log } = this.options;
    const drop = () => {
      this.pending = this.pending.filter((p) => p !== due);
    };
    try {
      const published = await wallet.publicClient.readContract({
        address: contract,
        abi: anonifyAbi,
        functionName: "outputsHash",
        args: [BigInt(record.batch)],
      });
      if (published !== ZERO_HASH) {
        drop(); // published already (a replay's record)
        return false;
      }
      const sent = await writer.send("publishOutputs", [
        BigInt(record.batch),
        BigInt(record.seq),
        record.outputs,
        record.signature,
      ]);
      if (sent) {
        drop();
        this.failures.succeeded();
        counts.outputsPublished();
        log.info({ batch: record.batch, bytes: (record.outputs.length - 2) / 2 }, "public outputs published");
        return true;
      }
      this.failures.failed(`batch ${record.batch}: not published`);
    } catch (error) {
      this.failures.failed(error);
    }
    if (++due.attempts >= MAX_ATTEMPTS) {
      drop();
      log.warn({ batch: record.batch }, "public outputs given up: their readers go without");
    } else due.notBefore = Date.now() + RETRY_MS;
    return true;
  }

  /** Feeds the records among `events` to the enclave to check; whether it found one not its own. */
  async check(events: readonly AnonifyEvent[]): Promise<boolean> {
    const records = events.flatMap((e) =>
      e.eventName === "OutputsPublished"
        ? [
            {
              batch: e.args.batch.toString(),
              seq: e.args.seq.toString(),
              outputs: e.args.outputs as Hex,
              signature: e.args.signature as Hex,
            },
          ]
        : [],
    );
    for (let i = 0; i < records.length; i += MAX_OUTPUTS_RECORDS_PER_CALL) {
      const slice = records.slice(i, i + MAX_OUTPUTS_RECORDS_PER_CALL);
      // A record the enclave refuses (its batch as applied there was another: a reorganisation
      // between) goes unchecked: the check is never a reason to stop following the chain.
      const answer = await this.options.enclave
        .call("checkOutputs", { records: slice })
        .catch((error: unknown) => {
          this.options.log.warn(
            { batches: slice.map((r) => r.batch) },
            `outputs not checked: ${firstLine(error)}`,
          );
          return undefined;
        });
      if (!answer) continue;
      this.options.keep(answer);
      if (answer.diverged) {
        this.options.diverged(answer.diverged);
        return true;
      }
    }
    return false;
  }
}
