// DCAP collateral reaching every member: published on chain by anyone, held only if it verifies to
// the pinned Intel root and is fresher than the set held, and then what members judge SGX and TDX
// quotes against. Played with the real SGX and TDX vectors and their real collateral.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bytesToHex, type Hex } from "viem";
import { measurementWord } from "../attestation/attest.js";
import {
  DCAP_VECTOR_NOW,
  readVectorBytes,
  readVectorJson,
  vectorsSkip,
} from "../attestation/dcap/test-vectors.js";
import { applyCollateral, collateralFor, type HeldCollateral } from "../attestation/held-collateral.js";
import { Platform } from "../attestation/verdict.js";
import type { LedgerEvent } from "../boundary/chain-events.js";
import { encodeCollateralRecord } from "../protocol/collateral-record.js";
import { DEV_POLICY_KEYS } from "../protocol/dev-policy-keys.js";
import { type LedgerDomain, ZERO_HASH } from "../protocol/digests.js";
import { type Admission, CredentialError, checkCredential } from "./admission.js";
import { type RegistryView, updateRegistry } from "./registry.js";

const DOMAIN: LedgerDomain = { chainId: 31337, contract: `0x${"cd".repeat(20)}` };
const SGX_MRENCLAVE = "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb";
const MLS_KEY: Hex = `0x${"33".repeat(32)}`;
const ENCLAVE: Hex = `0x${"ee".repeat(20)}`;
const PRODUCTION: Admission = {
  profile: "production",
  measurement: `0x${"07".repeat(32)}`,
  app: `0x${"a1".repeat(32)}`,
  now: DCAP_VECTOR_NOW,
  policyKeys: DEV_POLICY_KEYS,
};

type Pcs = Record<string, string>;
const pcs = (platform: "sgx" | "tdx") => readVectorJson(`sgx-dcap/${platform}_quote_collateral.json`) as Pcs;

let logIndex = 0;
function published(collateral: unknown): Extract<LedgerEvent, { kind: "CollateralPublished" }> {
  const record = collateral instanceof Uint8Array ? collateral : encodeCollateralRecord(collateral);
  const seq = String(++logIndex);
  return {
    kind: "CollateralPublished",
    seq,
    timestamp: "0",
    head: ZERO_HASH,
    block: "9",
    logIndex,
    collateral: bytesToHex(record),
  };
}

/** A copy of the TCB info JSON text with one character changed inside a value Intel signed. */
function tamperedTcbInfo(set: Pcs): Pcs {
  return {
    ...set,
    tcb_info: set.tcb_info!.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":99'),
  };
}

/** A view where the SGX vector's enclave is registered, its MRENCLAVE admitted by a signed policy. */
function viewWithSgxEnclave(collateral?: RegistryView["collateral"]): RegistryView {
  return {
    enclaves: {
      [ENCLAVE]: {
        state: "active",
        platform: Platform.sgx,
        hpkePublicKey: `0x${"44".repeat(32)}`,
        app: `0x${"a1".repeat(32)}`,
        evidence: bytesToHex(readVectorBytes("sgx-dcap/sgx_quote")),
        order: 0,
        mlsSignatureKeys: [MLS_KEY],
      },
    },
    policy: {
      version: 1n,
      revocations: [],
      measurements: [{ platform: Platform.sgx, measurement: measurementWord(SGX_MRENCLAVE) as Hex }],
      tcbMinimums: [],
      apps: [],
      documents: [],
    },
    collateral,
  };
}

const credential = (view: RegistryView, admission = PRODUCTION) =>
  checkCredential(
    view,
    DOMAIN,
    Buffer.from(ENCLAVE.slice(2), "hex"),
    Buffer.from(MLS_KEY.slice(2), "hex"),
    admission,
  );

async function refused(promise: Promise<unknown>, reason: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => e instanceof CredentialError && reason.test(e.message));
}

