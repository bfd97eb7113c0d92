import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CollateralSummary } from "../boundary/call-results.js";
import { COLLATERAL_DUE_SECONDS, GasRunway, nodeWarnings } from "./node-health.js";

const ETHER = 10n ** 18n;
const GWEI = 10n ** 9n;
const MINUTE_MS = 60_000;
const NOW = new Date("2026-12-07T12:00:00Z");

const collateralDueIn = (seconds: number): CollateralSummary => ({
  key: "sgx 00a067110000 processor",
  platform: "sgx",
  fmspc: "00a067110000",
  tcbEvaluationDataNumber: 17,
  nextUpdate: new Date(NOW.getTime() + seconds * 1000).toISOString(),
});

const codes = (...args: Parameters<typeof nodeWarnings>) => nodeWarnings(...args).map((w) => w.code);
const quiet = { balance: 10n * ETHER, weiPerSecond: undefined, gasPrice: GWEI, collateral: [], now: NOW };

describe("a node's warnings", () => {
  test("low gas: fewer than 100 batches at today's gas price, or under a day at the rate it spends", () => {
    assert.deepEqual(codes(quiet), []);
    // 100 batches of 1,000,000 gas at 1 gwei is 0.1 ETH.
    assert.deepEqual(codes({ ...quiet, balance: ETHER / 20n }), ["low_gas"]);
    // 10 ETH spent at 0.0002 ETH a second lasts 50,000 s: under a day.
    assert.deepEqual(codes({ ...quiet, weiPerSecond: (2n * ETHER) / 10_000n }), ["low_gas"]);
    assert.deepEqual(codes({ ...quiet, weiPerSecond: ETHER / 10_000n }), []);
    // Nothing known of the chain: nothing said.
    assert.deepEqual(codes({ ...quiet, balance: undefined, gasPrice: undefined }), []);
  });

  test("collateral: due within a week, past once its next update is", () => {
    assert.deepEqual(codes({ ...quiet, collateral: [collateralDueIn(COLLATERAL_DUE_SECONDS + 60)] }), []);
    assert.deepEqual(codes({ ...quiet, collateral: [collateralDueIn(COLLATERAL_DUE_SECONDS - 60)] }), [
      "collateral_due",
    ]);
    const [past] = nodeWarnings({ ...quiet, collateral: [collateralDueIn(-1)] });
    assert.equal(past?.code, "collateral_past");
    assert.equal(past?.about, "sgx 00a067110000");
  });

  test("the spend rate: read over ten minutes at least, and started again by a top-up", () => {
    const runway = new GasRunway();
    const t0 = NOW.getTime();
    runway.observe(10n * ETHER, t0);
    runway.observe(9n * ETHER, t0 + 5 * MINUTE_MS);
    assert.equal(runway.weiPerSecond(), undefined, "five minutes say nothing yet");
    runway.observe(8n * ETHER, t0 + 10 * MINUTE_MS);
    assert.equal(runway.weiPerSecond(), (2n * ETHER) / 600n);
    runway.observe(20n * ETHER, t0 + 11 * MINUTE_MS);
    assert.equal(runway.weiPerSecond(), undefined, "a top-up is not negative spending");
  });
});
