// Reply envelopes from a host's side: everything it can do to a sealed receipt or answer — swap in
// another message's reply, change a byte, relabel its kind or domain, replay the message's refusal
// as its receipt, serve the previous format — is refused by name; sizes tell only the bucket.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { concatBytes } from "@noble/hashes/utils.js";
import type { Hex } from "viem";
import type { LedgerDomain } from "./digests.js";
import { ENVELOPE_OVERHEAD_BYTES, sealEnvelope } from "./envelope.js";
import { hpkeGenerateKeyPair } from "./hpke.js";
import { LENGTH_PREFIX_BYTES, PADDING_BUCKETS } from "./padding.js";
import {
  generateResponseKey,
  openReply,
  REPLY_HEADER_BYTES,
  REPLY_KIND,
  REPLY_MIN_BUCKET,
  REPLY_OVERHEAD_BYTES,
  type ReplyKind,
  sealReply,
} from "./reply-envelope.js";
import { WireError } from "./wire.js";

const domain: LedgerDomain = { chainId: 31337, contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const otherDomain: LedgerDomain = { ...domain, chainId: 1 };
const code = (expected: string) => (e: unknown) => e instanceof WireError && e.code === expected;
const digestOf = (byte: number): Hex => `0x${byte.toString(16).padStart(2, "0").repeat(32)}`;
const filled = (length: number, byte = 0x5a) => new Uint8Array(length).fill(byte);
const A = digestOf(0xaa);
const B = digestOf(0xbb);

function sealed(kind: ReplyKind, digest: Hex, responseKey: Uint8Array, plaintext = filled(40)) {
  return sealReply({ kind, domain, digest, responseKey, plaintext });
}

describe("reply envelopes", () => {
  it("open under the message's key, for its kind, domain and digest; sizes are a bucket", () => {
    const key = generateResponseKey();
    const reply = sealed("receipt", A, key);
    assert.deepEqual(openReply({ kind: "receipt", domain, digest: A, responseKey: key, envelope: reply }), {
      domain: { ...domain, contract: domain.contract.toLowerCase() },
      plaintext: filled(40),
    });
    assert.equal(reply.length, REPLY_OVERHEAD_BYTES + REPLY_MIN_BUCKET);
    assert.equal(
      sealed("receipt", A, key, filled(REPLY_MIN_BUCKET - LENGTH_PREFIX_BYTES)).length,
      reply.length,
    );
    const next = PADDING_BUCKETS[(PADDING_BUCKETS as readonly number[]).indexOf(REPLY_MIN_BUCKET) + 1]!;
    assert.equal(sealed("receipt", A, key, filled(REPLY_MIN_BUCKET)).length, REPLY_OVERHEAD_BYTES + next);
    // Each seal draws a fresh nonce: the same reply twice is two different byte strings.
    assert.notDeepEqual(sealed("receipt", A, key), reply);
  });

  it("another message's reply does not open, even under the same key: undecryptable", () => {
    const key = generateResponseKey();
    const forB = sealed("receipt", B, key);
    assert.throws(
      () => openReply({ kind: "receipt", domain, digest: A, responseKey: key, envelope: forB }),
      code("undecryptable"),
    );
    // Another command's receipt, under its own key.
    const other = sealed("receipt", A, generateResponseKey());
    assert.throws(
      () => openReply({ kind: "receipt", domain, digest: A, responseKey: key, envelope: other }),
      code("undecryptable"),
    );
  });

  it("a modified byte anywhere is refused: the header by name, the rest undecryptable", () => {
    const key = generateResponseKey();
    const reply = sealed("receipt", A, key);
    const open = (envelope: Uint8Array) =>
      openReply({ kind: "receipt", domain, digest: A, responseKey: key, envelope });
    const flipped = (at: number, to?: number) => {
      const copy = reply.slice();
      copy[at] = to ?? copy[at]! ^ 1;
      return copy;
    };
    assert.throws(() => open(flipped(0)), code("unsupported_version"));
    assert.throws(() => open(flipped(1, REPLY_KIND.queryAnswer)), code("wrong_kind"));
    assert.throws(() => open(flipped(2 + 7)), code("wrong_domain"), "the chain id's last byte");
    // Without an expected domain the header's is taken, but it is authenticated all the same.
    assert.throws(
      () => openReply({ kind: "receipt", digest: A, responseKey: key, envelope: flipped(2 + 7) }),
      code("undecryptable"),
    );
    for (const at of [REPLY_HEADER_BYTES - 1, REPLY_HEADER_BYTES, reply.length - 1])
      assert.throws(() => open(flipped(at)), code("undecryptable"), `byte ${at}`);
    assert.throws(() => open(concatBytes(reply, new Uint8Array(1))), code("malformed"));
    assert.throws(() => open(reply.subarray(0, reply.length - 1)), code("malformed"));
  });

  it("a kind relabelled in the clear header does not open as the other kind", () => {
    const key = generateResponseKey();
    const refusal = sealed("commandRefusal", A, key);
    const relabelled = refusal.slice();
    relabelled[1] = REPLY_KIND.receipt;
    assert.throws(
      () => openReply({ kind: "receipt", domain, digest: A, responseKey: key, envelope: refusal }),
      code("wrong_kind"),
    );
    assert.throws(
      () => openReply({ kind: "receipt", domain, digest: A, responseKey: key, envelope: relabelled }),
      code("undecryptable"),
    );
  });

  it("a reply of the previous format (an HPKE envelope, v2) is refused by version", async () => {
    const { publicKey } = await hpkeGenerateKeyPair();
    const v2 = await sealEnvelope({
      kind: "command",
      domain,
      recipientPublicKey: publicKey,
      plaintext: filled(40),
    });
    const asV2Receipt = v2.slice();
    asV2Receipt[1] = REPLY_KIND.receipt;
    assert.equal(v2.length, ENVELOPE_OVERHEAD_BYTES + 512);
    assert.throws(
      () =>
        openReply({
          kind: "receipt",
          domain,
          digest: A,
          responseKey: generateResponseKey(),
          envelope: asV2Receipt,
        }),
      (e: unknown) => code("unsupported_version")(e) && /version 2, not 3/.test((e as Error).message),
    );
  });

  it("a reply for another chain or contract is refused before decrypting", () => {
    const key = generateResponseKey();
    const elsewhere = sealReply({
      kind: "receipt",
      domain: otherDomain,
      digest: A,
      responseKey: key,
      plaintext: filled(1),
    });
    assert.throws(
      () => openReply({ kind: "receipt", domain, digest: A, responseKey: key, envelope: elsewhere }),
      code("wrong_domain"),
    );
  });
});
