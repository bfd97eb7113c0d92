import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Address } from "viem";
import type { StateValue } from "../../src/app/canonical.js";
import { applyCommand, runQuery, stateDigest } from "../../src/app/executor.js";
import type { Receipt } from "../../src/protocol/receipts.js";
import { type Erc20State, erc20 } from "./index.js";

const alice = "0x1000000000000000000000000000000000000001" as Address;
const bob = "0x2000000000000000000000000000000000000002" as Address;
const carol = "0x3000000000000000000000000000000000000003" as Address;

/** A token driven through the executor, as the enclave drives it: JSON params, a sequence per command. */
class Token {
  state: Erc20State = erc20.initialState();
  sequence = 0n;

  send(sender: Address, name: string, params: Record<string, unknown>): Receipt {
    const before = stateDigest(this.state);
    const { state, receipt } = applyCommand(erc20, this.state, {
      sender,
      name,
      params,
      sequence: this.sequence++,
      timestamp: 0n,
      seed: new Uint8Array(32),
    });
    if (receipt.status === "failed")
      assert.equal(stateDigest(state), before, "a failed command changes nothing");
    this.state = state;
    return receipt;
  }

  ok(sender: Address, name: string, params: Record<string, unknown>): void {
    const receipt = this.send(sender, name, params);
    assert.equal(receipt.status, "applied", receipt.reason);
  }

  rejected(sender: Address, name: string, params: Record<string, unknown>, reason: RegExp): void {
    const receipt = this.send(sender, name, params);
    assert.equal(receipt.status, "failed");
    assert.match(receipt.reason ?? "", reason);
  }

  ask(sender: Address, name: string, params: Record<string, unknown> = {}): StateValue {
    const outcome = runQuery(erc20, this.state, { sender, name, params, timestamp: 0n });
    if (outcome.status !== "ok") throw new Error(outcome.reason);
    return outcome.result;
  }

  refused(sender: Address, name: string, params: Record<string, unknown>, reason: RegExp): void {
    const outcome = runQuery(erc20, this.state, { sender, name, params, timestamp: 0n });
    assert.equal(outcome.status, "rejected");
    assert.match(outcome.status === "rejected" ? outcome.reason : "", reason);
  }
}

