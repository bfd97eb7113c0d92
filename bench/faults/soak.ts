// The soak: the network under a steady stream for ANONIFY_SOAK_MINUTES (default 30, what issue #15
// asks for at the least), every process's resident memory sampled every 30 s, then the same
// accounting as the scenarios (lost, doubled, all nodes agreeing).
import { statSync } from "node:fs";
import { join } from "node:path";
import { SEALED_STATE_FILE } from "../../src/host/sealed-store.js";
import { underLoad } from "./load.js";
import { type MemorySample, sampleMemory } from "./memory.js";
import type { FaultNet } from "./net.js";

export const SOAK_MINUTES = Number(process.env.ANONIFY_SOAK_MINUTES ?? 30);
/** Transfers per second over all senders: about half of what 3 nodes on this 2-core machine apply. */
export const SOAK_RATE = Number(process.env.ANONIFY_SOAK_RATE ?? 20);
/** Four senders per node, each sending every 600 ms at the default rate. */
export const SOAK_SENDERS = 12;
const SAMPLE_EVERY_MS = 30_000;
const MS_PER_MINUTE = 60_000;
const BYTES_PER_MIB = 1024 * 1024;
/** The sealed checkpoint is stored as hex: two characters a byte. */
const HEX_CHARS_PER_BYTE = 2;

export type SoakSample = MemorySample & {
  acknowledged: number;
  attempts: number;
  /**
   * Each node's sealed checkpoint, MiB (bytes, not hex): it crosses the ECALL boundary whole, which
   * takes at most 16 MiB (src/boundary/calls.ts, MAX_SEALED_STATE_BYTES), so its growth bounds a run.
   */
  sealedMiB: number[];
};

function sealedMiB(net: FaultNet): number[] {
  return net.nodes.map((n) => {
    try {
      return (
        statSync(join(n.process.ready.hostDir, SEALED_STATE_FILE)).size / HEX_CHARS_PER_BYTE / BYTES_PER_MIB
      );
    } catch {
      return Number.NaN;
    }
  });
}

export async function runSoak() {
  const load = { endpoints: 0, senders: SOAK_SENDERS, rate: SOAK_RATE };
  return underLoad(load, async ({ net, stream }) => {
    const start = Date.now();
    const end = start + SOAK_MINUTES * MS_PER_MINUTE;
    const sample = (): SoakSample => ({
      ...sampleMemory(net, (Date.now() - start) / MS_PER_MINUTE),
      acknowledged: stream.acknowledged,
      attempts: stream.attempts,
      sealedMiB: sealedMiB(net),
    });
    const samples = [sample()];
    for (let next = start + SAMPLE_EVERY_MS; next <= end; next += SAMPLE_EVERY_MS) {
      // A schedule, not a wait for a condition: the soak samples on the clock.
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      samples.push(sample());
      process.stdout.write(
        `  soak minute ${samples.at(-1)!.minute.toFixed(1)}: ${samples.at(-1)!.acknowledged} acknowledged\n`,
      );
    }
    return { minutes: SOAK_MINUTES, rate: SOAK_RATE, senders: SOAK_SENDERS, samples };
  });
}

export type SoakRun = Awaited<ReturnType<typeof runSoak>>;
