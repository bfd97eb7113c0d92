import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { x25519 } from "@noble/curves/ed25519.js";
import { HpkeError, hpkeGenerateKeyPair, hpkeOpen, hpkeRecipient, hpkeSeal } from "./hpke.js";

// @hpke/core (an RFC 9180 implementation tested against the RFC's vectors) is the reference here.
const reference = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes128Gcm(),
});
const info = new TextEncoder().encode("anonify test info");
const message = new TextEncoder().encode("a signed command, say");

function keyPair() {
  const privateKey = x25519.utils.randomSecretKey();
  return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
}

describe("HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM", () => {
  it("what we seal, @hpke/core opens", async () => {
    const r = keyPair();
    const { enc, ciphertext } = await hpkeSeal(r.publicKey, info, message);
    const recipientKey = await reference.kem.deserializePrivateKey(r.privateKey);
    const opened = await reference.open({ recipientKey, enc: enc.buffer as ArrayBuffer, info }, ciphertext);
    assert.deepEqual(new Uint8Array(opened), message);
  });

  it("what @hpke/core seals, we open", async () => {
    const r = keyPair();
    const sealed = await reference.seal(
      { recipientPublicKey: await reference.kem.deserializePublicKey(r.publicKey), info },
      message,
    );
    const opened = await hpkeOpen(
      await hpkeRecipient(r.privateKey),
      new Uint8Array(sealed.enc),
      info,
      new Uint8Array(sealed.ct),
    );
    assert.deepEqual(opened, message);
  });

  it("a generated pair is a real X25519 pair, and its kept key opens as an imported one does", async () => {
    const generated = await hpkeGenerateKeyPair();
    assert.deepEqual(x25519.getPublicKey(generated.privateKey), generated.publicKey);
    const sealed = await reference.seal(
      { recipientPublicKey: await reference.kem.deserializePublicKey(generated.publicKey), info },
      message,
    );
    const enc = new Uint8Array(sealed.enc);
    const ct = new Uint8Array(sealed.ct);
    assert.deepEqual(await hpkeOpen(generated.recipient, enc, info, ct), message);
    const imported = await hpkeRecipient(generated.privateKey);
    assert.deepEqual(imported.publicKey, generated.publicKey);
    assert.deepEqual(await hpkeOpen(imported, enc, info, ct), message);
  });

  it("refuses another key, other info, a tampered ciphertext or enc, and a low-order key", async () => {
    const r = keyPair();
    const recipient = await hpkeRecipient(r.privateKey);
    assert.deepEqual(recipient.publicKey, r.publicKey);
    const { enc, ciphertext } = await hpkeSeal(r.publicKey, info, message);
    await assert.rejects(
      hpkeOpen(await hpkeRecipient(keyPair().privateKey), enc, info, ciphertext),
      HpkeError,
    );
    await assert.rejects(hpkeOpen(recipient, enc, new Uint8Array([1]), ciphertext), HpkeError);
    const flipped = ciphertext.slice();
    flipped[0]! ^= 1;
    await assert.rejects(hpkeOpen(recipient, enc, info, flipped), HpkeError);
    const otherEnc = enc.slice();
    otherEnc[5]! ^= 1;
    await assert.rejects(hpkeOpen(recipient, otherEnc, info, ciphertext), HpkeError);
    await assert.rejects(hpkeSeal(new Uint8Array(32), info, message), HpkeError); // the zero point has low order
    await assert.rejects(hpkeSeal(new Uint8Array(31), info, message), HpkeError);
  });
});
