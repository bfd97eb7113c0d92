// The app is part of the group's identity (in process): an enclave built with another app, under the
// group's very measurement, is never admitted, unless a signed policy names its app as an upgrade;
// and then, since its state is another app's, the first batch that names a state after it joined
// stops it loudly rather than letting it go its own way.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { APPS } from "../../../apps/index.js";
import type { App } from "../../app/app.js";
import type { StateValue } from "../../app/canonical.js";
import { signPolicy } from "../../operator/policy.js";
import { DEV_POLICY_PRIVATE_KEYS } from "../../protocol/dev-policy-keys.js";
import { TestChain } from "../test-chain.js";
import { appIdIn, call, DOMAIN, enclaveOn, sealedErc20Command } from "../test-harness.js";

/** Another app from the same tree: the token's rules under another name (an auction, say). */
const auction: App<StateValue> = { ...APPS.erc20, name: "auction" };

describe("the app is part of the group's identity (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-app-identity-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("another app is refused for its measurement alone; a policy naming it admits it, and the first batch stops it", async () => {
    const chain = new TestChain();
    const a = await chain.register(enclaveOn(join(dir, "a")));
    await chain.feed(a.enclave);
    assert.equal(await chain.commit(a), false, "genesis: a group of one");
    const b = await chain.register(enclaveOn(join(dir, "b"), auction));
    const { app } = await call(b.enclave, "status", {});
    assert.equal(app.name, "auction");
    assert.equal(app.id, appIdIn(auction));
    assert.notEqual(app.id, appIdIn(), "another app, another id");

    // Same measurement, same platform, genuine evidence: refused for its app, and A says so (B itself
    // can only wait as not_member: a rolling upgrade whose new build changed the app stalled there
    // with no word of why).
    const [toA] = await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
    assert.equal(await chain.commit(a), false, "A proposes no add of B");
    assert.deepEqual(toA!.group.members, [a.address.toLowerCase()]);
    const { group: declining } = await call(a.enclave, "groupStatus", {});
    assert.deepEqual(
      declining.declined.map((d) => d.enclave),
      [b.address.toLowerCase()],
    );
    assert.match(declining.declined[0]!.reason, new RegExp(`app ${app.id} is not this group's app`));

    // The policy signers name both apps (each side admits the other, as for measurements): A adds B.
    const upgrade = await signPolicy(
      DOMAIN,
      { version: 1n, revocations: [], apps: [appIdIn(), app.id] },
      DEV_POLICY_PRIVATE_KEYS,
    );
    chain.push({ kind: "PolicyPublished", ...upgrade });
    await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
    assert.ok(await chain.commit(a), "A adds B");
    assert.deepEqual((await call(a.enclave, "groupStatus", {})).group.declined, [], "nothing declined");
    const joined = await Promise.all([a, b].map((m) => chain.feed(m.enclave)));
    assert.ok(joined.every((r) => r.group.member && r.group.members.length === 2));

    // Its state is another app's: its digests name another app. The first batch sealed after the
    // join names A's state there, and B stops.
    const owner = privateKeyToAccount(generatePrivateKey());
    await call(a.enclave, "submitCommand", {
      envelope: await sealedErc20Command(owner, DOMAIN, a.hpkePublicKey, 0n, {
        command: "construct",
        params: { totalSupply: "10" },
      }),
    });
    await chain.batch(a);
    const atB = await chain.feed(b.enclave);
    assert.match(atB.diverged?.reason ?? "", /the state digest at event \d+ is not this enclave's/);
  });
});
