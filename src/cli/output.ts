// How every command ends: its output on standard output, a failure as `rejected (code): reason` on
// standard error (or `{"ok":false,"code","reason"}` with --json) and exit code 1.
import { BaseError } from "viem";

/** The error's code when it names one (client, profile and operator errors do), else "error". */
function codeOf(error: unknown): string {
  const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined;
  return typeof code === "string" ? code : "error";
}

/** viem's short message: its full one runs to a dozen lines of request details. */
function reasonOf(error: unknown): string {
  if (error instanceof BaseError) return error.shortMessage;
  return error instanceof Error ? error.message : String(error);
}

export async function run(flags: { json?: boolean }, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const code = codeOf(error);
    const reason = reasonOf(error);
    if (flags.json) console.log(JSON.stringify({ ok: false, code, reason }));
    else console.error(`rejected (${code}): ${reason}`);
    process.exitCode = 1;
  }
}