describe("erc20", () => {
  it("lives a whole life: construct, transfer, approve, transferFrom, mint, burn", () => {
    const t = new Token();
    assert.equal(t.ask(alice, "owner"), null);
    t.ok(alice, "construct", { totalSupply: "1000" });
    assert.equal(t.ask(bob, "owner"), alice);
    assert.equal(t.ask(bob, "totalSupply"), 1000n);
    assert.equal(t.ask(alice, "balanceOf"), 1000n);

    t.ok(alice, "transfer", { to: bob, amount: 300 });
    assert.equal(t.ask(alice, "balanceOf"), 700n);
    assert.equal(t.ask(bob, "balanceOf"), 300n);

    t.ok(bob, "transfer", { to: bob, amount: "300" }); // to oneself: nothing moves
    assert.equal(t.ask(bob, "balanceOf"), 300n);

    t.ok(alice, "approve", { spender: carol, amount: "200" });
    t.ok(alice, "approve", { spender: carol, amount: "50" }); // approvals add up, as in the original
    assert.equal(t.ask(carol, "allowance", { owner: alice, spender: carol }), 250n);
    assert.equal(t.ask(alice, "allowance", { owner: alice, spender: carol }), 250n);

    t.ok(carol, "transferFrom", { from: alice, to: bob, amount: "100" });
    assert.equal(t.ask(alice, "balanceOf"), 600n);
    assert.equal(t.ask(bob, "balanceOf"), 400n);
    assert.equal(t.ask(carol, "allowance", { owner: alice, spender: carol }), 150n);

    t.ok(alice, "mint", { to: carol, amount: "40" });
    assert.equal(t.ask(carol, "balanceOf"), 40n);
    assert.equal(t.ask(carol, "totalSupply"), 1040n);

    t.ok(bob, "burn", { amount: "400" }); // the whole balance
    assert.equal(t.ask(bob, "balanceOf"), 0n);
    assert.equal(t.ask(bob, "totalSupply"), 640n);
    assert.ok(!t.state.balances.has(bob), "zero balances are left out of the state");

    t.ok(carol, "transferFrom", { from: alice, to: carol, amount: "150" }); // spends the rest
    assert.equal(t.ask(carol, "allowance", { owner: alice, spender: carol }), 0n);
    assert.equal(t.state.allowances.size, 0, "spent allowances are left out of the state");
    assert.equal(t.ask(alice, "balanceOf"), 450n);
    assert.equal(t.ask(carol, "balanceOf"), 190n);
  });

  it("refuses a transfer above the balance", () => {
    const t = new Token();
    t.ok(alice, "construct", { totalSupply: "10" });
    t.rejected(alice, "transfer", { to: bob, amount: "11" }, /exceeds balance/);
    t.rejected(bob, "transfer", { to: alice, amount: "1" }, /exceeds balance/);
    t.ok(alice, "transfer", { to: bob, amount: "10" });
  });

  it("lets only the owner mint, and keeps the supply within uint256", () => {
    const t = new Token();
    t.rejected(alice, "mint", { to: alice, amount: "1" }, /only the owner/); // before construct: no owner
    t.ok(alice, "construct", { totalSupply: "10" });
    t.rejected(bob, "mint", { to: bob, amount: "1" }, /only the owner/);
    t.rejected(alice, "mint", { to: bob, amount: ((1n << 256n) - 10n).toString() }, /overflow/);
    t.ok(alice, "mint", { to: bob, amount: ((1n << 256n) - 11n).toString() });
  });

  it("constructs only once", () => {
    const t = new Token();
    t.ok(alice, "construct", { totalSupply: "10" });
    t.rejected(bob, "construct", { totalSupply: "99" }, /already constructed/);
    t.rejected(alice, "construct", { totalSupply: "99" }, /already constructed/);
    assert.equal(t.ask(bob, "owner"), alice);
    assert.equal(t.ask(bob, "totalSupply"), 10n);
  });

  it("refuses transferFrom above the allowance or the owner's balance", () => {
    const t = new Token();
    t.ok(alice, "construct", { totalSupply: "100" });
    t.rejected(carol, "transferFrom", { from: alice, to: carol, amount: "1" }, /approved amount/);
    t.ok(alice, "approve", { spender: carol, amount: "60" });
    t.rejected(carol, "transferFrom", { from: alice, to: carol, amount: "61" }, /approved amount/);
    t.rejected(bob, "transferFrom", { from: alice, to: bob, amount: "1" }, /approved amount/); // not bob's
    t.ok(alice, "transfer", { to: bob, amount: "50" });
    t.rejected(carol, "transferFrom", { from: alice, to: carol, amount: "60" }, /owner's balance/);
  });

  it("refuses approvals beyond the balance (already approved included)", () => {
    const t = new Token();
    t.ok(alice, "construct", { totalSupply: "100" });
    t.ok(alice, "approve", { spender: bob, amount: "70" });
    t.rejected(alice, "approve", { spender: carol, amount: "31" }, /exceeds balance and already approved/);
    t.ok(alice, "approve", { spender: carol, amount: "30" });
  });

  it("refuses burning more than the balance", () => {
    const t = new Token();
    t.ok(alice, "construct", { totalSupply: "5" });
    t.rejected(alice, "burn", { amount: "6" }, /not enough balance/);
  });

  it("shows an allowance only to its owner or spender, and each holder only their own balance", () => {
    const t = new Token();
    t.ok(alice, "construct", { totalSupply: "100" });
    t.ok(alice, "approve", { spender: bob, amount: "5" });
    t.refused(carol, "allowance", { owner: alice, spender: bob }, /only the owner or the spender/);
    assert.equal(t.ask(bob, "allowance", { owner: alice, spender: bob }), 5n);
    assert.equal(t.ask(carol, "balanceOf"), 0n); // balanceOf takes no address: it is always the caller's
    t.refused(carol, "balanceOf", { owner: alice }, /not a known field/);
  });

  it("reaches the same state digest from the same commands", () => {
    const run = () => {
      const t = new Token();
      t.ok(alice, "construct", { totalSupply: "1000" });
      for (let i = 0; i < 20; i++)
        t.send(i % 2 === 0 ? alice : bob, "transfer", { to: i % 3 === 0 ? bob : carol, amount: i });
      t.send(carol, "burn", { amount: "5" });
      return stateDigest(t.state);
    };
    assert.equal(run(), run());
  });
});
