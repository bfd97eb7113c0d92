// The client's judgement of an enclave, on real hardware's evidence (../shared/vectors) and on the
// simulated platform's, from a source that plays the chain: what verifies, what binds, what the
// policy refuses, each refused by name.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Address, bytesToHex, type Hex, hexToBytes, padHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { flipByte, readVectorBytes, readVectorJson, vectorsSkip } from "../attestation/dcap/test-vectors.js";
import type { PlatformName } from "../attestation/verdict.js";
import { SimPlatform } from "../enclave/sim-platform.js";
import { enclaveBinding, type LedgerDomain } from "../protocol/digests.js";
import { type EvidenceSource, enclaveVerdict, judgeEnclave, type Registration } from "./enclave-evidence.js";
import { ENCLAVE_POLICIES, type EnclavePolicy, verdictRefusal } from "./enclave-policy.js";
import { AnonifyClientError } from "./errors.js";
import { verifierFor } from "./verifiers.js";

/** Inside every validity window of both DCAP vectors' collateral. */
const VECTORS_NOW = new Date("2025-07-01T00:00:00Z");
const DOMAIN: LedgerDomain = { chainId: 1, contract: "0x00000000000000000000000000000000000a0a0a" };
const APP = padHex("0xa1", { size: 32 });
const HPKE_KEY = padHex("0x04", { size: 65 });

const newAddress = (): Address => privateKeyToAccount(generatePrivateKey()).address;

/** The chain as the client reads it: one active enclave, its registration, the published collateral. */
function sourceOf(registration: Registration, collateral?: unknown): EvidenceSource {
  return {
    isActive: async (address) => address === registration.address,
    registration: async (address) => (address === registration.address ? registration : undefined),
    collateral: async () => collateral,
  };
}

/** `judgeEnclave`'s refusal reason, or "accepted". */
async function judged(
  source: EvidenceSource,
  address: Address,
  policy: EnclavePolicy,
  options: { domain?: LedgerDomain; now?: Date } = {},
): Promise<string> {
  try {
    await judgeEnclave(source, options.domain ?? DOMAIN, address, policy, { now: options.now });
    return "accepted";
  } catch (error) {
    assert.ok(error instanceof AnonifyClientError, String(error));
    return `${error.code}: ${error.message}`;
  }
}

const DCAP_VECTORS = [
  { platform: "sgx", measurement: "0x33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb" },
  { platform: "tdx", measurement: "0xd6a4eb704e09e162ff9bfef831b58bb56c48b0da19cd16788130a68037351ef4" },
] as const;

describe("a client judges real SGX and TDX evidence itself", { skip: vectorsSkip }, () => {
  for (const { platform, measurement } of DCAP_VECTORS) {
    const evidence = () => readVectorBytes(`sgx-dcap/${platform}_quote`);
    const collateral = () => readVectorJson(`sgx-dcap/${platform}_quote_collateral.json`);
    const registered = (bytes: Uint8Array, as: PlatformName = platform): Registration => ({
      address: newAddress(),
      platform: as,
      hpkePublicKey: HPKE_KEY,
      app: APP,
      evidence: bytesToHex(bytes),
    });
    const pinned: EnclavePolicy = { ...ENCLAVE_POLICIES.production, measurements: [measurement] };

    test(`${platform}: the quote verifies to the pinned Intel root with its collateral, and binds no key of ours`, async () => {
      const r = registered(evidence());
      const reason = await judged(sourceOf(r, collateral()), r.address, pinned, { now: VECTORS_NOW });
      // Past verification: refused only because its report data is some other program's.
      assert.match(reason, /^enclave_not_allowed: enclave 0x[0-9a-fA-F]{40} is refused: /);
      assert.doesNotMatch(reason, /does not verify/);
      assert.match(
        reason,
        platform === "sgx"
          ? /evidence does not bind this enclave's keys and app to this chain and contract/
          : /report data carries bytes after the 32-byte binding/,
      );
    });

    test(`${platform}: a changed byte, missing collateral, expired collateral, another platform: does not verify`, async () => {
      const r = registered(evidence());
      const source = sourceOf(r, collateral());
      // The signature over the quote's body is the last 64 bytes' neighbour: change the body instead.
      const tampered = registered(flipByte(evidence(), 100));
      assert.match(
        await judged(sourceOf(tampered, collateral()), tampered.address, pinned, { now: VECTORS_NOW }),
        /is refused: its evidence does not verify: /,
      );
      assert.match(
        await judged(sourceOf(r, undefined), r.address, pinned, { now: VECTORS_NOW }),
        /is refused: its evidence does not verify: collateral: missing/,
      );
      assert.match(
        await judged(source, r.address, pinned, { now: new Date("2025-08-01T00:00:00Z") }),
        /is refused: its evidence does not verify: .*expired/,
      );
      const other = platform === "sgx" ? "tdx" : "sgx";
      const misnamed = registered(evidence(), other);
      assert.match(
        await judged(sourceOf(misnamed, collateral()), misnamed.address, pinned, { now: VECTORS_NOW }),
        /is refused: its evidence does not verify: /,
      );
    });

    test(`${platform}: the policy judges the verdict: a measurement not pinned or another, debug, a TCB below the minimum`, async () => {
      const verify = await verifierFor(platform);
      const verdict = enclaveVerdict(
        registered(evidence()),
        await verify(evidence(), { now: VECTORS_NOW, collateral: collateral() }),
      );
      assert.equal(verdict.measurement, measurement);
      assert.equal(verdict.debug, false);
      const tcbAccepted = { ...pinned, tcbStatuses: [verdict.tcbStatus] };
      assert.equal(verdictRefusal(tcbAccepted, verdict), undefined, "pinned, its TCB allowed: accepted");
      assert.match(
        verdictRefusal({ ...ENCLAVE_POLICIES.production, tcbStatuses: [verdict.tcbStatus] }, verdict) ?? "",
        /its measurement 0x[0-9a-f]{64} is not pinned/,
      );
      assert.match(
        verdictRefusal({ ...tcbAccepted, measurements: [padHex("0x01", { size: 32 })] }, verdict) ?? "",
        /its measurement 0x[0-9a-f]{64} is not one the policy allows/,
      );
      assert.match(
        verdictRefusal(tcbAccepted, { ...verdict, debug: true }) ?? "",
        /it is a debug enclave .* the policy does not allow debug/,
      );
      assert.match(
        verdictRefusal(
          { ...tcbAccepted, tcbStatuses: [verdict.tcbStatus === "UpToDate" ? "OutOfDate" : "UpToDate"] },
          verdict,
        ) ?? "",
        new RegExp(`its TCB status ${verdict.tcbStatus}.* is not one the policy allows`),
      );
      assert.match(
        verdictRefusal({ ...tcbAccepted, platforms: ["nitro"] }, verdict) ?? "",
        new RegExp(`its platform ${platform} is not one the policy allows \\(nitro\\)`),
      );
    });
  }

  test("sgx: production refuses the real quote's TCB (ConfigurationAndSWHardeningNeeded) with its advisories", async () => {
    const verify = await verifierFor("sgx");
    const bytes = readVectorBytes("sgx-dcap/sgx_quote");
    const r: Registration = {
      address: newAddress(),
      platform: "sgx",
      hpkePublicKey: HPKE_KEY,
      app: APP,
      evidence: bytesToHex(bytes),
    };
    const verdict = enclaveVerdict(
      r,
      await verify(bytes, {
        now: VECTORS_NOW,
        collateral: readVectorJson("sgx-dcap/sgx_quote_collateral.json"),
      }),
    );
    assert.match(
      verdictRefusal({ ...ENCLAVE_POLICIES.production, measurements: [verdict.measurement] }, verdict) ?? "",
      /its TCB status ConfigurationAndSWHardeningNeeded \(INTEL-SA-00289, INTEL-SA-00615\) is not one the policy allows \(UpToDate, SWHardeningNeeded\)/,
    );
  });
});

