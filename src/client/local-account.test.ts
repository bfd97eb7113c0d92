import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { bytesToHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { localAccount } from "./local-account.js";

describe("localAccount", () => {
  it("signs a digest to the same bytes as viem's account, and is that account otherwise", async () => {
    for (let i = 0; i < 50; i++) {
      const key = generatePrivateKey();
      const hash = bytesToHex(randomBytes(32));
      const ours = localAccount(key);
      const viems = privateKeyToAccount(key);
      assert.equal(await ours.sign!({ hash }), await viems.sign({ hash }));
      assert.equal(ours.address, viems.address);
      assert.equal(ours.publicKey, viems.publicKey);
      assert.equal(await ours.signMessage({ message: "hi" }), await viems.signMessage({ message: "hi" }));
    }
  });
});
