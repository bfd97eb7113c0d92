// Test and benchmark support: a run of pre-sealed erc20 batches as a member enclave would order them
// (the token constructed and spread over 200 holders, then transfers among them, every command
// signed by a real holder key), with what `applyBatch` needs to apply them. The apply benches
// (bench/e2e.bench.ts, bench/apply-workers.bench.ts) and the signature pool's tests share it.
import { type Address, type Hex, type LocalAccount, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import erc20 from "../../apps/erc20/index.js";
import type { App } from "../app/app.js";
import type { StateValue } from "../app/canonical.js";
import type { LedgerEvent } from "../boundary/chain-events.js";
import { signCommand } from "../client/command.js";
import { encodeBatch, sealBatch } from "../protocol/batch.js";
import { type LedgerDomain, ZERO_HASH } from "../protocol/digests.js";
import { decodeSignedCommand, encodeSignedCommand } from "../protocol/wire.js";
import { SignatureCheck } from "./signature-check.js";
import { EventLog } from "./test-chain.js";

const HOLDERS = 200;
const SUPPLY = 10n ** 30n;
const PER_HOLDER = 10n ** 20n;
/** Transfers go to holder (i × this) mod holders: spread, and not always the next one. */
const RECIPIENT_STRIDE = 7;

export type BatchSubmitted = Extract<LedgerEvent, { kind: "BatchSubmitted" }>;

/** What `applyBatch` is given, less its signature checks. */
export type ApplyContext = {
  app: App<StateValue>;
  domain: LedgerDomain;
  self: Hex;
  mlsEpoch: bigint;
  epochKey: Uint8Array;
  members: ReadonlySet<string>;
};

export type SealedRun = {
  context: ApplyContext;
  /** The setup batch (construct and one transfer to each holder), then `batches` of `perBatch` transfers. */
  events: BatchSubmitted[];
  /** Every signed command, in order. */
  commands: Uint8Array[];
};

/**
 * A copy of a signed command with another `amount` and the same signature and signer key: what a
 * member that wanted to move more than was signed would put in its batch.
 */
export function forgedCopy(encoded: Uint8Array): Uint8Array {
  const signed = decodeSignedCommand(encoded);
  const params = JSON.stringify({ ...signed.paramsValue, amount: "999" });
  return encodeSignedCommand({ ...signed, params });
}

/** `batches` batches of `perBatch` transfers after the setup; `forge(i)` makes transfer i a forged copy. */
export async function sealedRun({
  batches,
  perBatch,
  forge = () => false,
}: {
  batches: number;
  perBatch: number;
  forge?: (transfer: number) => boolean;
}): Promise<SealedRun> {
  const domain = { chainId: 31337, contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Address };
  const holders: LocalAccount[] = Array.from({ length: HOLDERS }, () =>
    privateKeyToAccount(generatePrivateKey()),
  );
  const nonces = new Map<Address, bigint>();
  const sign = async (a: LocalAccount, command: string, params: Record<string, unknown>) => {
    const nonce = nonces.get(a.address) ?? 0n;
    nonces.set(a.address, nonce + 1n);
    return encodeSignedCommand(
      (await signCommand(a, domain, { app: "erc20", command, params, nonce })).signed,
    );
  };
  const owner = holders[0]!;
  const commands = [await sign(owner, "construct", { totalSupply: SUPPLY.toString() })];
  for (const h of holders.slice(1))
    commands.push(await sign(owner, "transfer", { to: h.address, amount: PER_HOLDER.toString() }));
  const setup = commands.length;
  for (let i = 0; i < batches * perBatch; i++) {
    const from = holders[1 + (i % (holders.length - 1))]!;
    const to = holders[(i * RECIPIENT_STRIDE) % holders.length]!.address;
    const signed = await sign(from, "transfer", { to, amount: "1" });
    commands.push(forge(i) ? forgedCopy(signed) : signed);
  }
  const epochKey = crypto.getRandomValues(new Uint8Array(32));
  const enclave = "0x000000000000000000000000000000000000dead" as Hex;
  const log = new EventLog();
  for (let at = 0, index = 0; at < commands.length; index++) {
    const batch = commands.slice(at, at + (at < setup ? setup : perBatch));
    const sealed = sealBatch({ epochKey, epoch: 0n, domain, plaintext: encodeBatch(batch) });
    log.append(
      {
        kind: "BatchSubmitted",
        batch: String(index),
        baseSeq: "0",
        epoch: "0",
        firstSequence: String(at),
        count: batch.length,
        enclave,
        stateDigest: ZERO_HASH,
        ciphertext: toHex(sealed),
        signature: `0x${"00".repeat(65)}`,
      },
      1,
    );
    at += batch.length;
  }
  const events = log.events.filter((e): e is BatchSubmitted => e.kind === "BatchSubmitted");
  const self = "0x0000000000000000000000000000000000000001" as Hex;
  const context = { app: erc20, domain, self, mlsEpoch: 0n, epochKey, members: new Set([enclave]) };
  return { context, events, commands };
}

/** `context` with signature checks of its own, empty: as on an enclave that never saw these commands. */
export const freshChecks = (context: ApplyContext) => ({ ...context, signatures: new SignatureCheck() });