describe("a client judges the binding: this enclave's keys and app, on this chain and contract", () => {
  let dir: string;
  let platform: SimPlatform;
  const identity = { measurement: new Uint8Array(32).fill(7), signerMeasurement: new Uint8Array(32).fill(9) };
  /** A simulated enclave's registration whose evidence binds `bound` (the enclave's own, by default). */
  const registeredSim = async (
    bound?: Partial<Registration & { domain: LedgerDomain }>,
  ): Promise<Registration> => {
    const r: Registration = {
      address: newAddress(),
      platform: "sim",
      hpkePublicKey: HPKE_KEY,
      app: APP,
      evidence: "0x",
    };
    const binding = enclaveBinding(
      bound?.domain ?? DOMAIN,
      bound?.address ?? r.address,
      bound?.hpkePublicKey ?? r.hpkePublicKey,
      bound?.app ?? r.app,
    );
    const quote = await platform.quote(hexToBytes(padHex(binding, { size: 64, dir: "right" })), identity);
    return { ...r, evidence: bytesToHex(quote) };
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "anonify-judge-"));
    platform = new SimPlatform(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("its own binding is accepted by development, labelled simulated; production refuses the platform first", async () => {
    const r = await registeredSim();
    const { verdict } = await judgeEnclave(sourceOf(r), DOMAIN, r.address, ENCLAVE_POLICIES.development);
    assert.deepEqual(
      [verdict.platform, verdict.simulated, verdict.debug, verdict.measurement],
      ["sim", true, true, bytesToHex(identity.measurement)],
    );
    assert.match(
      await judged(sourceOf(r), r.address, ENCLAVE_POLICIES.production),
      /is refused: it runs on the simulated TEE platform, which protects nothing/,
    );
  });

  test("evidence bound to another key, address, app, chain or contract is refused by name", async () => {
    const otherHex = (size: number): Hex => padHex("0x5a", { size });
    const cases: [string, Partial<Registration & { domain: LedgerDomain }>][] = [
      ["another HPKE key", { hpkePublicKey: otherHex(65) }],
      ["another enclave address", { address: newAddress() }],
      ["another app", { app: otherHex(32) }],
      ["another chain", { domain: { ...DOMAIN, chainId: DOMAIN.chainId + 1 } }],
      ["another contract", { domain: { ...DOMAIN, contract: newAddress() } }],
    ];
    for (const [what, bound] of cases) {
      const r = await registeredSim(bound);
      assert.match(
        await judged(sourceOf(r), r.address, ENCLAVE_POLICIES.development),
        /^enclave_not_allowed: .* is refused: evidence does not bind this enclave's keys and app to this chain and contract$/,
        what,
      );
    }
  });

  test("an enclave the contract does not hold as active, or without a registration event, is refused before any evidence", async () => {
    const r = await registeredSim();
    assert.match(
      await judged({ ...sourceOf(r), isActive: async () => false }, r.address, ENCLAVE_POLICIES.development),
      /^enclave_not_active: /,
    );
    assert.match(
      await judged(
        { ...sourceOf(r), registration: async () => undefined },
        r.address,
        ENCLAVE_POLICIES.development,
      ),
      /is refused: the chain holds no registration event of it/,
    );
  });
});