describe("collateral published on chain", { skip: vectorsSkip }, () => {
  test("a genuine set is held under its platform, FMSPC and PCK CA; the same set again changes nothing", () => {
    const first = applyCollateral({}, published(pcs("sgx")));
    assert.equal(first.outcome.outcome, "held");
    const [held] = Object.values(first.held) as HeldCollateral[];
    assert.equal(held?.platform, "sgx");
    assert.equal(held?.fmspc, "00a067110000");
    assert.equal(held?.tcbEvaluationDataNumber, 17);
    assert.equal(held?.nextUpdate, "2025-07-19T10:01:18.000Z");

    const again = applyCollateral(first.held, published(pcs("sgx")));
    assert.equal(again.held, first.held);
    assert.equal(again.outcome.outcome, "ignored: the set held already");
    // A copy as old, its TCB info signature broken: refused for its age before any signature is
    // checked (verified, it would be refused for the signature, at a verification's cost).
    const copy = pcs("sgx");
    const broken = { ...copy, tcb_info_signature: `${copy.tcb_info_signature!.slice(0, -2)}00` };
    assert.equal(
      applyCollateral(first.held, published(broken)).outcome.outcome,
      "ignored: not fresher than the set held",
    );
    assert.match(applyCollateral({}, published(broken)).outcome.outcome, /signature invalid/);

    const both = applyCollateral(first.held, published(pcs("tdx")));
    assert.equal(both.outcome.outcome, "held");
    assert.deepEqual(
      Object.values(both.held)
        .map((h) => h.platform)
        .sort(),
      ["sgx", "tdx"],
    );
  });

  test("a forged set is ignored and says why: an altered TCB info, a signature, a CRL, a record that is not one", () => {
    const set = pcs("sgx");
    const flip = (hex: string) => `${hex.slice(0, -2)}${hex.endsWith("00") ? "01" : "00"}`;
    const cases: [string, unknown, RegExp][] = [
      ["TCB info with a fresher number written in", tamperedTcbInfo(set), /TCB info: signature invalid/],
      [
        "QE identity signature flipped",
        { ...set, qe_identity_signature: flip(set.qe_identity_signature!) },
        /QE identity: signature invalid/,
      ],
      ["PCK CRL signature flipped", { ...set, pck_crl: flip(set.pck_crl!) }, /PCK CRL/],
      [
        "a TDX TCB info passed off with SGX's signature",
        { ...set, tcb_info: pcs("tdx").tcb_info },
        /signature invalid/,
      ],
    ];
    for (const [name, forged, reason] of cases) {
      const { held, outcome } = applyCollateral({}, published(forged));
      assert.deepEqual(held, {}, name);
      assert.match(outcome.outcome, /^ignored: /, name);
      assert.match(outcome.outcome, reason, name);
    }
    const junk = applyCollateral({}, published(new TextEncoder().encode("not a collateral record")));
    assert.match(junk.outcome.outcome, /ignored: not a collateral record/);
  });

  test("a set is fresher only if no part is older and one is newer", async () => {
    const { isFresher } = await import("../attestation/dcap/published-collateral.js");
    const at = (issued: number[]) => ({ issued });
    assert.equal(isFresher(at([2, 1, 1, 1]), at([1, 1, 1, 1])), true);
    assert.equal(isFresher(at([1, 1, 1, 1]), at([1, 1, 1, 1])), false);
    // A newer TCB info carried with an older CRL would bring the CRL back: refused.
    assert.equal(isFresher(at([3, 1, 0, 1]), at([1, 1, 1, 1])), false);
  });

  test("quotes are judged against the set held for their FMSPC and CA", () => {
    const { held } = applyCollateral({}, published(pcs("sgx")));
    const sgxQuote = bytesToHex(readVectorBytes("sgx-dcap/sgx_quote"));
    const tdxQuote = bytesToHex(readVectorBytes("sgx-dcap/tdx_quote"));
    assert.ok(collateralFor(held, "sgx", sgxQuote)?.collateral);
    const tdx = collateralFor(held, "tdx", tdxQuote);
    assert.equal(tdx?.collateral, undefined, "no TDX set is held");
    assert.match(tdx?.key ?? "", /^tdx:b0c06f000000:/);
    assert.equal(collateralFor(held, "nitro", sgxQuote), undefined, "Nitro needs none");
  });
});

describe("a member admits an SGX enclave only on the collateral published on chain", {
  skip: vectorsSkip,
}, () => {
  test("no set held: refused, naming the set it needs; a forged set changes nothing", async () => {
    await refused(
      credential(viewWithSgxEnclave()),
      /no published collateral judges .* sgx quote \(sgx:00a067110000:/,
    );
    let view = viewWithSgxEnclave();
    view = await updateRegistry(
      view,
      published(tamperedTcbInfo(pcs("sgx"))),
      DOMAIN,
      () => undefined,
      DEV_POLICY_KEYS,
    );
    assert.match(view.lastCollateralEvent?.outcome ?? "", /ignored: TCB info: signature invalid/);
    await refused(credential(view), /no published collateral judges/);
  });

  test("with the genuine set held, the real quote verifies: it then fails only on its binding, or on the policy's TCB minimum, or once the set expires", async () => {
    let view = viewWithSgxEnclave();
    view = await updateRegistry(view, published(pcs("sgx")), DOMAIN, () => undefined, DEV_POLICY_KEYS);
    assert.equal(view.lastCollateralEvent?.outcome, "held");
    // The vector's report data is "Hello, world!", not this enclave's keys on this chain.
    await refused(credential(view), /evidence does not bind this enclave's keys/);
    const stricter: RegistryView = {
      ...view,
      policy: {
        ...view.policy!,
        tcbMinimums: [
          {
            platform: Platform.sgx,
            statuses: ["ConfigurationAndSWHardeningNeeded"],
            tcbEvaluationDataNumber: 18,
          },
        ],
      },
    };
    await refused(
      credential(stricter),
      /collateral tcbEvaluationDataNumber 17 is below the signed policy's 18/,
    );
    const later = { ...PRODUCTION, now: new Date("2025-08-01T00:00:00Z") };
    await refused(credential(view, later), /expired/);
  });
});
