import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getAddress } from "viem";
import {
  address,
  bool,
  type Infer,
  nullable,
  object,
  optional,
  ParamError,
  string,
  UINT256_MAX,
  uint,
} from "./schema.js";

const LOWER = "0x52908400098527886e0f7030069857d2e4169ee7";

function rejects(f: () => unknown, path: string, pattern: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof ParamError && e.path === path && pattern.test(e.message));
}

describe("address", () => {
  const a = address();
  it("normalizes to lower case and checks EIP-55 on mixed case", () => {
    assert.equal(a.parse(LOWER), LOWER);
    assert.equal(a.parse(getAddress(LOWER)), LOWER);
    assert.equal(a.parse(LOWER.toUpperCase().replace("0X", "0x")), LOWER);
    const good = getAddress(LOWER);
    const i = good.search(/[A-F]/);
    const badChecksum = `${good.slice(0, i)}${good[i]!.toLowerCase()}${good.slice(i + 1)}`;
    rejects(() => a.parse(badChecksum), "params", /checksum/);
  });
  it("refuses what is not a 20-byte address", () => {
    for (const bad of ["0x1234", `${LOWER}00`, LOWER.slice(2), 42, null, `0x${"g".repeat(40)}`]) {
      rejects(() => a.parse(bad), "params", /20-byte/);
    }
  });
});

describe("uint", () => {
  const u = uint();
  it("reads safe integers and decimal strings as bigint", () => {
    assert.equal(u.parse(0), 0n);
    assert.equal(u.parse(Number.MAX_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER));
    assert.equal(u.parse("12345678901234567890"), 12345678901234567890n);
    assert.equal(u.parse(UINT256_MAX.toString()), UINT256_MAX);
  });
  it("refuses negatives, fractions, unsafe numbers, odd strings and overflow", () => {
    for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) rejects(() => u.parse(bad), "params", /safe integer/);
    for (const bad of ["-1", "01", "1e3", " 1", "0x10", "", (UINT256_MAX * 10n).toString()]) {
      rejects(() => u.parse(bad), "params", /decimal/);
    }
    rejects(() => u.parse((UINT256_MAX + 1n).toString()), "params", /at most/);
    rejects(() => u.parse(true), "params", /integer/);
    rejects(() => uint({ max: 10n }).parse("11"), "params", /at most 10/);
  });
});

describe("string, bool, optional", () => {
  it("checks string length and well-formedness", () => {
    const s = string({ maxLength: 3, minLength: 1 });
    assert.equal(s.parse("abc"), "abc");
    rejects(() => s.parse("abcd"), "params", /at most 3/);
    rejects(() => s.parse(""), "params", /at least 1/);
    rejects(() => s.parse("\ud800"), "params", /well-formed/);
    rejects(() => s.parse(1), "params", /string/);
  });
  it("checks booleans", () => {
    assert.equal(bool().parse(false), false);
    rejects(() => bool().parse("true"), "params", /true or false/);
  });
  it("lets an optional field be absent", () => {
    const o = object({ memo: optional(string({ maxLength: 8 })), n: uint() });
    assert.deepEqual(o.parse({ n: 1 }), { n: 1n });
    assert.deepEqual(o.parse({ n: 1, memo: "hi" }), { n: 1n, memo: "hi" });
  });
  it("takes null for a nullable field, and checks anything else", () => {
    const o = object({ memo: nullable(string({ maxLength: 8 })) });
    assert.deepEqual(o.parse({ memo: null }), { memo: null });
    assert.deepEqual(o.parse({ memo: "hi" }), { memo: "hi" });
    rejects(() => o.parse({ memo: [1] }), "params.memo", /string/);
    rejects(() => o.parse({}), "params.memo", /is required/);
  });
});

describe("object", () => {
  const transfer = object({ to: address(), amount: uint() });
  it("returns typed, frozen params", () => {
    const p: Infer<typeof transfer> = transfer.parse({ to: getAddress(LOWER), amount: "7" });
    assert.deepEqual(p, { to: LOWER, amount: 7n });
    assert.ok(Object.isFrozen(p));
  });
  it("refuses unknown and missing fields, with the field's path", () => {
    rejects(() => transfer.parse({ to: LOWER, amount: 1, memo: "x" }), "params.memo", /not a known field/);
    rejects(() => transfer.parse({ to: LOWER }), "params.amount", /required/);
    rejects(() => transfer.parse({ to: LOWER, amount: -1 }), "params.amount", /non-negative/);
    rejects(() => transfer.parse([]), "params", /object/);
    rejects(
      () => transfer.parse(JSON.parse('{"__proto__":1,"to":"x","amount":1}')),
      "params.__proto__",
      /known/,
    );
  });
  it("nests paths", () => {
    const o = object({ inner: object({ flag: bool() }) });
    rejects(() => o.parse({ inner: { flag: 1 } }), "params.inner.flag", /true or false/);
  });
  it("describes itself", () => {
    assert.deepEqual(transfer.describe(), {
      type: "object",
      fields: { to: { type: "address" }, amount: { type: "uint", max: UINT256_MAX.toString() } },
    });
  });
});
