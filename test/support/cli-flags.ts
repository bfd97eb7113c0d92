// The flags a deployment file (Dockerfile, compose file, systemd unit) gives `anonify`, held against
// what each command takes: every flag named must be one its `--help` lists, so a renamed or mistyped
// flag fails in CI rather than on an operator's machine. Reads dist/ (run `npm run build` first).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "../../bin/anonify.mjs");
const LONG_FLAG = /^--[a-z][a-z0-9-]*$/;

/** One `anonify` command in a command line: its subcommand words and the long flags given to it. */
export type Invocation = { command: string[]; flags: string[] };

/** The long flags a program's `--help` lists (`anonify <command> --help`, or any program's). */
export async function helpFlags(program: readonly string[]): Promise<Set<string>> {
  const { stdout } = await run(program[0]!, [...program.slice(1), "--help"]);
  return new Set(stdout.match(/--[a-z][a-z0-9-]*/g));
}

/** `anonify <command> --help`'s flags, from dist/. */
export const anonifyFlags = (command: readonly string[]) => helpFlags([process.execPath, CLI, ...command]);

/** The long flags among a command line's words (`--flag` or `--flag=value`). */
export const flagsIn = (words: readonly string[]): string[] =>
  words.map((w) => w.split("=")[0]!).filter((w) => LONG_FLAG.test(w));

/** A shell line's words: split at blanks, quotes around a word dropped (enough to find its flags). */
export const shellWords = (line: string): string[] =>
  line
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => w.replace(/^["']|["']$/g, ""));

const isAnonify = (word: string) => word === "anonify" || word.endsWith("/anonify.mjs");

/** Each `anonify` command a command line runs: `... anonify.mjs node start --data-dir D ...`. */
export function invocations(words: readonly string[]): Invocation[] {
  const found: Invocation[] = [];
  words.forEach((word, i) => {
    if (!isAnonify(word)) return;
    const rest = words.slice(i + 1);
    const end = rest.findIndex((w) => w.startsWith("-"));
    const command = end < 0 ? rest : rest.slice(0, end);
    const next = rest.findIndex(isAnonify);
    found.push({ command, flags: flagsIn(next < 0 ? rest : rest.slice(0, next)) });
  });
  return found;
}

/** The flags of `used` that `command --help` does not list (none: every one is real). */
export async function unknownFlags(used: Invocation): Promise<string[]> {
  const known = await anonifyFlags(used.command);
  return used.flags.filter((f) => !known.has(f));
}
