// Resident memory (VmRSS, from /proc; Linux only) of a network's processes, found afresh at each
// sample: every node's host process, its enclave (a child of the host), Anvil, the attestation
// service, and this bench process (the senders and the receipt checker), so a process that was
// replaced shows as a new pid rather than as a jump in one line.
import { readdirSync, readFileSync } from "node:fs";
import type { FaultNet } from "./net.js";

const KIB_PER_MIB = 1024;

export type MemorySample = {
  /** Minutes since the first sample. */
  minute: number;
  /** MiB by process name; a process that could not be read is left out. */
  mib: Record<string, number>;
  pids: Record<string, number>;
};

export function rssMiB(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("VmRSS:"));
    return line ? Number.parseInt(line.split(/\s+/)[1]!, 10) / KIB_PER_MIB : undefined;
  } catch {
    return undefined;
  }
}

/** The children of `pid`, from every one of its threads' `children` lists. */
export function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8")
        .split(" ")
        .filter((p) => p.trim() !== "")
        .map(Number),
    );
  } catch {
    return [];
  }
}

const commandLine = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
};

/** The enclave process a node process started (its current one). */
export const enclaveOf = (nodePid: number): number | undefined =>
  childrenOf(nodePid).find((c) => /enclave/.test(commandLine(c)));

/** Every process of the network worth watching, by name. */
export function networkProcesses(net: FaultNet): Record<string, number | undefined> {
  const named: Record<string, number | undefined> = {};
  for (const [i, node] of net.nodes.entries()) {
    named[`node-${i + 1}`] = node.process.pid;
    named[`enclave-${i + 1}`] = enclaveOf(node.process.pid);
  }
  named.anvil = net.anvil.pid;
  named.attestation = net.attestationPid;
  named.bench = process.pid;
  return named;
}

/** One sample of every process's memory, `minute` minutes into the run. */
export function sampleMemory(net: FaultNet, minute: number): MemorySample {
  const sample: MemorySample = { minute, mib: {}, pids: {} };
  for (const [name, pid] of Object.entries(networkProcesses(net))) {
    const mib = pid === undefined ? undefined : rssMiB(pid);
    if (pid === undefined || mib === undefined) continue;
    sample.mib[name] = mib;
    sample.pids[name] = pid;
  }
  return sample;
}
