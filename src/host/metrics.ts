// Time spent per stage of the confidential path on one node, for the benchmarks' stage shares.
export const STAGES = ["open-and-check", "batching", "chain-inclusion", "apply"] as const;
export type Stage = (typeof STAGES)[number];

export type StageTotals = Record<Stage, { calls: number; ms: number }>;

export class StageMetrics {
  private readonly totals: StageTotals = Object.fromEntries(
    STAGES.map((s) => [s, { calls: 0, ms: 0 }]),
  ) as StageTotals;

  async time<T>(stage: Stage, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.totals[stage].calls += 1;
      this.totals[stage].ms += performance.now() - started;
    }
  }

  snapshot(): StageTotals {
    return structuredClone(this.totals);
  }
}
