// The credential check every member runs inside its enclave: evidence verified against the build's
// roots and profile, its measurement this enclave's own, its binding to this chain and contract, and
// the MLS key from a key package the enclave itself signed.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount, sign } from "viem/accounts";
import { measurementWord } from "../attestation/attest.js";
import {
  loadTdxVector,
  readVectorBytes,
  readVectorJson,
  vectorsSkip,
} from "../attestation/dcap/test-vectors.js";
import { verifyTdxQuote } from "../attestation/dcap.js";
import { Platform, type TcbStatusName } from "../attestation/verdict.js";
import type { LedgerEvent } from "../boundary/chain-events.js";
import { type PolicyContent, signPolicy } from "../operator/policy.js";
import { DEV_POLICY_KEYS, DEV_POLICY_PRIVATE_KEYS } from "../protocol/dev-policy-keys.js";
import {
  enclaveBinding,
  keyPackageDigest,
  type LedgerDomain,
  leaveDigest,
  ZERO_HASH,
} from "../protocol/digests.js";
import { type Admission, CredentialError, checkCredential, checkEvidence } from "./admission.js";
import {
  type AppliedPolicy,
  EMPTY_REGISTRY,
  hasRemovalProof,
  type RegistryView,
  updateRegistry,
} from "./registry.js";
import { SimPlatform } from "./sim-platform.js";

const DOMAIN: LedgerDomain = { chainId: 31337, contract: `0x${"cd".repeat(20)}` };
const OWN: Hex = bytesToHex(new Uint8Array(32).fill(7));
/** The group's app, and another (say an auction built from the same tree: the same measurement). */
const OWN_APP: Hex = `0x${"a1".repeat(32)}`;
const OTHER_APP: Hex = `0x${"b2".repeat(32)}`;
const DEV: Admission = {
  profile: "development",
  measurement: OWN,
  app: OWN_APP,
  now: new Date(),
  policyKeys: DEV_POLICY_KEYS,
};
const PROD: Admission = { ...DEV, profile: "production" };
const MLS_KEY: Hex = `0x${"33".repeat(32)}`;

