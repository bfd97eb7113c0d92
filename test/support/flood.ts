// A flood of hostile requests at one node from several client addresses at once, for as long as a
// test says; each answer is checked as it comes against what the node may answer that kind of
// request, and tallied by outcome (status and code).
import { type RawAnswer, RawClient, type RawRequest } from "./raw-client.js";

/** The node API's one error shape. */
export type ApiError = { code: string; message: string; sealedReason?: string };

/** One kind of hostile request, and what the node may answer it. */
export type FloodKind = {
  name: string;
  request: () => RawRequest | Promise<RawRequest>;
  /** The error codes it may be refused with (a 4xx or 503); `rate_limited` always may be. */
  codes: readonly string[];
  /** Statuses that answer it rather than refuse it (a replayed query is answered, say). */
  served?: readonly number[];
  /** Sees each answer the flood found right. */
  onAnswer?: (answer: RawAnswer, error?: ApiError) => void;
};

export type FloodReport = {
  answers: number;
  /** `kind → status code`, with how many answers each. */
  outcomes: Map<string, number>;
  /** What was wrong, the first few of each kind of problem. */
  failures: string[];
};

const RATE_LIMITED = "rate_limited";
/** Failures kept per kind of request: enough to see what went wrong, not the whole flood's. */
const FAILURES_KEPT_PER_KIND = 3;

/** Why `answer` is not one the node may give to a request of `kind`, or its refusal if it is. */
export function judge(kind: FloodKind, answer: RawAnswer): { problem?: string; error?: ApiError } {
  if (kind.served?.includes(answer.status)) return {};
  if (!((answer.status >= 400 && answer.status < 500) || answer.status === 503))
    return { problem: `status ${answer.status}: ${answer.text.slice(0, 200)}` };
  if (!String(answer.headers["content-type"]).startsWith("application/json"))
    return { problem: `${answer.status} as ${answer.headers["content-type"]}: ${answer.text.slice(0, 200)}` };
  let error: ApiError;
  try {
    error = JSON.parse(answer.text) as ApiError;
  } catch {
    return { problem: `${answer.status}, not JSON: ${answer.text.slice(0, 200)}` };
  }
  if (typeof error.code !== "string" || typeof error.message !== "string" || error.message === "")
    return { problem: `${answer.status}, not {code, message}: ${answer.text.slice(0, 200)}` };
  if (error.code !== RATE_LIMITED && !kind.codes.includes(error.code))
    return { problem: `${answer.status} ${error.code}: ${error.message.slice(0, 200)}` };
  return { error };
}

/** Client addresses that send the same kinds of request, each with its own connections. */
export type Attackers = {
  from: readonly string[];
  /** Requests each address keeps going at once. */
  connections: number;
  kinds: readonly FloodKind[];
};

export type FloodOptions = {
  /** The node's API. */
  base: string;
  attackers: readonly Attackers[];
  durationMs: number;
};

/**
 * Sends each group's kinds round-robin from each of its addresses until `durationMs` passed;
 * resolves when every request was answered.
 */
export async function flood({ base, attackers, durationMs }: FloodOptions): Promise<FloodReport> {
  const report: FloodReport = { answers: 0, outcomes: new Map(), failures: [] };
  const failuresOf = new Map<string, number>();
  const fail = (kind: FloodKind, problem: string) => {
    const seen = failuresOf.get(kind.name) ?? 0;
    failuresOf.set(kind.name, seen + 1);
    if (seen < FAILURES_KEPT_PER_KIND) report.failures.push(`${kind.name}: ${problem}`);
  };
  const end = Date.now() + durationMs;
  const clients: RawClient[] = [];
  const loop = async (client: RawClient, kinds: readonly FloodKind[], offset: number) => {
    for (let i = offset; Date.now() < end; i++) {
      const kind = kinds[i % kinds.length]!;
      let answer: RawAnswer;
      try {
        answer = await client.send(await kind.request());
      } catch (error) {
        fail(kind, `no answer: ${(error as Error).message}`);
        continue;
      }
      report.answers++;
      const { problem, error } = judge(kind, answer);
      const outcome = `${kind.name} → ${answer.status}${error ? ` ${error.code}` : ""}`;
      report.outcomes.set(outcome, (report.outcomes.get(outcome) ?? 0) + 1);
      if (problem) fail(kind, problem);
      else kind.onAnswer?.(answer, error);
    }
  };
  try {
    // Each connection starts at another kind, so that every kind is in the air at once.
    await Promise.all(
      attackers.flatMap(({ from, connections, kinds }) =>
        from.flatMap((address, a) => {
          const client = new RawClient(address, base, connections);
          clients.push(client);
          return Array.from({ length: connections }, (_, i) => loop(client, kinds, a * connections + i));
        }),
      ),
    );
  } finally {
    for (const client of clients) client.close();
  }
  return report;
}
