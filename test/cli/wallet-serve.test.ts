// `anonify wallet serve`: the page from the user's own install, with the profile the user pinned.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type NetworkProfile,
  parseNetworkProfile,
  writeNetworkProfile,
} from "../../src/client/network-profile.js";
import { type ChildCommand, startChildCommand } from "../../src/devnet/child-command.js";
import { findWebRoot, webBundleDigest } from "../../src/host/api/web-app.js";
import { anonify, CLI } from "../operators/operator-net.js";

const PROFILE: NetworkProfile = {
  chainId: 11155111,
  contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  deployedAtBlock: 42n,
  rpcUrl: "https://rpc.example/",
};
const NODE = "http://node.example:8080/";

describe("anonify wallet serve", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-wallet-serve-"));
  const profilePath = join(dir, "network.json");
  let served: ChildCommand<{
    ok: boolean;
    url: string;
    chainId: number;
    contract: string;
    webDigest: string;
  }>;
  before(async () => {
    writeNetworkProfile(profilePath, PROFILE);
    served = await startChildCommand(CLI, [
      ...["wallet", "serve", "--network", profilePath, "--node", NODE, "--port", "0", "--json"],
    ]);
  });
  after(async () => {
    await served?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("serves the built page on this machine, with the user's own profile, and names the node in the URL", async () => {
    const url = new URL(served.ready.url);
    assert.equal(url.hostname, "127.0.0.1");
    assert.equal(url.searchParams.get("node"), NODE);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    assert.match(await page.text(), /<script type="module"/);
    const pinned = await fetch(new URL("/network.json", url));
    assert.deepEqual(parseNetworkProfile(await pinned.json(), "served"), PROFILE);
    // The page's content address, as the build computes it: what a release publishes.
    assert.equal(served.ready.webDigest, webBundleDigest(findWebRoot()!));
    assert.match(served.ready.webDigest, /^[0-9a-f]{64}$/);
  });

  test("asked by another name (a DNS rebinding: a site whose name points here), it answers nothing", async () => {
    const url = new URL(served.ready.url);
    const asked = (host: string) =>
      new Promise<number>((resolve, reject) =>
        request({ host: url.hostname, port: url.port, path: "/network.json", headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on("error", reject)
          .end(),
      );
    assert.equal(await asked(`evil.example:${url.port}`), 421);
    assert.equal(await asked(`127.0.0.1:${url.port}`), 200);
    assert.equal(await asked(`localhost:${url.port}`), 200);
  });

  test("a missing profile or a bad node URL is refused with what to fix", async () => {
    await assert.rejects(
      anonify("wallet", "serve", "--network", join(dir, "none.json")),
      (e: { stderr?: string }) => {
        assert.match(String(e.stderr), /rejected \(.*\): .*none\.json/);
        return true;
      },
    );
    await assert.rejects(
      anonify("wallet", "serve", "--network", profilePath, "--node", "file:///etc/passwd"),
      (e: { stderr?: string }) => {
        assert.match(String(e.stderr), /rejected \(bad_flag\): --node must be an http\(s\) URL/);
        return true;
      },
    );
  });
});
