// For tests only: tally v1 and v2 enclaves in process around an upgrade document (app-upgrade.ts):
// their app ids, a signed `add`, a batch offer placed on the chain whenever the host sends it, the
// document itself, and a snapshot read out of its producer.
import assert from "node:assert/strict";
import { join } from "node:path";
import { bytesToHex, type Hex, hexToBytes, type LocalAccount } from "viem";
import tallyV1 from "../../../test/fixtures/app-upgrade/v1/tally/index.js";
import tallyV2 from "../../../test/fixtures/app-upgrade/v2/tally/index.js";
import type { App } from "../../app/app.js";
import type { StateValue } from "../../app/canonical.js";
import type { ApplyResult, BatchOffer } from "../../boundary/call-results.js";
import { openQueryResult, sealCommand, sealQuery, signCommand, signQuery } from "../../client/command.js";
import { signPolicy } from "../../operator/policy.js";
import { DEV_POLICY_PRIVATE_KEYS } from "../../protocol/dev-policy-keys.js";
import { appUpgrade } from "../../protocol/policy-upgrade.js";
import type { TestChain } from "../test-chain.js";
import { appIdIn, call, DOMAIN, enclaveOn, identityIn } from "../test-harness.js";

export type Member = Awaited<ReturnType<TestChain["register"]>>;

export const TALLY_V1 = tallyV1 as App<StateValue>;
export const TALLY_V2 = tallyV2 as App<StateValue>;
export const V1 = appIdIn(TALLY_V1);
export const V2 = appIdIn(TALLY_V2);
/** The upgrade of tally v1 to v2, as the document names it. */
export const UPGRADE = appUpgrade(identityIn(TALLY_V1), identityIn(TALLY_V2));

/** A tally `add` signed by `account` and sealed to `to`, with the key that opens its receipt. */
export async function sealedAdd(account: LocalAccount, to: Member, nonce: bigint, name: string, by: number) {
  const signed = await signCommand(account, DOMAIN, {
    app: "tally",
    command: "add",
    params: { name, by: String(by) },
    nonce,
  });
  return {
    id: signed.digest,
    responseKey: signed.responseKey,
    signed: signed.signed,
    envelope: bytesToHex(await sealCommand(signed.signed, to.hpkePublicKey)),
  };
}

/** A tally query by `account` answered by `at` (asserted `ok`). */
export async function query(
  account: LocalAccount,
  at: Member,
  name: "count" | "entry",
  params: Record<string, string>,
) {
  const signed = await signQuery(account, DOMAIN, { app: "tally", query: name, params });
  const envelope = bytesToHex(await sealQuery(signed.signed, at.hpkePublicKey));
  const { answer } = await call(at.enclave, "query", { envelope });
  const opened = await openQueryResult(signed.responseKey, hexToBytes(answer), {
    domain: DOMAIN,
    digest: signed.digest,
  });
  assert.equal(opened.status, "ok");
  return opened.status === "ok" ? opened.result : undefined;
}

/** Places a batch offer on the chain as the contract would order it (whenever the host sends it). */
export function order(chain: TestChain, by: Member, offer: BatchOffer): void {
  chain.push({
    kind: "BatchSubmitted",
    batch: chain.batches.toString(),
    baseSeq: offer.baseSeq,
    epoch: offer.epoch,
    firstSequence: chain.sequence.toString(),
    count: offer.count,
    enclave: by.address,
    stateDigest: offer.stateDigest,
    ciphertext: offer.ciphertext!,
    signature: offer.signature,
  });
  chain.batches++;
  chain.sequence += BigInt(offer.count);
}

/** The snapshot `from` captured, read out whole, with its commitment signed by it. */
export async function snapshotOf(from: Member, offer: ApplyResult["snapshots"][number]) {
  let bytes = "0x";
  for (;;) {
    const chunk = await call(from.enclave, "snapshotChunk", {
      hash: offer.hash,
      offset: (bytes.length - 2) / 2,
    });
    bytes += chunk.bytes.slice(2);
    if ((bytes.length - 2) / 2 === chunk.total) break;
  }
  const signed = await call(from.enclave, "signSnapshot", { nonce: "1", hash: offer.hash });
  const commitment = {
    enclave: from.address,
    nonce: "1",
    stateDigest: signed.stateDigest,
    signature: signed.signature,
  };
  return { bytes: bytes as Hex, commitment };
}

/** A policy document admitting both apps, naming the upgrade v1 → v2 if `upgrade`. */
export const upgradeDocument = (version: bigint, upgrade: boolean) =>
  signPolicy(
    DOMAIN,
    {
      version,
      revocations: [],
      apps: [V1, V2],
      ...(upgrade ? { upgrade: UPGRADE } : {}),
    },
    DEV_POLICY_PRIVATE_KEYS,
  );

/**
 * The network before an upgrade: A and B (tally v1, in `dir`) in one group, `account`'s `add x 5`
 * applied at both.
 */
export async function v1Network(chain: TestChain, dir: string, account: LocalAccount) {
  const a = await chain.register(enclaveOn(join(dir, "a"), TALLY_V1));
  await chain.feed(a.enclave);
  await chain.commit(a); // genesis: a group of one
  const b = await chain.register(enclaveOn(join(dir, "b"), TALLY_V1));
  const feedAll = (...members: Member[]) => Promise.all(members.map((m) => chain.feed(m.enclave)));
  await feedAll(a, b);
  assert.ok(await chain.commit(a), "A adds B");
  await feedAll(a, b);
  await call(a.enclave, "submitCommand", { envelope: (await sealedAdd(account, a, 0n, "x", 5)).envelope });
  assert.equal(await chain.batch(a), 1);
  await feedAll(a, b);
  return { a, b, feedAll };
}
