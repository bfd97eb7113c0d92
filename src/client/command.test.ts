import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { x25519 } from "@noble/curves/ed25519.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToHex, hashTypedData, hexToBytes, type LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { LedgerDomain } from "../protocol/digests.js";
import {
  COMMAND_TYPES,
  commandDigest,
  QUERY_TYPES,
  responseKeyHash,
  typedCommand,
  typedQuery,
} from "../protocol/eip712.js";
import { encodeSignedCommand } from "../protocol/wire.js";
import { EIP712_DOMAIN, sealCommand, signCommand, signQuery, WireError } from "./command.js";

const domain: LedgerDomain = { chainId: 31337, contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
const account = privateKeyToAccount(generatePrivateKey());
const to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("signCommand", () => {
  it("signs standard EIP-712 typed data that any wallet tool can check", async () => {
    const { signed, digest } = await signCommand(account, domain, {
      app: "erc20",
      command: "transfer",
      params: { to, amount: 10n ** 20n },
      nonce: 3n,
    });
    assert.equal(signed.params, `{"amount":"100000000000000000000","to":"${to}"}`);
    const { domain: _, signerKey, signature, ...message } = signed;
    const viemDigest = hashTypedData({
      domain: EIP712_DOMAIN(domain.chainId, domain.contract),
      types: COMMAND_TYPES,
      primaryType: "Command",
      message: typedCommand(message),
    });
    assert.equal(digest, viemDigest);
    assert.ok(
      secp256k1.verify(hexToBytes(signature), hexToBytes(digest), hexToBytes(signerKey), { prehash: false }),
    );
    const full = secp256k1.Point.fromBytes(hexToBytes(account.publicKey)).toBytes(true);
    assert.equal(signerKey, bytesToHex(full));
  });

  it("a wallet that signs only typed data gives a signature the enclave accepts", async () => {
    let typedSignatures = 0;
    const { sign: _, ...keyless } = account;
    const wallet: LocalAccount = {
      ...keyless,
      signTypedData: (typedData) => {
        typedSignatures++;
        return account.signTypedData(typedData);
      },
    };
    const request = { app: "erc20", command: "transfer", params: { to, amount: 1 }, nonce: 0n };
    const { signed, digest } = await signCommand(wallet, domain, request);
    assert.equal(typedSignatures, 1);
    assert.ok(
      secp256k1.verify(hexToBytes(signed.signature), hexToBytes(digest), hexToBytes(signed.signerKey), {
        prehash: false,
      }),
    );
    // A local key signs the digest it was given, without the typed-data path.
    await signCommand({ ...account, signTypedData: wallet.signTypedData }, domain, request);
    assert.equal(typedSignatures, 1);
  });

  it("makes a fresh response key per command, carries it, and signs only its commitment", async () => {
    const request = { app: "erc20", command: "burn", params: { amount: 1 }, nonce: 0n };
    const a = await signCommand(account, domain, request);
    const b = await signCommand(account, domain, request);
    assert.notEqual(a.signed.responseKey, b.signed.responseKey);
    assert.equal(bytesToHex(a.responseKey), a.signed.responseKey);
    // What a wallet is shown holds no secret: the key's commitment, not the key.
    const typed = typedCommand(a.signed);
    assert.equal("responseKey" in typed, false);
    assert.equal(typed.responseKeyHash, bytesToHex(responseKeyHash(a.signed.responseKey)));
    // Another key is another command: the signature does not cover a swapped key.
    assert.notEqual(
      bytesToHex(commandDigest(domain, { ...a.signed, responseKey: b.signed.responseKey })),
      a.digest,
    );
  });

  it("refuses what the enclave could not read", async () => {
    const base = { app: "erc20", command: "burn", params: {}, nonce: 0n };
    await assert.rejects(signCommand(account, domain, { ...base, command: "not a name" }), WireError);
    await assert.rejects(signCommand(account, domain, { ...base, params: [] as never }), /JSON object/);
    await assert.rejects(signCommand(account, domain, { ...base, params: { x: undefined } }), WireError);
    await assert.rejects(
      signCommand(account, domain, { ...base, params: { big: "x".repeat(20_000) } }),
      /params exceed/,
    );
    await assert.rejects(signCommand(account, domain, { ...base, nonce: -1n }), WireError);
  });

  it("seals to a 32-byte X25519 key only", async () => {
    const params = { memo: "a distinctive plaintext marker" };
    const { signed } = await signCommand(account, domain, {
      app: "erc20",
      command: "burn",
      params,
      nonce: 0n,
    });
    await assert.rejects(sealCommand(signed, "0x1234"), WireError);
    const envelope = await sealCommand(
      signed,
      bytesToHex(x25519.getPublicKey(x25519.utils.randomSecretKey())),
    );
    assert.ok(!Buffer.from(envelope).includes(Buffer.from(params.memo)), "the params are not visible");
  });
});

describe("signQuery", () => {
  it("signs the Query struct with a signing time", async () => {
    const before = BigInt(Math.floor(Date.now() / 1000));
    const { signed, digest } = await signQuery(account, domain, {
      app: "erc20",
      query: "balanceOf",
      params: {},
    });
    assert.ok(signed.issuedAt >= before && signed.issuedAt <= before + 5n);
    const { domain: _, signerKey, signature, ...message } = signed;
    const viemDigest = hashTypedData({
      domain: EIP712_DOMAIN(domain.chainId, domain.contract),
      types: QUERY_TYPES,
      primaryType: "Query",
      message: typedQuery(message),
    });
    assert.equal(digest, viemDigest);
    assert.ok(
      secp256k1.verify(hexToBytes(signature), hexToBytes(digest), hexToBytes(signerKey), { prehash: false }),
    );
  });
});

describe("sealCommand", () => {
  it("seals commands of different kinds and amounts to one envelope size", async () => {
    const enclave = bytesToHex(x25519.getPublicKey(x25519.utils.randomSecretKey()));
    const sealedSize = async (command: string, params: Record<string, unknown>, nonce: bigint) =>
      (
        await sealCommand(
          (
            await signCommand(account, domain, { app: "erc20", command, params, nonce })
          ).signed,
          enclave,
        )
      ).length;
    const sizes = [
      await sealedSize("transfer", { to, amount: 1n }, 1n),
      await sealedSize("approve", { spender: to, amount: 10n ** 30n }, 123_456n),
      await sealedSize("construct", { totalSupply: 1000n }, 0n),
      await sealedSize("transferFrom", { from: to, to: account.address, amount: 10n ** 18n }, 2n),
    ];
    assert.deepEqual(new Set(sizes).size, 1, `sizes ${sizes.join(", ")}`);
    // The signed bytes themselves differ: the padding is what makes the envelopes equal.
    const signedLength = async (command: string, params: Record<string, unknown>) =>
      encodeSignedCommand(
        (await signCommand(account, domain, { app: "erc20", command, params, nonce: 0n })).signed,
      ).length;
    assert.notEqual(
      await signedLength("transfer", { to, amount: 1n }),
      await signedLength("approve", { spender: to, amount: 10n ** 30n }),
    );
  });
});
