import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { x25519 } from "@noble/curves/ed25519.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { erc20 } from "../../apps/erc20/index.js";
import { applyCommand, runQuery, stateDigest } from "../app/executor.js";
import {
  openQueryResult,
  openReceipt,
  openRefusal,
  sealCommand,
  sealQuery,
  signCommand,
  signQuery,
} from "../client/command.js";
import { decodeBatch, encodeBatch, openBatch, sealBatch } from "../protocol/batch.js";
import type { LedgerDomain } from "../protocol/digests.js";
import type { SignedCommand } from "../protocol/eip712.js";
import { ENVELOPE_HEADER_BYTES, MAX_SEALED_MESSAGE_BYTES, sealEnvelope } from "../protocol/envelope.js";
import type { BatchRef, LedgerPoint } from "../protocol/receipts.js";
import { generateResponseKey, REPLY_MIN_BUCKET, REPLY_OVERHEAD_BYTES } from "../protocol/reply-envelope.js";
import { encodeSignedCommand, WireError } from "../protocol/wire.js";
import { nonceRefusal } from "./confidential-ledger.js";
import { sealQueryAnswer, sealReceipt, sealRefusal } from "./replies.js";
import { SignatureCheck } from "./signature-check.js";
import {
  CommandRejected,
  checkQueryTime,
  MAX_QUERY_AGE_SECONDS,
  type OpenOptions,
  openCommand as openCommandWith,
  openQuery as openQueryWith,
  verifySignedCommand as verifySignedCommandWith,
} from "./signed-messages.js";

/** One enclave's signature checks, fresh for each test. */
let checks = new SignatureCheck();
type Options = Partial<OpenOptions>;
const openCommand = (key: Uint8Array, d: LedgerDomain, sealed: Uint8Array, options: Options = {}) =>
  openCommandWith(key, d, sealed, { ...options, signatures: checks });
const openQuery = (
  key: Uint8Array,
  d: LedgerDomain,
  sealed: Uint8Array,
  now: bigint,
  options: Options = {},
) => openQueryWith(key, d, sealed, now, { ...options, signatures: checks });
const verifySignedCommand = (d: LedgerDomain, encoded: Uint8Array, options: Options = {}) =>
  verifySignedCommandWith(d, encoded, { ...options, signatures: checks });
const verifyCommandSignature = (digest: Uint8Array, signature: Uint8Array, key: Uint8Array) =>
  checks.verify(digest, signature, key);
const signatureCacheStats = () => checks.stats;
/** The ledger's nonce rule, thrown. */
function checkNonce(expected: bigint, nonce: bigint): void {
  const refused = nonceRefusal(expected, nonce);
  if (refused) throw refused;
}

