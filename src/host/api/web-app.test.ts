import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Fastify from "fastify";
import { parseNetworkProfile } from "../../client/network-profile-format.js";
import { registerWebApp, webBundleDigest } from "./web-app.js";

const PROFILE = {
  chainId: 31337,
  contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  deployedAtBlock: 7n,
  rpcUrl: "http://127.0.0.1:8545",
} as const;

describe("what a node serves to browsers", () => {
  const webRoot = mkdtempSync(join(tmpdir(), "anonify-web-"));
  writeFileSync(join(webRoot, "index.html"), "<!doctype html><title>wallet</title>");
  after(() => rmSync(webRoot, { recursive: true, force: true }));

  const served = (root: string | undefined) => {
    const app = Fastify();
    app.get("/v1/status", async () => ({ ok: true }));
    app.post("/v1/commands", async () => ({ ok: true }));
    app.post("/v1/group/rotate", async () => ({ ok: true }));
    app.post("/v1/group/leave", async () => ({ ok: true }));
    registerWebApp(app, { profile: PROFILE, webRoot: root });
    return app;
  };

  test("the page at /, only its own scripts allowed", async () => {
    const res = await served(webRoot).inject({ method: "GET", url: "/" });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /<title>wallet<\/title>/);
    assert.match(String(res.headers["content-security-policy"]), /script-src 'self'/);
  });

  test("a network hint that reads back as a profile", async () => {
    const res = await served(webRoot).inject({ method: "GET", url: "/v1/network" });
    assert.deepEqual(parseNetworkProfile(res.json(), "hint"), PROFILE);
  });

  test("CORS on what a wallet uses (public reads, signed and sealed commands and queries), never on admin routes", async () => {
    const app = served(webRoot);
    const origin = { origin: "http://wallet.example" };
    for (const url of ["/v1/status", "/v1/network"]) {
      const res = await app.inject({ method: "GET", url, headers: origin });
      assert.equal(res.headers["access-control-allow-origin"], "*", url);
    }
    const post = await app.inject({ method: "POST", url: "/v1/commands", headers: origin });
    assert.equal(post.headers["access-control-allow-origin"], "*");
    // A browser asks first for a JSON POST: the preflight names the method and the header it may send.
    const preflight = (url: string) =>
      app.inject({
        method: "OPTIONS",
        url,
        headers: {
          ...origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
    const allowed = await preflight("/v1/commands?wait=1000");
    assert.equal(allowed.statusCode, 204);
    assert.equal(allowed.headers["access-control-allow-origin"], "*");
    assert.match(String(allowed.headers["access-control-allow-headers"]), /content-type/);
    assert.equal(allowed.headers["access-control-allow-credentials"], undefined, "never credentials");
    for (const admin of ["/v1/group/rotate", "/v1/group/leave"]) {
      const refused = await preflight(admin);
      assert.equal(refused.headers["access-control-allow-origin"], undefined, admin);
    }
  });

  test("the page's content address changes with any byte or name of it", () => {
    const root = mkdtempSync(join(tmpdir(), "anonify-web-digest-"));
    try {
      writeFileSync(join(root, "index.html"), "<!doctype html><title>wallet</title>");
      mkdirSync(join(root, "assets"));
      writeFileSync(join(root, "assets", "main.js"), "console.log(1)");
      const released = webBundleDigest(root);
      assert.match(released, /^[0-9a-f]{64}$/);
      assert.equal(webBundleDigest(root), released, "the same files, the same address");
      writeFileSync(join(root, "assets", "main.js"), "console.log(2)");
      assert.notEqual(webBundleDigest(root), released, "an altered script");
      writeFileSync(join(root, "assets", "main.js"), "console.log(1)");
      renameSync(join(root, "assets", "main.js"), join(root, "assets", "other.js"));
      assert.notEqual(webBundleDigest(root), released, "a renamed file");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("no page built: / says how to build it", async () => {
    const app = Fastify();
    registerWebApp(app, { profile: PROFILE, webRoot: join(webRoot, "missing") });
    const res = await app.inject({ method: "GET", url: "/" });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, "web_not_built");
  });
});
