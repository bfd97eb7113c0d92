// The node's logs: pino, JSON with levels by default, or one short line per record for a terminal.
// Logs carry states and errors only: never a command envelope, a sealed blob or a secret.
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

export type LogFormat = "json" | "human";

const LEVEL_NAMES: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};
/** `HH:MM:SS.mmm` out of an ISO time. */
const CLOCK = { from: 11, to: 23 } as const;

/** One pino JSON record as `12:00:00.123 warn  node-1 enclave: message key=value`. */
export function humanLine(record: string): string {
  const { time, level, msg, node, component, ...fields } = JSON.parse(record) as Record<string, unknown>;
  const where = [node, component].filter((part) => part !== undefined).join(" ");
  const extra = Object.entries(fields).map(
    ([k, v]) => ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`,
  );
  const clock = new Date(Number(time)).toISOString().slice(CLOCK.from, CLOCK.to);
  const levelName = (LEVEL_NAMES[Number(level)] ?? String(level)).padEnd(5);
  return `${clock} ${levelName} ${where ? `${where}: ` : ""}${msg ?? ""}${extra.join("")}`;
}

export type LoggerOptions = {
  format?: LogFormat;
  level?: string;
  /** Where each line goes (without its newline); standard error when omitted. */
  write?: (line: string) => void;
};

/** A logger on standard error (standard output stays for what a command prints). */
export function createLogger({ format = "json", level = "info", write }: LoggerOptions = {}): Logger {
  // No pid and hostname on every line: a node is named by its `node` field.
  const options = { level, base: undefined };
  const toLine = format === "human" ? humanLine : (record: string) => record.trimEnd();
  const out = write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const destination: DestinationStream = { write: (record) => out(toLine(record)) };
  return pino(options, destination);
}

/** Where a component logs; nowhere when no logger is given. */
export type LogTarget = { log?: Logger };

export function loggerFor({ log }: LogTarget): Logger {
  return log ?? pino({ level: "silent" });
}

export function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split("\n")[0] ?? error.name) : String(error);
}

/**
 * A failure that may repeat on every attempt, logged once and then only on change: a different
 * error, or recovery (each with how often the previous one repeated).
 */
export class FailureLog {
  private current: string | undefined;
  private repeats = 0;

  constructor(
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  failed(error: unknown): void {
    const message = firstLine(error);
    if (message === this.current) {
      this.repeats++;
      return;
    }
    const previous = this.current === undefined ? {} : { previous: this.current, repeated: this.repeats };
    this.log.warn(previous, `${this.what} failing: ${message}`);
    this.current = message;
    this.repeats = 1;
  }

  succeeded(): void {
    if (this.current === undefined) return;
    this.log.info({ previous: this.current, repeated: this.repeats }, `${this.what} recovered`);
    this.current = undefined;
    this.repeats = 0;
  }
}

/**
 * Conditions that hold for a while (a warning, a declined joiner), each logged once when it starts to
 * hold and once when it ends, never each time it is read again; `update` takes all that hold now, by key.
 */
export class HeldLog<T> {
  private held = new Map<string, T>();

  constructor(
    private readonly started: (item: T) => void,
    private readonly ended: (item: T) => void,
  ) {}

  update(now: ReadonlyMap<string, T>): void {
    for (const [key, item] of now) if (!this.held.has(key)) this.started(item);
    for (const [key, item] of this.held) if (!now.has(key)) this.ended(item);
    this.held = new Map(now);
  }
}
