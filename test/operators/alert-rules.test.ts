// deploy/prometheus/alerts.yml is what Prometheus takes: promtool (Debian's prometheus package, which
// .ci/run installs) checks it, and refuses a broken copy.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";

const PROMTOOL = process.env.PROMTOOL_PATH ?? "/usr/bin/promtool";
const RULES = join(import.meta.dirname, "../../deploy/prometheus/alerts.yml");
const run = promisify(execFile);
const NO_PROMTOOL = existsSync(PROMTOOL)
  ? false
  : `no promtool at ${PROMTOOL} (Debian's prometheus package; or set PROMTOOL_PATH)`;

describe("the alert rules", { skip: NO_PROMTOOL }, () => {
  test("promtool takes deploy/prometheus/alerts.yml, and refuses a copy with a broken expression", async () => {
    const { stdout } = await run(PROMTOOL, ["check", "rules", RULES]);
    assert.match(stdout, /SUCCESS: \d+ rules found/);
    const dir = mkdtempSync(join(tmpdir(), "anonify-rules-"));
    try {
      const broken = join(dir, "alerts.yml");
      writeFileSync(
        broken,
        readFileSync(RULES, "utf8").replace(
          'anonify_ready{state="diverged"} == 1',
          "anonify_ready{state= == 1",
        ),
      );
      await assert.rejects(run(PROMTOOL, ["check", "rules", broken]), /FAILED|parse error/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
