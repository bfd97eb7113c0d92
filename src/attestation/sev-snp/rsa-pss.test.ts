// RSASSA-PSS (AMD's parameters) in portable code, against AMD's real certificates and against
// OpenSSL (node:crypto) signing with the same and with other parameters.
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { describe, test } from "node:test";
import { children, readSingle, Tag } from "../dcap/der.js";
import { parseCertificate, parseRootPem } from "../dcap/pki.js";
import { AMD_ARKS } from "./amd-roots.js";
import { isAmdRsaPss, readRsaPublicKey, verifyRsaPss } from "./rsa-pss.js";
import { fixtureText, pemToDers } from "./test-fixtures.js";

const algorithmOf = (der: Uint8Array) => children(readSingle(der, Tag.sequence))[1]!;

describe("RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48", () => {
  test("each pinned ARK verifies its own signature; a flipped bit of the signed part does not", () => {
    for (const ark of AMD_ARKS) {
      const cert = parseRootPem(ark.pem, ark.product);
      const key = readRsaPublicKey(cert.spki);
      assert.ok(key, `ARK-${ark.product} has an RSA key`);
      assert.equal(key.bits, 4096);
      assert.equal(key.e, 65537n);
      assert.ok(isAmdRsaPss(algorithmOf(cert.der)), "explicit trailer field 1 is read");
      assert.ok(verifyRsaPss(key, cert.tbs, cert.signature!), `ARK-${ark.product}`);
      const tampered = cert.tbs.slice();
      tampered[100] = tampered[100]! ^ 0x01;
      assert.equal(verifyRsaPss(key, tampered, cert.signature!), false);
    }
  });

  test("the Turin VCEK (trailer field left out) verifies with its ASK's key", () => {
    const [vcek, ask] = pemToDers(fixtureText("turin-v5-vcek-chain.pem"));
    const vcekCert = parseCertificate(vcek!, "vcek");
    const askKey = readRsaPublicKey(parseCertificate(ask!, "ask").spki)!;
    assert.ok(isAmdRsaPss(algorithmOf(vcek!)));
    assert.ok(verifyRsaPss(askKey, vcekCert.tbs, vcekCert.signature!));
    assert.equal(readRsaPublicKey(vcekCert.spki), undefined, "a P-384 key is no RSA key");
  });

  test("agrees with OpenSSL: its signatures verify; another salt length, hash or key does not", () => {
    // RSA-2048 keys (AMD's RSA-4096 are covered by the real certificates above): generating 4096-bit
    // keys costs seconds.
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
    const key = readRsaPublicKey(spki)!;
    const message = new TextEncoder().encode("an SEV-SNP certificate's signed part");
    const signWith = (hash: string, saltLength: number) =>
      new Uint8Array(
        sign(hash, message, { key: privateKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength }),
      );
    for (let i = 0; i < 4; i++)
      assert.ok(verifyRsaPss(key, message, signWith("sha384", 48)), "fresh salt each time");
    assert.equal(verifyRsaPss(key, message, signWith("sha384", 32)), false, "salt 32");
    assert.equal(verifyRsaPss(key, message, signWith("sha256", 48)), false, "SHA-256");
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
    const otherKey = readRsaPublicKey(new Uint8Array(other.export({ type: "spki", format: "der" })))!;
    assert.equal(verifyRsaPss(otherKey, message, signWith("sha384", 48)), false, "another key");
    const good = signWith("sha384", 48);
    assert.equal(verifyRsaPss(key, message, good.subarray(1)), false, "a signature one byte short");
    const big = new Uint8Array(good.length).fill(0xff);
    assert.equal(verifyRsaPss(key, message, big), false, "a signature not below the modulus");
  });

  test("other signature algorithms and parameters are not AMD's", () => {
    const ecdsa = Uint8Array.from([0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03]);
    assert.equal(isAmdRsaPss(readSingle(ecdsa, Tag.sequence)), false, "ecdsa-with-SHA384");
    const [, ask] = pemToDers(fixtureText("milan-ask-ark.pem"));
    const algorithm = algorithmOf(ask!).bytes.slice();
    // The salt length is the last INTEGER before the trailer: 0x30 (48) -> 0x20 (32).
    const salt = algorithm.findLastIndex(
      (b, i) => b === 0x30 && algorithm[i - 1] === 0x01 && algorithm[i - 2] === 0x02,
    );
    algorithm[salt] = 0x20;
    assert.equal(isAmdRsaPss(readSingle(algorithm, Tag.sequence)), false, "salt 32");
  });
});
