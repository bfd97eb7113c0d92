// The sandbox handlers run in, played by a careless app author: every way a handler could read the
// clock, the machine's randomness, time zone or locale, start something that runs later, or reach
// I/O is refused by name while it runs, and nothing changes outside it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inHandler, installSandbox, outsideSandbox, runSandboxed, SandboxViolation } from "./sandbox.js";

const LABEL = "app careless, command act";

/** Runs `act` as a handler and returns the violation it met, or fails. */
function violationOf(act: () => unknown): SandboxViolation {
  try {
    runSandboxed(LABEL, act);
  } catch (error) {
    assert.ok(error instanceof SandboxViolation, `${String(error)}`);
    return error;
  }
  assert.fail("the handler ran");
}

const g = globalThis as unknown as Record<string, unknown>;
const BINDINGS = [
  "Date",
  "Intl",
  "performance",
  "process",
  "console",
  "fetch",
  "setTimeout",
  "queueMicrotask",
];

describe("the handler sandbox", () => {
  installSandbox();
  // Taken after the sandbox is installed, as a library loaded with the app takes it.
  const keptRandom = Math.random;
  const keptNow = Date.now;

  it("refuses the clock, randomness, local time, locale, timers and I/O, naming the handler and the call", () => {
    const cases: [string, () => unknown, RegExp][] = [
      ["Date.now", () => Date.now(), /use ctx\.timestamp/],
      ["new Date()", () => new Date(), /use ctx\.timestamp/],
      ["Date()", () => (Date as unknown as () => string)(), /use ctx\.timestamp/],
      ["new Date(year, month, …)", () => new Date(2024, 0, 1), /time zone/],
      ["new Date(string)", () => new Date("2024-01-01T10:00"), /time zone/],
      ["Date.parse", () => Date.parse("2024-01-01T10:00"), /time zone/],
      ["Date.prototype.getHours", () => new Date(0).getHours(), /time zone/],
      ["Date.prototype.toString", () => `${new Date(0)}`, /time zone/],
      ["performance.now", () => performance.now(), /use ctx\.timestamp/],
      ["Math.random", () => Math.random(), /use ctx\.random\(\)/],
      ["crypto.getRandomValues", () => crypto.getRandomValues(new Uint8Array(4)), /ctx\.random/],
      ["crypto.randomUUID", () => crypto.randomUUID(), /ctx\.random/],
      ["Number.prototype.toLocaleString", () => (1234.5).toLocaleString(), /locale/],
      ["String.prototype.localeCompare", () => "a".localeCompare("b"), /locale/],
      ["Intl.DateTimeFormat", () => new Intl.DateTimeFormat(), /locale/],
      ["setTimeout", () => setTimeout(() => undefined, 0), /synchronous/],
      ["setInterval", () => setInterval(() => undefined, 1), /synchronous/],
      ["setImmediate", () => setImmediate(() => undefined), /synchronous/],
      ["queueMicrotask", () => queueMicrotask(() => undefined), /synchronous/],
      ["fetch", () => fetch("http://127.0.0.1:9"), /reads only its arguments/],
      ["process.env", () => process.env.HOME, /reads only its arguments/],
      ["process.exit", () => process.exit, /reads only its arguments/],
      ["console.log", () => console.log("secret"), /reaches the host/],
      ["WeakRef", () => new WeakRef({}), /garbage collector/],
      // A reference taken before the handler ran is still the guarded one.
      ["Math.random", () => keptRandom(), /ctx\.random/],
      ["Date.now", () => keptNow(), /ctx\.timestamp/],
    ];
    for (const [call, act, hint] of cases) {
      const violation = violationOf(act);
      assert.equal(violation.call, call);
      assert.ok(violation.message.startsWith(`${LABEL}: ${call} is not available in a handler: `), call);
      assert.match(violation.message, hint, call);
    }
  });

  it("leaves what is the same on every machine: dates from numbers, UTC, ISO text", () => {
    const made = new Date(0);
    const result = runSandboxed(LABEL, () => {
      const day = new Date(Date.UTC(2024, 1, 29, 12));
      return [day.toISOString(), day.getUTCHours(), made instanceof Date, new Date(made).getTime()];
    });
    assert.deepEqual(result, ["2024-02-29T12:00:00.000Z", 12, true, 0]);
  });

  it("fails a handler that caught its violation, with that violation, whatever it did after", () => {
    const swallowed = violationOf(() => {
      try {
        return Math.random();
      } catch {
        return 0.5;
      }
    });
    assert.equal(swallowed.call, "Math.random");
    const rethrown = violationOf(() => {
      try {
        Date.now();
      } catch {
        throw new Error("the app's own error");
      }
    });
    assert.equal(rethrown.call, "Date.now");
  });

  it("puts every global back, whether the handler returns or throws; outside, all works as before", () => {
    const before = BINDINGS.map((key) => g[key]);
    assert.equal(
      runSandboxed(LABEL, () => 1),
      1,
    );
    violationOf(() => setTimeout(() => undefined, 0));
    assert.throws(() =>
      runSandboxed(LABEL, () => {
        throw new RangeError("the app's bug");
      }),
    );
    assert.deepEqual(
      BINDINGS.map((key) => g[key]),
      before,
    );
    assert.equal(inHandler(), false);
    assert.equal(typeof Date.now(), "number");
    assert.equal(typeof keptRandom(), "number");
    assert.ok(new Date() instanceof Date && new Date(0).getHours() >= 0);
    assert.equal(crypto.getRandomValues(new Uint8Array(4)).length, 4);
    clearTimeout(setTimeout(() => undefined, 0));
  });

  it("lets the runtime's own work run unguarded from inside a handler's span, then guards again", () => {
    let inside: unknown[] = [];
    const violation = violationOf(() => {
      inside = outsideSandbox(() => [typeof Date.now(), typeof process.env, inHandler()]);
      return Date.now();
    });
    assert.deepEqual(inside, ["number", "object", false]);
    assert.equal(violation.call, "Date.now");
  });

  it("nests (an app running another's handler): each violation names its own handler, the outer one fails too", () => {
    const inner = "app token, command transfer";
    const violation = violationOf(() => {
      const value = runSandboxed(inner, () => 1);
      try {
        runSandboxed(inner, () => Math.random());
      } catch {
        // the outer handler swallows it: it is still the outer's failure
      }
      return value;
    });
    assert.equal(violation.handler, inner);
    // After an inner handler returns, the outer one is still sandboxed.
    assert.equal(
      violationOf(() => {
        runSandboxed(inner, () => 1);
        return Date.now();
      }).handler,
      LABEL,
    );
    assert.equal(typeof Date.now(), "number");
  });
});
