// The CLI as a user runs it, from dist/ (run `npm run build` first): a command that must succeed, and
// one that must fail, with its exit code and standard error.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../src/build/deterministic-build.js";

const CLI = join(REPO_ROOT, "bin/anonify.mjs");
const execFileAsync = promisify(execFile);

/** Runs `anonify ...args` from the package's root; rejects if it exits non-zero. */
export const anonify = (...args: string[]) =>
  execFileAsync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT });

/** Runs `anonify ...args`, which must fail: its exit code and standard error. */
export async function refusal(...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await anonify(...args);
  } catch (error) {
    const { code, stderr } = error as { code: number; stderr: string };
    return { code, stderr };
  }
  return assert.fail(`anonify ${args.join(" ")} succeeded`);
}
