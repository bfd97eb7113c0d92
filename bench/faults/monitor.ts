// Samples every node's applied sequence (GET /v1/status) in rounds, one after another, so a fault's
// recovery can be read afterwards: when each node applied a command past the point the network had
// reached when the fault ended, and when all nodes answered the same sequence again.

/** Pause between rounds: fine enough for recoveries of a second or more, light on the nodes. */
const ROUND_PAUSE_MS = 100;
/** A node that does not answer its status in this long (a stalled chain read) counts as silent. */
const STATUS_TIMEOUT_MS = 1_000;

/** One round: when it started, and each node's applied sequence (undefined: no answer). */
export type Sample = { at: number; sequences: (bigint | undefined)[] };

export type Recovery = {
  /** ms from the fault's end until every node had applied a command past the point reached at it. */
  firstAppliedMs?: number;
  /** ms from the fault's end until all nodes answered one sequence, past that point. */
  allEqualMs?: number;
};

async function appliedSequence(url: string): Promise<bigint | undefined> {
  try {
    const res = await fetch(new URL("/v1/status", url), { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
    if (!res.ok) return undefined;
    return BigInt(((await res.json()) as { appliedSequence: string }).appliedSequence);
  } catch {
    return undefined;
  }
}

export class SequenceMonitor {
  readonly samples: Sample[] = [];
  private running = true;
  private readonly done: Promise<void>;

  /** `urls()` is read each round: a restarted node may move. */
  constructor(urls: () => readonly string[]) {
    this.done = (async () => {
      while (this.running) {
        const at = Date.now();
        this.samples.push({ at, sequences: await Promise.all(urls().map(appliedSequence)) });
        await new Promise((r) => setTimeout(r, ROUND_PAUSE_MS));
      }
    })();
  }

  /** The highest sequence any node had answered by `at`. */
  reached(at: number): bigint {
    let reached = 0n;
    for (const s of this.samples)
      if (s.at <= at) for (const q of s.sequences) if (q !== undefined && q > reached) reached = q;
    return reached;
  }

  /** The recovery from a fault that ended at `end`, as far as the samples so far show it. */
  recovery(end: number): Recovery {
    const after = this.samples.filter((s) => s.at > end);
    const reached = this.reached(end);
    const nodes = this.samples[0]?.sequences.length ?? 0;
    const firstPast = Array.from({ length: nodes }, (_, i) =>
      after.find((s) => (s.sequences[i] ?? -1n) > reached),
    );
    const equal = after.find((s) => {
      const [first, ...rest] = s.sequences;
      return first !== undefined && first > reached && rest.every((q) => q === first);
    });
    return {
      firstAppliedMs: firstPast.every((s) => s !== undefined)
        ? Math.max(...firstPast.map((s) => s!.at - end))
        : undefined,
      allEqualMs: equal && equal.at - end,
    };
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}