const domain: LedgerDomain = { chainId: 31337, contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const otherDomain: LedgerDomain = { chainId: 31337, contract: "0x0000000000000000000000000000000000000bad" };
const enclaveKey = x25519.utils.randomSecretKey();
const enclavePublic = bytesToHex(x25519.getPublicKey(enclaveKey));
const alice = privateKeyToAccount(generatePrivateKey());
const bob = privateKeyToAccount(generatePrivateKey());
const transfer = (nonce: bigint) => ({
  app: "erc20",
  command: "transfer",
  params: { to: bob.address, amount: 5n },
  nonce,
});

const rejected = (code: string) => (e: unknown) => e instanceof CommandRejected && e.code === code;
const code = (expected: string) => (e: unknown) => e instanceof WireError && e.code === expected;
/** Refused before opening: the code may cross the host in clear. */
const refusedEnvelope = (code: string) => (e: unknown) =>
  e instanceof CommandRejected && e.code === code && e.stage === "envelope" && e.replyTo === undefined;
/** Refused after opening, its reason to be sealed to the message's response key. */
const refusedContent = (code: string, responseKey: Hex) => (e: unknown) =>
  e instanceof CommandRejected &&
  e.code === code &&
  e.stage === "content" &&
  e.replyTo?.responseKey === responseKey;

async function sealed(signed: SignedCommand, key: Hex = enclavePublic): Promise<Uint8Array> {
  return sealCommand(signed, key);
}

beforeEach(() => {
  checks = new SignatureCheck();
});

describe("openCommand", () => {
  it("opens, verifies and returns what the user signed", async () => {
    const { signed, digest } = await signCommand(alice, domain, transfer(0n));
    const verified = await openCommand(enclaveKey, domain, await sealed(signed), { app: "erc20" });
    assert.equal(verified.sender, alice.address.toLowerCase());
    assert.equal(verified.name, "transfer");
    assert.deepEqual(verified.params, { amount: "5", to: bob.address });
    assert.equal(verified.nonce, 0n);
    assert.equal(verified.responseKey, signed.responseKey);
    assert.equal(verified.digest, digest);
    assert.deepEqual(verified.encoded, encodeSignedCommand(signed));
  });

  it("refuses a bad signature", async () => {
    const { signed } = await signCommand(alice, domain, transfer(0n));
    const sig = hexToBytes(signed.signature);
    sig[40]! ^= 1;
    await assert.rejects(
      openCommand(enclaveKey, domain, await sealed({ ...signed, signature: bytesToHex(sig) })),
      rejected("bad_signature"),
    );
    // Alice's signature presented as Bob's.
    const bobKey = bytesToHex(secp256k1.Point.fromBytes(hexToBytes(bob.publicKey)).toBytes(true));
    await assert.rejects(
      openCommand(enclaveKey, domain, await sealed({ ...signed, signerKey: bobKey })),
      rejected("bad_signature"),
    );
    // The params changed after signing.
    await assert.rejects(
      openCommand(enclaveKey, domain, await sealed({ ...signed, params: '{"amount":"6"}' })),
      rejected("bad_signature"),
    );
    // Not a point on the curve.
    const notAKey = bytesToHex(Uint8Array.of(2, ...new Uint8Array(32).fill(0xff)));
    await assert.rejects(
      openCommand(enclaveKey, domain, await sealed({ ...signed, signerKey: notAKey })),
      rejected("bad_signature"),
    );
  });

  it("refuses the high-s twin of a valid signature (no malleable copies)", async () => {
    const { signed } = await signCommand(alice, domain, transfer(0n));
    const { r, s } = secp256k1.Signature.fromBytes(hexToBytes(signed.signature), "compact");
    const twin = new secp256k1.Signature(r, secp256k1.Point.Fn.neg(s)).toBytes("compact");
    await assert.rejects(
      openCommand(enclaveKey, domain, await sealed({ ...signed, signature: bytesToHex(twin) })),
      rejected("bad_signature"),
    );
  });

  it("refuses a tampered envelope", async () => {
    const { signed } = await signCommand(alice, domain, transfer(0n));
    const envelope = await sealed(signed);
    const flip = (at: number) => {
      const copy = envelope.slice();
      copy[at]! ^= 1;
      return copy;
    };
    await assert.rejects(
      openCommand(enclaveKey, domain, flip(envelope.length - 1)),
      refusedEnvelope("undecryptable"),
    );
    await assert.rejects(
      openCommand(enclaveKey, domain, flip(ENVELOPE_HEADER_BYTES + 3)),
      rejected("undecryptable"),
    );
    await assert.rejects(
      openCommand(enclaveKey, domain, flip(ENVELOPE_HEADER_BYTES - 1)),
      rejected("undecryptable"),
    ); // enc
    await assert.rejects(openCommand(enclaveKey, domain, flip(0)), refusedEnvelope("unsupported_version"));
    await assert.rejects(openCommand(enclaveKey, domain, flip(1)), refusedEnvelope("wrong_kind"));
    await assert.rejects(openCommand(enclaveKey, domain, flip(12)), refusedEnvelope("wrong_domain")); // contract byte
    await assert.rejects(
      openCommand(enclaveKey, domain, envelope.subarray(0, 40)),
      refusedEnvelope("malformed"),
    );
    await assert.rejects(
      openCommand(enclaveKey, domain, envelope.subarray(0, -1)),
      refusedEnvelope("malformed"),
    );
    await assert.rejects(
      openCommand(enclaveKey, domain, new Uint8Array(MAX_SEALED_MESSAGE_BYTES + 1)),
      rejected("too_large"),
    );
  });

  it("refuses a command for another domain or app", async () => {
    const { signed } = await signCommand(alice, otherDomain, transfer(0n));
    await assert.rejects(openCommand(enclaveKey, domain, await sealed(signed)), rejected("wrong_domain"));
    // Sealed for this domain, but signed for the other one.
    const mixed = await sealEnvelope({
      kind: "command",
      domain,
      recipientPublicKey: hexToBytes(enclavePublic),
      plaintext: encodeSignedCommand(signed),
    });
    await assert.rejects(
      openCommand(enclaveKey, domain, mixed),
      refusedContent("wrong_domain", signed.responseKey),
    );
    const forNotes = await signCommand(alice, domain, { ...transfer(0n), app: "notes" });
    await assert.rejects(
      openCommand(enclaveKey, domain, await sealed(forNotes.signed), { app: "erc20" }),
      (e: unknown) =>
        refusedContent("wrong_app", forNotes.signed.responseKey)(e) &&
        // The sender learns which app this enclave runs, not only that theirs is not it.
        /^signed for app "notes"; this enclave runs "erc20"$/.test((e as CommandRejected).reason),
    );
  });

  it("refuses an envelope sealed to another enclave, or a query sealed as a command", async () => {
    const { signed } = await signCommand(alice, domain, transfer(0n));
    const stranger = bytesToHex(x25519.getPublicKey(x25519.utils.randomSecretKey()));
    await assert.rejects(
      openCommand(enclaveKey, domain, await sealed(signed, stranger)),
      rejected("undecryptable"),
    );
    const query = await signQuery(alice, domain, { app: "erc20", query: "balanceOf", params: {} });
    await assert.rejects(
      openCommand(enclaveKey, domain, await sealQuery(query.signed, enclavePublic)),
      rejected("wrong_kind"),
    );
  });
});

describe("checkNonce", () => {
  it("accepts exactly the next nonce, refusing replays and gaps", async () => {
    // What an enclave does per sender: the expected nonce is how many commands it has accepted.
    const accepted = new Map<string, bigint>();
    const admit = async (nonce: bigint) => {
      const { signed } = await signCommand(alice, domain, transfer(nonce));
      const command = await openCommand(enclaveKey, domain, await sealed(signed));
      checkNonce(accepted.get(command.sender) ?? 0n, command.nonce);
      accepted.set(command.sender, command.nonce + 1n);
    };
    await admit(0n);
    await assert.rejects(admit(0n), rejected("replayed_nonce"));
    await assert.rejects(admit(2n), rejected("nonce_gap")); // reordered: 2 before 1
    await admit(1n);
    await admit(2n);
    assert.throws(() => checkNonce(5n, 4n), rejected("replayed_nonce"));
    assert.throws(() => checkNonce(5n, 6n), rejected("nonce_gap"));
  });
});

describe("verifyCommandSignature", () => {
  it("accepts exactly the signatures @noble/curves accepts (low s over the digest, by the signer's key)", async () => {
    const key = generatePrivateKey();
    const account = privateKeyToAccount(key);
    const signerKey = secp256k1.Point.fromBytes(hexToBytes(account.publicKey)).toBytes(true);
    const address = account.address.toLowerCase();
    const sign = (digest: Uint8Array) => secp256k1.sign(digest, hexToBytes(key), { prehash: false });
    for (let i = 0; i < 20; i++) {
      const digest = crypto.getRandomValues(new Uint8Array(32));
      const signature = sign(digest);
      assert.equal(verifyCommandSignature(digest, signature, signerKey), address);
      const otherDigest = digest.slice();
      otherDigest[i]! ^= 1;
      assert.throws(
        () => verifyCommandSignature(otherDigest, signature, signerKey),
        rejected("bad_signature"),
      );
      const { r, s } = secp256k1.Signature.fromBytes(signature, "compact");
      const highS = new secp256k1.Signature(r, secp256k1.Point.Fn.neg(s)).toBytes("compact");
      assert.throws(() => verifyCommandSignature(digest, highS, signerKey), rejected("bad_signature"));
      assert.throws(
        () => verifyCommandSignature(digest, new Uint8Array(64), signerKey),
        rejected("bad_signature"),
      );
      const otherR = new secp256k1.Signature(r === 1n ? 2n : r - 1n, s).toBytes("compact");
      assert.throws(() => verifyCommandSignature(digest, otherR, signerKey), rejected("bad_signature"));
      assert.equal(secp256k1.verify(signature, digest, signerKey, { prehash: false }), true);
    }
  });

  it("remembers successes only", async () => {
    const { signed } = await signCommand(alice, domain, transfer(0n));
    const bytes = encodeSignedCommand(signed);
    verifySignedCommand(domain, bytes);
    const before = signatureCacheStats().verified;
    verifySignedCommand(domain, bytes); // the second check (batch apply) is a lookup
    assert.equal(signatureCacheStats().verified, before);
    assert.throws(
      () => verifyCommandSignature(new Uint8Array(32), new Uint8Array(64), new Uint8Array(33)),
      rejected("bad_signature"),
    );
    assert.equal(signatureCacheStats().verified, before);
  });
});

/** A batch as a receipt names it, with the widest values an ERC-20 receipt meets (uint64 index and block). */
const BATCH: BatchRef = {
  index: 2n ** 64n - 2n,
  block: 2n ** 64n - 2n,
  seq: 2n ** 64n - 2n,
  head: `0x${"cd".repeat(32)}`,
  digest: `0x${"ef".repeat(32)}`,
};
/** The command's randomness (the token reads none). */
const SEED = new Uint8Array(32);
const AT: LedgerPoint = { seq: BATCH.seq, head: BATCH.head, block: BATCH.block, digest: BATCH.digest };

describe("queries", () => {
  const now = 1_700_000_000n;

  it("open within their time window and answer only to the response key", async () => {
    const { signed, digest, responseKey } = await signQuery(alice, domain, {
      app: "erc20",
      query: "balanceOf",
      params: {},
      issuedAt: now - 10n,
    });
    const query = await openQuery(enclaveKey, domain, await sealQuery(signed, enclavePublic), now, {
      app: "erc20",
    });
    assert.equal(query.sender, alice.address.toLowerCase());
    assert.equal(query.digest, digest);
    const outcome = runQuery(erc20, erc20.initialState(), { ...query, timestamp: 0n });
    const answer = await sealQueryAnswer(
      query.responseKey,
      { query: query.digest, ...outcome, at: AT },
      domain,
    );
    assert.deepEqual(await openQueryResult(responseKey, answer, { domain, digest }), {
      query: digest,
      status: "ok",
      result: 0n,
      at: AT,
      domain: { ...domain, contract: domain.contract.toLowerCase() },
    });
    await assert.rejects(openQueryResult(generateResponseKey(), answer, { digest }), code("undecryptable"));
    await assert.rejects(openReceipt(responseKey, answer, { digest }), code("wrong_kind"));
  });

  it("refuse stale and future queries", async () => {
    const at = async (issuedAt: bigint) =>
      openQuery(
        enclaveKey,
        domain,
        await sealQuery(
          (await signQuery(alice, domain, { app: "erc20", query: "owner", params: {}, issuedAt })).signed,
          enclavePublic,
        ),
        now,
      );
    await assert.rejects(at(now - MAX_QUERY_AGE_SECONDS - 1n), rejected("stale_query"));
    await assert.rejects(at(now + 3600n), rejected("future_query"));
    assert.doesNotThrow(() => checkQueryTime(now - MAX_QUERY_AGE_SECONDS, now));
  });
});

describe("receipts", () => {
  it("seal to the response key and name their command", async () => {
    const { signed, digest, responseKey } = await signCommand(alice, domain, transfer(0n));
    const receipt = {
      command: digest,
      sequence: 3n,
      status: "failed" as const,
      reason: "transfer amount exceeds balance",
      batch: BATCH,
    };
    const sealedReceipt = await sealReceipt(signed.responseKey, receipt, domain);
    const opened = await openReceipt(responseKey, sealedReceipt, { domain, digest });
    assert.deepEqual({ ...opened, domain: undefined }, { ...receipt, domain: undefined });
    await assert.rejects(
      openReceipt(responseKey, sealedReceipt, { digest: `0x${"00".repeat(32)}` }),
      code("undecryptable"),
    );
    await assert.rejects(
      openReceipt(responseKey, sealedReceipt, { domain: otherDomain, digest }),
      code("wrong_domain"),
    );
  });

  it("seal to one size: applied with a result or failed with a long reason; answers of any result", async () => {
    const { signed, digest } = await signCommand(alice, domain, transfer(0n));
    const sizeOf = async (receipt: Omit<Parameters<typeof sealReceipt>[1], "command">) =>
      (await sealReceipt(signed.responseKey, { ...receipt, command: digest }, domain)).length;
    const applied = await sizeOf({
      sequence: 1n,
      status: "applied",
      result: { ok: true, balance: 7n },
      batch: BATCH,
    });
    const failed = await sizeOf({
      sequence: 123_456_789n,
      status: "failed",
      reason: "transfer amount exceeds balance: the sender holds less than the amount asked for",
      batch: BATCH,
    });
    const bare = await sizeOf({ sequence: 0n, status: "applied", batch: BATCH });
    // A refusal names no batch: it seals to the same size as an ordered receipt.
    const refusal = await sizeOf({ sequence: 2n ** 64n - 1n, status: "failed", reason: "nonce_gap: x" });
    assert.equal(applied, failed);
    assert.equal(applied, bare);
    assert.equal(applied, refusal);
    // The receipts' smallest bucket (1 KiB) holds them, the batch and state digest named included.
    assert.equal(applied, REPLY_OVERHEAD_BYTES + REPLY_MIN_BUCKET);
    // A reason past the bucket moves to the next one: the padding is what makes them equal.
    const long = await sizeOf({ sequence: 0n, status: "failed", reason: "x".repeat(600), batch: BATCH });
    assert.ok(long > applied);

    const query = await signQuery(alice, domain, { app: "erc20", query: "balanceOf", params: {} });
    const answer = async (outcome: Parameters<typeof sealQueryAnswer>[1]) =>
      (await sealQueryAnswer(query.signed.responseKey, outcome, domain)).length;
    const sizes = new Set([
      await answer({ query: query.digest, status: "ok", result: 0n, at: AT }),
      await answer({ query: query.digest, status: "ok", result: 10n ** 30n, at: AT }),
      await answer({ query: query.digest, status: "ok", result: 10n ** 77n, at: AT }),
      await answer({
        query: query.digest,
        status: "rejected",
        reason: "only the owner may read this balance",
      }),
    ]);
    assert.equal(sizes.size, 1);
    assert.deepEqual([...sizes], [REPLY_OVERHEAD_BYTES + REPLY_MIN_BUCKET]);
    const opened = await openQueryResult(
      query.responseKey,
      await sealQueryAnswer(
        query.signed.responseKey,
        { query: query.digest, status: "ok", result: 10n ** 30n, at: AT },
        domain,
      ),
      { domain, digest: query.digest },
    );
    assert.equal(opened.status === "ok" && opened.result, 10n ** 30n);
  });

  it("a refusal and a receipt under one key never open as one another, by name", async () => {
    const { signed, digest, responseKey } = await signCommand(alice, domain, transfer(0n));
    const replyTo = { responseKey: signed.responseKey, digest };
    const refusal = sealRefusal("command", new CommandRejected("nonce_gap", "ahead"), replyTo, domain);
    const receipt = sealReceipt(
      signed.responseKey,
      { command: digest, sequence: 0n, status: "applied", batch: BATCH },
      domain,
    );
    // A host answering a status with the command's earlier refusal (the same key), or the reverse.
    await assert.rejects(openReceipt(responseKey, refusal, { domain, digest }), code("wrong_kind"));
    await assert.rejects(
      openRefusal("command", responseKey, receipt, { domain, digest }),
      code("wrong_kind"),
    );
    assert.equal((await openRefusal("command", responseKey, refusal, { domain, digest })).code, "nonce_gap");
    const query = await signQuery(alice, domain, { app: "erc20", query: "balanceOf", params: {} });
    const rejected = sealRefusal(
      "query",
      new CommandRejected("stale_query", "old"),
      { responseKey: query.signed.responseKey, digest: query.digest },
      domain,
    );
    await assert.rejects(
      openQueryResult(query.responseKey, rejected, { domain, digest: query.digest }),
      code("wrong_kind"),
    );
  });
});

describe("the whole path: client → enclave A → batch → enclave B → receipt", () => {
  it("applies the same commands to the same state on every enclave, re-verifying each", async () => {
    const epochKey = crypto.getRandomValues(new Uint8Array(32));
    const signedCommands = [
      await signCommand(alice, domain, {
        app: "erc20",
        command: "construct",
        params: { totalSupply: 100n },
        nonce: 0n,
      }),
      await signCommand(alice, domain, transfer(1n)),
      await signCommand(bob, domain, {
        app: "erc20",
        command: "transfer",
        params: { to: alice.address, amount: 9n },
        nonce: 0n,
      }),
    ];
    // Enclave A admits each command and batches it.
    const nonces = new Map<string, bigint>();
    const admitted: Uint8Array[] = [];
    for (const { signed } of signedCommands) {
      const command = await openCommand(enclaveKey, domain, await sealCommand(signed, enclavePublic), {
        app: "erc20",
      });
      checkNonce(nonces.get(command.sender) ?? 0n, command.nonce);
      nonces.set(command.sender, command.nonce + 1n);
      admitted.push(command.encoded);
    }
    const ciphertext = sealBatch({ epochKey, epoch: 1n, domain, plaintext: encodeBatch(admitted) });

    // Each enclave applies the batch from scratch, with no cache of A's checks.
    const apply = async () => {
      checks = new SignatureCheck(); // another enclave: its own checks
      const applied = new Map<string, bigint>();
      let state = erc20.initialState();
      const receipts: Uint8Array[] = [];
      const commands = decodeBatch(openBatch({ epochKey, epoch: 1n, domain, ciphertext }));
      for (const [i, bytes] of commands.entries()) {
        const command = verifySignedCommand(domain, bytes, { app: "erc20" });
        checkNonce(applied.get(command.sender) ?? 0n, command.nonce);
        applied.set(command.sender, command.nonce + 1n);
        const sequence = 10n + BigInt(i);
        const result = applyCommand(erc20, state, { ...command, sequence, timestamp: 0n, seed: SEED });
        state = result.state;
        receipts.push(
          await sealReceipt(
            command.responseKey,
            { command: command.digest, ...result.receipt, batch: BATCH },
            domain,
          ),
        );
      }
      return { state, receipts };
    };
    const b = await apply();
    const c = await apply();
    assert.equal(stateDigest(b.state), stateDigest(c.state));
    assert.equal(b.state.balances.get(bob.address.toLowerCase() as Hex), 5n);

    const outcomes = await Promise.all(
      signedCommands.map(({ responseKey, digest }, i) =>
        openReceipt(responseKey, b.receipts[i]!, { domain, digest }),
      ),
    );
    assert.deepEqual(
      outcomes.map((r) => [r.sequence, r.status, r.reason]),
      [
        [10n, "applied", undefined],
        [11n, "applied", undefined],
        [12n, "failed", "transfer amount exceeds balance"],
      ],
    );
  });
});