const dir = mkdtempSync(join(tmpdir(), "anonify-registry-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const machine = new SimPlatform(join(dir, "machine"));

function enclave(app: Hex = OWN_APP) {
  const key = generatePrivateKey();
  return {
    key,
    address: privateKeyToAccount(key).address.toLowerCase() as Hex,
    hpkePublicKey: bytesToHex(crypto.getRandomValues(new Uint8Array(32))),
    app,
  };
}
type TestEnclave = ReturnType<typeof enclave>;

async function simEvidence(who: TestEnclave, options: { domain?: LedgerDomain; measurement?: Hex } = {}) {
  const reportData = new Uint8Array(64);
  reportData.set(
    hexToBytes(enclaveBinding(options.domain ?? DOMAIN, who.address, who.hpkePublicKey, who.app)),
  );
  const quote = await machine.quote(reportData, {
    measurement: hexToBytes(options.measurement ?? OWN),
    signerMeasurement: new Uint8Array(32).fill(9),
  });
  return { platform: Platform.sim, evidence: bytesToHex(quote) };
}

const refused = (promise: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(promise, (e: unknown) => e instanceof CredentialError && pattern.test(e.message));

/** Where an event sits in the contract's sequence: not read by the registry, which sees events already placed. */
const at = (block: string, logIndex = 0) => ({
  seq: block,
  timestamp: "0",
  head: ZERO_HASH,
  block,
  logIndex,
});

/** The enclave's `EnclaveRegistered` event (the report is not read inside). */
const registered = (who: TestEnclave, evidence: Hex, block = "1"): LedgerEvent => ({
  kind: "EnclaveRegistered",
  ...at(block),
  enclave: who.address,
  platform: Platform.sim,
  measurement: OWN,
  debug: true,
  hpkePublicKey: who.hpkePublicKey,
  app: who.app,
  report: `0x${"00".repeat(224)}`,
  reportSignature: `0x${"00".repeat(65)}`,
  evidence,
});

/** A registry view fed the enclave's registration and a key package signed by `signer`. */
async function viewWith(who: TestEnclave, evidence: Hex, signer: Hex = who.key): Promise<RegistryView> {
  const keyPackage: Hex = "0x0102";
  let view = await updateRegistry(
    EMPTY_REGISTRY,
    registered(who, evidence),
    DOMAIN,
    () => MLS_KEY,
    DEV_POLICY_KEYS,
  );
  view = await updateRegistry(
    view,
    {
      kind: "KeyPackagePublished",
      ...at("2"),
      enclave: who.address,
      nonce: "4",
      keyPackage,
      signature: await sign({
        hash: keyPackageDigest(DOMAIN, 4n, keyPackage),
        privateKey: signer,
        to: "hex",
      }),
    },
    DOMAIN,
    () => MLS_KEY,
    DEV_POLICY_KEYS,
  );
  return view;
}

const credential = (view: RegistryView, who: TestEnclave, admission = DEV) =>
  checkCredential(view, DOMAIN, hexToBytes(who.address), hexToBytes(MLS_KEY), admission);

describe("checkCredential: admission by evidence", () => {
  test("evidence that verifies, binds and is of our own measurement, with a key package the enclave signed, is admitted", async () => {
    const who = enclave();
    const view = await viewWith(who, (await simEvidence(who)).evidence);
    await credential(view, who);
  });

  test("evidence of another measurement is refused", async () => {
    const who = enclave();
    const evidence = await simEvidence(who, { measurement: bytesToHex(new Uint8Array(32).fill(8)) });
    await refused(checkEvidence(evidence, who, DOMAIN, DEV), /is not this enclave's own/);
  });

  test("evidence binding another chain or another contract is refused", async () => {
    const who = enclave();
    for (const domain of [
      { ...DOMAIN, chainId: 1 },
      { ...DOMAIN, contract: `0x${"ee".repeat(20)}` as Hex },
    ]) {
      const evidence = await simEvidence(who, { domain });
      await refused(checkEvidence(evidence, who, DOMAIN, DEV), /does not bind/);
      await checkEvidence(evidence, who, domain, DEV); // the same evidence passes for the domain it names
    }
    // Nor does one enclave's evidence admit another address or HPKE key.
    const evidence = await simEvidence(who);
    await refused(
      checkEvidence(evidence, { ...who, address: enclave().address }, DOMAIN, DEV),
      /does not bind/,
    );
    await refused(
      checkEvidence(evidence, { ...who, hpkePublicKey: `0x${"00".repeat(32)}` }, DOMAIN, DEV),
      /does not bind/,
    );
  });

  test("evidence of another app is refused, whatever its measurement, unless a signed policy names it as an upgrade", async () => {
    const auction = enclave(OTHER_APP);
    const evidence = await simEvidence(auction);
    await refused(checkEvidence(evidence, auction, DOMAIN, DEV), /app 0xb2b2.* is not this group's app/);
    // Nor does evidence bound to one app admit the enclave as running another.
    await refused(checkEvidence(evidence, { ...auction, app: OWN_APP }, DOMAIN, DEV), /does not bind/);
    const upgrade: AppliedPolicy = {
      version: 1n,
      revocations: [],
      measurements: [],
      tcbMinimums: [],
      apps: [OTHER_APP],
      documents: [],
    };
    await checkEvidence(evidence, auction, DOMAIN, DEV, upgrade);
    await refused(credential(await viewWith(auction, evidence.evidence), auction), /is not this group's app/);
  });

  test("a key package whose signature does not recover to the enclave gives its MLS key no credential", async () => {
    const who = enclave();
    const evidence = (await simEvidence(who)).evidence;
    const view = await viewWith(who, evidence, generatePrivateKey());
    assert.equal(view.enclaves[who.address]?.keyPackage, undefined, "the key package is not recorded");
    await refused(credential(view, who), /did not sign a key package with this MLS signature key/);
  });

  test("the production profile refuses a simulated quote, however well it binds", async () => {
    const who = enclave();
    const evidence = await simEvidence(who);
    await checkEvidence(evidence, who, DOMAIN, DEV);
    await refused(
      checkEvidence(evidence, who, DOMAIN, PROD),
      /platform sim is not admitted by the production profile/,
    );
    await refused(credential(await viewWith(who, evidence.evidence), who, PROD), /production profile/);
  });
});

describe("checkCredential: genuine hardware evidence of another build", { skip: vectorsSkip }, () => {
  test("a real TDX quote verifies but is refused for its measurement", async () => {
    const { quote, options } = loadTdxVector();
    const admission: Admission = { ...PROD, now: options.now };
    const evidence = { platform: Platform.tdx, evidence: bytesToHex(quote), collateral: options.collateral };
    // Without its collateral it does not verify (and that failure is not cached) ...
    await refused(
      checkEvidence({ ...evidence, collateral: undefined }, enclave(), DOMAIN, admission),
      /does not verify/,
    );
    // ... with it, it is genuine, but not our build.
    await refused(checkEvidence(evidence, enclave(), DOMAIN, admission), /is not this enclave's own/);
  });

  test("a real SGX quote verifies but is refused for its measurement", async () => {
    const now = new Date("2025-07-01T00:00:00Z");
    const evidence = {
      platform: Platform.sgx,
      evidence: bytesToHex(readVectorBytes("sgx-dcap/sgx_quote")),
      collateral: readVectorJson("sgx-dcap/sgx_quote_collateral.json"),
    };
    await refused(
      checkEvidence(evidence, enclave(), DOMAIN, {
        profile: "production",
        measurement: OWN,
        app: OWN_APP,
        now,
      }),
      /is not this enclave's own/,
    );
  });
});

/** A `PolicyPublished` event: the content signed for `domain` by `keys`. */
async function policyEvent(
  content: PolicyContent,
  keys: readonly Hex[],
  domain: LedgerDomain = DOMAIN,
  logIndex = 0,
): Promise<LedgerEvent> {
  const { document, signatures } = await signPolicy(domain, content, keys);
  return { kind: "PolicyPublished", ...at("5", logIndex), document, signatures };
}

describe("signed policies and leaves: the only proof that removes a member", () => {
  const [k1, k2, k3] = DEV_POLICY_PRIVATE_KEYS as [Hex, Hex, Hex];
  const apply = (view: RegistryView, event: LedgerEvent) =>
    updateRegistry(view, event, DOMAIN, () => MLS_KEY, DEV_POLICY_KEYS);

  async function member() {
    const who = enclave();
    return { who, view: await viewWith(who, (await simEvidence(who)).evidence) };
  }

  test("a policy signed by k distinct pinned keys revokes: the credential is refused and the removal has proof", async () => {
    const { who, view } = await member();
    const next = await apply(view, await policyEvent({ version: 1n, revocations: [who.address] }, [k1, k3]));
    assert.equal(next.enclaves[who.address]?.state, "revoked");
    assert.equal(next.policy?.version, 1n);
    assert.equal(next.lastPolicyEvent?.outcome, "applied");
    assert.equal(hasRemovalProof(next, hexToBytes(who.address)), true);
    await refused(credential(next, who), /is revoked/);
  });

  test("fewer than k signatures, unknown signers, one signer twice, another chain or contract: ignored", async () => {
    const { who, view } = await member();
    const revoke = { version: 1n, revocations: [who.address] };
    const cases: [string, LedgerEvent, RegExp][] = [
      ["one signature", await policyEvent(revoke, [k2]), /1 signature\(s\), 2 needed/],
      [
        "unknown signers",
        await policyEvent(revoke, [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()]),
        /signed by 0 distinct/,
      ],
      [
        "more signatures than pinned signers",
        await policyEvent(revoke, [k1, k2, k3, generatePrivateKey()]),
        /4 signatures, more than the 3 pinned signers/,
      ],
      ["the same signer twice", await policyEvent(revoke, [k1, k1]), /signed twice/],
      [
        "another chain",
        await policyEvent(revoke, [k1, k2], { ...DOMAIN, chainId: 1 }),
        /document is for chain 1/,
      ],
      [
        "another contract",
        await policyEvent(revoke, [k1, k2], { ...DOMAIN, contract: `0x${"ab".repeat(20)}` }),
        /document is for contract/,
      ],
    ];
    for (const [name, event, reason] of cases) {
      const next = await apply(view, event);
      assert.equal(next.enclaves[who.address]?.state, "active", name);
      assert.equal(next.policy, undefined, name);
      assert.match(next.lastPolicyEvent?.outcome ?? "", reason, name);
      assert.equal(hasRemovalProof(next, hexToBytes(who.address)), false, name);
    }
  });

  test("a document signed for one domain does not verify when replayed on another: the digest names it", async () => {
    const { who, view } = await member();
    const other = { ...DOMAIN, contract: `0x${"ab".repeat(20)}` as Hex };
    const signed = await signPolicy(other, { version: 1n, revocations: [who.address] }, [k1, k2]);
    // Same signatures, a document rewritten to name this domain: the pinned keys' signatures no longer verify.
    const forged = await signPolicy(DOMAIN, { version: 1n, revocations: [who.address] }, []);
    const next = await apply(view, {
      kind: "PolicyPublished",
      ...at("5"),
      document: forged.document,
      signatures: signed.signatures,
    });
    assert.equal(next.enclaves[who.address]?.state, "active");
    assert.match(
      next.lastPolicyEvent?.outcome ?? "",
      /signature of pinned signer 0x[0-9a-f]{40} does not verify/,
    );
  });

  test("revocations do not depend on the order documents arrive in; the replaced fields come from the highest version", async () => {
    const { who, view } = await member();
    const other = enclave();
    const admitted = [{ platform: 0, measurement: `0x${"a1".repeat(32)}` as Hex }];
    const v2 = await apply(
      view,
      await policyEvent({ version: 2n, revocations: [], measurements: admitted }, [k1, k2]),
    );
    assert.equal(v2.policy?.version, 2n);
    // Version 1, published after version 2 (its signers were late): its revocation still applies,
    // its other fields do not replace version 2's.
    const late = await policyEvent(
      { version: 1n, revocations: [who.address], measurements: [] },
      [k1, k2],
      DOMAIN,
      1,
    );
    const v1 = await apply(v2, late);
    assert.equal(v1.enclaves[who.address]?.state, "revoked", "the late document's revocation");
    assert.equal(v1.policy?.version, 2n);
    assert.deepEqual(v1.policy?.measurements, admitted, "version 2's measurements stand");
    assert.match(v1.lastPolicyEvent?.outcome ?? "", /applied: its revocations \(version 1 is not above 2\)/);
    // The same document again (anyone may publish it again): ignored for its hash, before any
    // signature is checked, with its signatures or without.
    const replay = await apply(v1, late);
    assert.equal(replay.policy, v1.policy);
    assert.match(replay.lastPolicyEvent?.outcome ?? "", /ignored: applied already/);
    const unsigned = await apply(v1, { ...late, signatures: [] } as LedgerEvent);
    assert.equal(unsigned.policy, v1.policy);
    assert.match(unsigned.lastPolicyEvent?.outcome ?? "", /ignored: applied already/);
    const v3 = await apply(v1, await policyEvent({ version: 3n, revocations: [] }, [k2, k3]));
    const v4 = await apply(v3, await policyEvent({ version: 4n, revocations: [other.address] }, [k1, k3]));
    assert.equal(v4.enclaves[who.address]?.state, "revoked", "a later document need not repeat a revocation");
    assert.deepEqual(v4.policy?.revocations, [who.address, other.address].sort());
    assert.deepEqual(v4.policy?.measurements, admitted, "absent in versions 3 and 4: version 2's stand");
    // An enclave revoked before it registers is revoked on arrival.
    const arrived = await apply(v4, registered(other, (await simEvidence(other)).evidence, "9"));
    assert.equal(arrived.enclaves[other.address]?.state, "revoked");
  });

  test("a malformed document is ignored with its reason and stops nothing", async () => {
    const { who, view } = await member();
    const next = await apply(view, {
      kind: "PolicyPublished",
      ...at("5"),
      document: "0x414e4659",
      signatures: [],
    });
    assert.equal(next.enclaves[who.address]?.state, "active");
    assert.match(next.lastPolicyEvent?.outcome ?? "", /ignored: document truncated/);
  });

  test("a leave counts only if the enclave signed it", async () => {
    const { who, view } = await member();
    const leave = async (key: Hex): Promise<LedgerEvent> => ({
      kind: "EnclaveLeft",
      ...at("6"),
      enclave: who.address,
      nonce: "5",
      signature: await sign({ hash: leaveDigest(DOMAIN, 5n), privateKey: key, to: "hex" }),
    });
    const forged = await apply(view, await leave(generatePrivateKey()));
    assert.equal(forged, view, "a leave signed by another key is ignored");
    assert.equal(hasRemovalProof(forged, hexToBytes(who.address)), false);
    const left = await apply(view, await leave(who.key));
    assert.equal(left.enclaves[who.address]?.state, "left");
    assert.equal(hasRemovalProof(left, hexToBytes(who.address)), true);
    await refused(credential(left, who), /is left/);
  });
});

describe("signed policies: measurements for upgrades, TCB minimums", () => {
  const [k1, k2] = DEV_POLICY_PRIVATE_KEYS as [Hex, Hex];
  const NEXT: Hex = bytesToHex(new Uint8Array(32).fill(8));
  const apply = (view: RegistryView, content: PolicyContent) =>
    policyEvent(content, [k1, k2]).then((event) =>
      updateRegistry(view, event, DOMAIN, () => MLS_KEY, DEV_POLICY_KEYS),
    );

  test("another build is admitted only while the newest signed policy lists its measurement", async () => {
    const who = enclave();
    const view = await viewWith(who, (await simEvidence(who, { measurement: NEXT })).evidence);
    await refused(credential(view, who), /not this enclave's own nor admitted by a signed policy/);
    const listed = { platform: Platform.sim, measurement: NEXT };
    const v1 = await apply(view, { version: 1n, revocations: [], measurements: [listed] });
    await credential(v1, who);
    // Listed for another platform: no.
    const v1tdx = await apply(view, {
      version: 1n,
      revocations: [],
      measurements: [{ ...listed, platform: 2 }],
    });
    await refused(credential(v1tdx, who), /nor admitted by a signed policy/);
    // A document without the field leaves the list as it is; one with an empty list ends it.
    const v2 = await apply(v1, { version: 2n, revocations: [] });
    assert.deepEqual(v2.policy?.measurements, [listed]);
    await credential(v2, who);
    const v3 = await apply(v2, { version: 3n, revocations: [], measurements: [] });
    await refused(credential(v3, who), /nor admitted by a signed policy/);
    // An unsigned (or under-signed) document lists nothing.
    const forged = await updateRegistry(
      view,
      await policyEvent({ version: 9n, revocations: [], measurements: [listed] }, [k1]),
      DOMAIN,
      () => MLS_KEY,
      DEV_POLICY_KEYS,
    );
    await refused(credential(forged, who), /nor admitted by a signed policy/);
  });

  test("a TCB minimum for the platform refuses a status it does not list", async () => {
    const who = enclave();
    const view = await viewWith(who, (await simEvidence(who)).evidence);
    const minimum = (statuses: TcbStatusName[]) => ({
      version: 1n,
      revocations: [],
      tcbMinimums: [{ platform: Platform.sim, statuses, tcbEvaluationDataNumber: 0 }],
    });
    await refused(
      credential(await apply(view, minimum(["UpToDate"])), who),
      /TCB status Simulated is not accepted/,
    );
    await credential(await apply(view, minimum(["UpToDate", "Simulated"])), who);
    // A minimum number of collateral freshness: simulated evidence names none, so it counts as 0.
    const fresh = await apply(view, {
      version: 1n,
      revocations: [],
      tcbMinimums: [{ platform: Platform.sim, statuses: ["Simulated"], tcbEvaluationDataNumber: 1 }],
    });
    await refused(credential(fresh, who), /tcbEvaluationDataNumber 0 is below the signed policy's 1/);
  });
});

describe("TCB minimums on genuine collateral", { skip: vectorsSkip }, () => {
  test("the TDX vector's collateral (tcbEvaluationDataNumber 17) passes a minimum of 17, not 18", async () => {
    const { quote, options } = loadTdxVector();
    const admission: Admission = { ...PROD, now: options.now };
    const evidence = { platform: Platform.tdx, evidence: bytesToHex(quote), collateral: options.collateral };
    const verdict = await verifyTdxQuote(quote, options);
    assert.equal(verdict.tcbEvaluationDataNumber, 17);
    const policy = (tcbEvaluationDataNumber: number): AppliedPolicy => ({
      version: 1n,
      revocations: [],
      // The vector's own measurement, admitted by the policy, so the check reaches the TCB rules.
      measurements: [{ platform: Platform.tdx, measurement: measurementWord(verdict.measurement) }],
      tcbMinimums: [{ platform: Platform.tdx, statuses: [verdict.tcbStatus], tcbEvaluationDataNumber }],
      apps: [],
      documents: [],
    });
    await refused(
      checkEvidence(evidence, enclave(), DOMAIN, admission, policy(18)),
      /tcbEvaluationDataNumber 17 is below the signed policy's 18/,
    );
    // At 17 it passes the TCB rules and stops at the binding (the vector binds no enclave of ours).
    await refused(checkEvidence(evidence, enclave(), DOMAIN, admission, policy(17)), /bind/);
  });
});
