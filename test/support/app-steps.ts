// Steps of an app's tests through testApp, each an assertion: a command applied (its result
// returned), a command failed with a reason, a query answered (its result returned) or refused.
import assert from "node:assert/strict";
import type { Address } from "viem";
import type { StateValue } from "../../src/app/canonical.js";
import type { AppUnderTest } from "../../src/app/test-app.js";

type Params = Record<string, unknown>;

export function appSteps<S extends StateValue>(app: AppUnderTest<S>) {
  return {
    /** Sends a command that must apply; returns its result. */
    ok(sender: Address, name: string, params: Params = {}): StateValue | undefined {
      const receipt = app.send(sender, name, params);
      assert.equal(receipt.status, "applied", `${name}: ${receipt.reason}`);
      return receipt.result;
    },
    /** Sends a command that must fail with a reason matching `reason`. */
    refused(sender: Address, name: string, params: Params, reason: RegExp): void {
      const receipt = app.send(sender, name, params);
      assert.equal(receipt.status, "failed", name);
      assert.match(receipt.reason ?? "", reason);
    },
    /** Asks a query that must be answered; returns its result. */
    ask(sender: Address, name: string, params: Params = {}): StateValue {
      const answer = app.ask(sender, name, params);
      if (answer.status === "rejected") assert.fail(`${name}: ${answer.reason}`);
      return answer.result;
    },
    /** Asks a query that must be refused with a reason matching `reason`. */
    unanswered(sender: Address, name: string, params: Params, reason: RegExp): void {
      const answer = app.ask(sender, name, params);
      assert.equal(answer.status, "rejected", name);
      assert.match(answer.status === "rejected" ? answer.reason : "", reason);
    },
  };
}
