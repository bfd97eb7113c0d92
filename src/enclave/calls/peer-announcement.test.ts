// The enclave signs its node's peer URL for its record nonce, and nothing that is not a URL a peer
// could use: the signature is what lets the contract refuse anyone else's announcement for it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { peerDigest } from "../../protocol/digests.js";
import { MAX_PEER_URL_BYTES } from "../../protocol/peer-url.js";
import { recoverSigner } from "../../protocol/signatures.js";
import { call, DOMAIN, enclaveOn, refusedWith } from "../test-harness.js";

describe("signPeerAnnouncement (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-peer-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("signs the URL for the record nonce the host names, as the contract recovers it", async () => {
    const enclave = enclaveOn(dir);
    const { address } = await call(enclave, "init", DOMAIN);
    const url = "https://node-1.example:8443/";
    const { signature } = await call(enclave, "signPeerAnnouncement", { nonce: "4", url });
    assert.equal(recoverSigner(peerDigest(DOMAIN, 4n, url), signature).toLowerCase(), address.toLowerCase());
    // Another URL or nonce is another digest: a host cannot reuse the signature for either.
    assert.notEqual(
      recoverSigner(peerDigest(DOMAIN, 4n, "https://evil.example/"), signature).toLowerCase(),
      address.toLowerCase(),
    );
    assert.notEqual(
      recoverSigner(peerDigest(DOMAIN, 5n, url), signature).toLowerCase(),
      address.toLowerCase(),
    );
  });

  it("refuses what no peer could use, and any other spelling than the one compared on chain", async () => {
    const enclave = enclaveOn(dir);
    await refusedWith(
      call(enclave, "signPeerAnnouncement", { nonce: "0", url: "https://a.example/" }),
      "not_initialized",
    );
    await call(enclave, "init", DOMAIN);
    const refused = async (url: string, reason: RegExp) => {
      const error = await refusedWith(
        call(enclave, "signPeerAnnouncement", { nonce: "0", url }),
        "invalid_argument",
      );
      assert.match(error.message, reason, url);
    };
    await refused("ftp://a.example/", /http\(s\)/);
    await refused("https://user:secret@a.example/", /credentials/);
    await refused("https://a.example/?token=1", /query/);
    await refused("https://a.example/api/", /without a path/);
    await refused("not a url", /not a URL/);
    await refused("https://A.example:443", /spelled as https:\/\/a\.example\//);
    await refused(`https://${"a".repeat(MAX_PEER_URL_BYTES)}.example/`, /characters|bytes/);
  });
});
