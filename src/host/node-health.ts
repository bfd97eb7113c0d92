// What an operator must act on before it bites: the node's gas account running dry (its batches and
// handshakes then stop landing) and the DCAP collateral its enclave holds passing its next update
// (members then refuse every SGX or TDX joiner judged against it). Said in `/v1/status`, `anonify
// node status`, the metrics and, when a warning appears or clears, the log.
import type { CollateralSummary } from "../boundary/call-results.js";
import type { LedgerWallet } from "../chain/chain.js";
import { HeldLog, type Logger } from "./log.js";

export const WARNING_CODES = ["low_gas", "collateral_due", "collateral_past"] as const;

export type NodeWarning = {
  code: (typeof WARNING_CODES)[number];
  /** What it is about, where there can be several (a collateral set: platform and FMSPC). */
  about?: string;
  message: string;
};

const SECONDS_PER_DAY = 24 * 3600;
/** Collateral whose next update is this close is due: a week leaves an operator time to publish it. */
export const COLLATERAL_DUE_SECONDS = 7 * SECONDS_PER_DAY;
/** Gas must last this long at the rate the node has spent it. */
export const GAS_RUNWAY_SECONDS = SECONDS_PER_DAY;
/**
 * However slowly it spends, the account must pay for this many batches: an idle node that cannot pay
 * for its next burst is as stuck as a busy one.
 */
const MIN_BATCHES_PAID = 100n;
/** A full batch's gas and then some (a steady 1 KiB batch is 82,212: bench/results/ledger-gas.md). */
const GAS_PER_BATCH = 1_000_000n;
/** The spend rate is read over at most this long a window, and only once it spans at least the minimum. */
const RATE_WINDOW_MS = 6 * 3600 * 1000;
const MIN_RATE_SPAN_MS = 10 * 60 * 1000;
const MS_PER_SECOND = 1000;
const WEI_PER_ETHER = 10n ** 18n;

/**
 * The gas account's balance as read over time, for its spend rate. A balance that rises (a top-up)
 * starts the window again: the rate is of spending only.
 */
export class GasRunway {
  private samples: { at: number; wei: bigint }[] = [];

  observe(wei: bigint, at = Date.now()): void {
    const last = this.samples.at(-1);
    if (last && wei > last.wei) this.samples = [];
    this.samples.push({ at, wei });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= RATE_WINDOW_MS) this.samples.shift();
  }

  /** Wei spent per second over the window, once it spans long enough; undefined before. */
  weiPerSecond(): bigint | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at - first.at < MIN_RATE_SPAN_MS) return undefined;
    return ((first.wei - last.wei) * BigInt(MS_PER_SECOND)) / BigInt(last.at - first.at);
  }
}

/** Ether with up to 4 decimals, for a message. */
function ether(wei: bigint): string {
  const scaled = (wei * 10_000n) / WEI_PER_ETHER;
  return `${scaled / 10_000n}.${(scaled % 10_000n).toString().padStart(4, "0")}`;
}

export type HealthInputs = {
  /** The gas account's balance now (undefined: the chain did not answer). */
  balance: bigint | undefined;
  /** Its spend rate (GasRunway), if known. */
  weiPerSecond: bigint | undefined;
  /** The chain's gas price now, if known. */
  gasPrice: bigint | undefined;
  collateral: readonly CollateralSummary[];
  now: Date;
};

/** The warnings that hold now, in a stable order. */
export function nodeWarnings({
  balance,
  weiPerSecond,
  gasPrice,
  collateral,
  now,
}: HealthInputs): NodeWarning[] {
  const warnings: NodeWarning[] = [];
  if (balance !== undefined) {
    const needed = [
      ...(gasPrice === undefined ? [] : [MIN_BATCHES_PAID * GAS_PER_BATCH * gasPrice]),
      ...(weiPerSecond === undefined || weiPerSecond <= 0n
        ? []
        : [weiPerSecond * BigInt(GAS_RUNWAY_SECONDS)]),
    ];
    const most = needed.reduce((a, b) => (a > b ? a : b), 0n);
    if (balance < most)
      warnings.push({
        code: "low_gas",
        message:
          `the gas account holds ${ether(balance)} ETH, less than ${ether(most)} ETH ` +
          `(${MIN_BATCHES_PAID} batches at today's gas price, or a day at the rate it spends): fund it`,
      });
  }
  for (const c of collateral) {
    const seconds = (Date.parse(c.nextUpdate) - now.getTime()) / MS_PER_SECOND;
    if (seconds > COLLATERAL_DUE_SECONDS) continue;
    const what = c.product
      ? `AMD's ${c.product} CRLs`
      : `the ${c.platform} collateral for FMSPC ${c.fmspc} (tcbEvaluationDataNumber ${c.tcbEvaluationDataNumber})`;
    const about = `${c.platform} ${c.product ?? c.fmspc}`;
    warnings.push(
      seconds <= 0
        ? {
            code: "collateral_past",
            about,
            message: `${what} passed its next update at ${c.nextUpdate}: publish a fresh set (anonify collateral publish)`,
          }
        : {
            code: "collateral_due",
            about,
            message: `${what} is due for its next update at ${c.nextUpdate}: publish a fresh set before then (anonify collateral publish)`,
          },
    );
  }
  return warnings;
}

/** How often a node checks its warnings by itself, so the log says them even when nobody asks. */
export const HEALTH_CHECK_MS = 60_000;

export type NodeHealthDeps = {
  wallet: LedgerWallet;
  collateral: () => Promise<readonly CollateralSummary[]>;
  log: Logger;
};

/**
 * The node's warnings, read on demand (status, metrics) and every HEALTH_CHECK_MS; each is logged at
 * warn when it first holds and at info once when it clears, never each time it is read.
 */
export class NodeHealth {
  private readonly runway = new GasRunway();
  private readonly logged: HeldLog<NodeWarning>;
  #balance: Promise<bigint> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: NodeHealthDeps) {
    const { log } = deps;
    this.logged = new HeldLog(
      (w) => log.warn({ code: w.code }, w.message),
      (w) => log.info({ code: w.code }, `no longer: ${w.message}`),
    );
  }

  start(): void {
    this.timer = setInterval(() => void this.warnings().catch(() => {}), HEALTH_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * The wei left on the account that pays this node's gas (each read feeds the spend rate). Reads
   * asked for at once share one request: a status or a scrape asks for the balance and the warnings.
   */
  gasBalance(): Promise<bigint> {
    this.#balance ??= this.#readBalance().finally(() => {
      this.#balance = undefined;
    });
    return this.#balance;
  }

  async #readBalance(): Promise<bigint> {
    const { publicClient, account } = this.deps.wallet;
    const wei = await publicClient.getBalance({ address: account.address });
    this.runway.observe(wei);
    return wei;
  }

  async warnings(): Promise<NodeWarning[]> {
    const [balance, gasPrice, collateral] = await Promise.all([
      this.gasBalance().catch(() => undefined),
      this.deps.wallet.publicClient.getGasPrice().catch(() => undefined),
      this.deps.collateral().catch(() => []),
    ]);
    const weiPerSecond = this.runway.weiPerSecond();
    const warnings = nodeWarnings({ balance, weiPerSecond, gasPrice, collateral, now: new Date() });
    this.logged.update(new Map(warnings.map((w) => [`${w.code} ${w.about ?? ""}`, w])));
    return warnings;
  }
}
