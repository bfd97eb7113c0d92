// One node's contract writes, typed by the generated ABI (a wrong function name or argument is a
// compile error); a refusal is decoded to the contract's error name.
import { type Address, BaseError, ContractFunctionRevertedError, type Hex, toFunctionSelector } from "viem";
import {
  type AnonifyWrite,
  type AnonifyWriteArgs,
  type LedgerWallet,
  writeAnonify,
} from "../../chain/chain.js";
import { anonifyAbi } from "../../chain/generated/contracts.js";
import { FailureLog, firstLine, type Logger } from "../log.js";

/** The contract's custom errors by selector. */
const CONTRACT_ERRORS = new Map(
  anonifyAbi.flatMap((item) =>
    item.type === "error"
      ? [
          [
            toFunctionSelector(`${item.name}(${item.inputs.map((i) => i.type).join(",")})`),
            item.name,
          ] as const,
        ]
      : [],
  ),
);

/** Reverts the protocol expects: losing an epoch race (the winner's commit arrives with the events). */
const EXPECTED_REVERTS = new Set(["StaleEpoch", "RotationTooSoon"]);

/** The custom error a contract call reverted with, by name, if it reverted with one. */
export function revertName(error: unknown): string | undefined {
  const revert =
    error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
  if (!(revert instanceof ContractFunctionRevertedError)) return undefined;
  // Some nodes return a custom error's selector without its arguments; viem then cannot decode
  // it, so the selector names it.
  return revert.data?.errorName ?? (revert.signature && CONTRACT_ERRORS.get(revert.signature));
}

/** One node's contract writes: a refused write is logged (once while it repeats) and reported, not thrown. */
export class ChainWriter {
  private readonly refusals = new Map<AnonifyWrite, FailureLog>();

  constructor(
    private readonly wallet: LedgerWallet,
    private readonly contract: Address,
    private readonly log: Logger,
  ) {}

  /** Sends a call; its transaction hash, or undefined when it was not sent. */
  async broadcast<const F extends AnonifyWrite>(
    functionName: F,
    args: AnonifyWriteArgs<F>,
    gas?: bigint,
  ): Promise<Hex | undefined> {
    const refusals = this.refusals.get(functionName) ?? new FailureLog(this.log, functionName);
    this.refusals.set(functionName, refusals);
    try {
      const hash = await writeAnonify(this.wallet, this.contract, functionName, args, gas);
      refusals.succeeded();
      return hash;
    } catch (error) {
      const name = revertName(error);
      if (!name || !EXPECTED_REVERTS.has(name)) refusals.failed(name ?? firstLine(error));
      return undefined;
    }
  }

  /** Sends a call and waits for it to be mined; whether it succeeded. */
  async send<const F extends AnonifyWrite>(functionName: F, args: AnonifyWriteArgs<F>): Promise<boolean> {
    const hash = await this.broadcast(functionName, args);
    if (!hash) return false;
    const receipt = await this.wallet.publicClient.waitForTransactionReceipt({ hash });
    return receipt.status === "success";
  }
}
