// An app's state version and `migrate` (src/app/app.ts): checked by `defineApp`, run sandboxed and
// checked by `migrateState`, which refuses by name what cannot migrate.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import tallyV1 from "../../test/fixtures/app-upgrade/v1/tally/index.js";
import tallyV2 from "../../test/fixtures/app-upgrade/v2/tally/index.js";
import { type App, defineApp, MigrationError, migrateState } from "./app.js";
import type { StateValue } from "./canonical.js";
import { PersistentMap } from "./pmap.js";
import { object } from "./schema.js";

const base = {
  name: "shaped",
  initialState: (): { n: number } => ({ n: 0 }),
  commands: {},
  queries: { n: { params: object({}), run: (state: { n: number }) => state.n } },
};

describe("state versions and migrate", () => {
  test("defineApp: a state version is a whole number from 1, and version 1 has nothing to migrate from", () => {
    for (const stateVersion of [0, 1.5, -1, 2 ** 32])
      assert.throws(() => defineApp({ ...base, stateVersion }), /stateVersion must be a whole number from 1/);
    assert.throws(
      () => defineApp({ ...base, migrate: () => ({ n: 1 }) }),
      /state version 1 has nothing to migrate from/,
    );
    assert.equal(defineApp({ ...base, stateVersion: 2, migrate: () => ({ n: 1 }) }).stateVersion, 2);
  });

  test("migrateState: version 1's state in version 2's shape, the data kept", () => {
    const v1 = { counts: PersistentMap.empty<string, bigint>().set("x", 5n).set("y", 3n) };
    const v2 = migrateState(tallyV2 as App<StateValue>, v1, 1) as ReturnType<typeof tallyV2.initialState>;
    assert.deepEqual(
      [...v2.entries].sort(([a], [b]) => a.localeCompare(b)),
      [
        ["x", { count: 5n, last: null }],
        ["y", { count: 3n, last: null }],
      ],
    );
  });

  test("migrateState refuses by name: no migrate, a version it does not read, a migrate that throws or reads the clock", () => {
    const state = tallyV1.initialState();
    assert.throws(
      () => migrateState(tallyV1 as App<StateValue>, state, 1),
      (e: unknown) => e instanceof MigrationError && /declares no migrate/.test(e.message),
    );
    for (const from of [2, 3, 0])
      assert.throws(
        () => migrateState(tallyV2 as App<StateValue>, state, from),
        /does not migrate from state version/,
      );
    assert.throws(
      () => migrateState(tallyV2 as App<StateValue>, { other: 1 }, 1),
      /failed to migrate state version 1: not a tally v1 state/,
    );
    const clock = defineApp({ ...base, stateVersion: 2, migrate: () => ({ n: Date.now() }) });
    assert.throws(
      () => migrateState(clock as App<StateValue>, { n: 1 }, 1),
      /failed to migrate.*Date\.now is not available/,
    );
    const unsealable = defineApp({
      ...base,
      stateVersion: 2,
      migrate: () => ({ n: undefined as unknown as number }),
    });
    assert.throws(() => migrateState(unsealable as App<StateValue>, { n: 1 }, 1), /failed to migrate/);
  });
});
