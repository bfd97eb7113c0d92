// How every command ends: its output on standard output, a failure as `rejected (code): reason` on
// standard error (or `{"ok":false,"code","reason"}` with --json) and exit code 1.
import { BaseError } from "viem";

/** The error's code when it names one (client, profile and operator errors do), else "error". */
function codeOf(error: unknown): string {
  const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined;
  return typeof code === "string" ? code : "error";
}

/** Control characters but tab and newline: C0, DEL and C1 (ESC and CSI start terminal sequences). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * `text` with every control character shown as its `\uXXXX` escape: what a node, an RPC or another
 * user wrote cannot reach the terminal as an escape sequence (a window title, a line erased, a link).
 */
export const printable = (text: string): string =>
  text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

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
    else console.error(printable(`rejected (${code}): ${reason}`));
    process.exitCode = 1;
  }
}
